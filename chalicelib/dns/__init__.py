"""Subdomain delegation in Route 53: the records Onezone's DNS would serve for its providers.

For a provider with subdomain `krk` in zone `onezone.example.com`:
- `krk.onezone.example.com.`       A   -> the Oneprovider worker IPs (`opWorkerIpAddresses`/`ipList`)
- `s3.krk.onezone.example.com.`    A   -> the OneS3 IPs, when the provider runs OneS3
- `<name>.krk.onezone.example.com.` TXT -> what the provider asked for (ACME DNS-01 challenges)
A service without IPs gets no record (Onepanel may register with `[]` and set IPs later).

- `names`: which subdomains and record names are valid, reserved, or the registry's;
- `records`: the record sets a provider stands for, and the change batches between two states;
- `route53`: writing changes, all or nothing;
- `transitions`: changes around the DynamoDB transaction they belong to, undone if it fails;
- `reconciler`: making the zone hold exactly what the providers table says, on a schedule.
"""
