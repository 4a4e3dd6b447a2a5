"""Oneprovider registrations, from the first request to the last.

- `registration`: `POST /providers`, all or nothing (token, subdomain, DNS, records);
- `details`: the provider's own view and admins' views, `PATCH /provider`, listing;
- `domain_config`: switching subdomain delegation, the subdomain or the worker IPs;
- `txt_records`: TXT records under the provider's subdomain (ACME DNS-01);
- `deregistration`: `DELETE /provider` and `DELETE /providers/{id}`, all or nothing.
"""
