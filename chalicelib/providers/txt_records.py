"""TXT records under a delegated provider's subdomain, so it can answer ACME DNS-01 challenges:
`PUT`/`DELETE /provider/dns_txt_record/{record_name}`.

This is Onezone's `dns_txt_record` aspect of a provider (which Onezone offers over GraphSync) as
REST. The record is `<record_name>.<subdomain>.<zone>`: one string of `content`, served with
`ttl`; setting a name again replaces it, as Onezone does. Records are stored with the provider
(`txtRecords`), so the reconciler knows them as wanted, and written in the same DNS transition
around a conditional update of the provider as every other change of its records
(`chalicelib.dns.transitions.update_provider`); leaving the subdomain or deregistering removes
them the same way.

Onezone sets no bound on how many a provider may hold; a hosted zone does (10,000 record sets by
default), so each provider gets at most `MAX_RECORDS`, ample for certificates.
"""

from __future__ import annotations

from typing import Any

from chalicelib.context import Context
from chalicelib.dns import names, transitions
from chalicelib.errors import OnedataError
from chalicelib.models import SetDnsTxtRecordRequest
from chalicelib.store.providers import ProviderRecord, TxtRecord
from chalicelib.validation import parse, validate

MAX_RECORDS = 10
FIELDS = ("txtRecords",)


def put(ctx: Context, provider: ProviderRecord, record_name: str, body: bytes | None) -> None:
    """Create or replace a TXT record (`PUT`). Checked in Onezone's order: the name, the values,
    then whether the provider has a subdomain to put it under."""
    label = names.txt_label(record_name)
    _put(ctx, provider, label, parse(SetDnsTxtRecordRequest, body))


def create(ctx: Context, provider: ProviderRecord, record_name: str, data: dict[str, Any]) -> None:
    """The same, asked over GraphSync (`create provider.self.dns_txt_record,<name>`)."""
    label = names.txt_label(record_name)
    _put(ctx, provider, label, validate(SetDnsTxtRecordRequest, data))


def _put(ctx: Context, provider: ProviderRecord, label: str, request: SetDnsTxtRecordRequest) -> None:
    if not (provider.subdomainDelegation and provider.subdomain):
        raise OnedataError("subdomainDelegationDisabled")
    names.check_txt_length(ctx, provider.subdomain, label)
    wanted = {**provider.txtRecords, label: TxtRecord(content=request.content, ttl=request.ttl)}
    if len(wanted) > MAX_RECORDS:
        raise OnedataError("limitReached", limit=MAX_RECORDS, resourceDescription="TXT records of a provider")
    transitions.update_provider(ctx, provider, provider.model_copy(update={"txtRecords": wanted}), FIELDS)


def remove(ctx: Context, provider: ProviderRecord, record_name: str) -> None:
    """Remove a TXT record; removing one that is not there is done already (as in Onezone)."""
    label = names.txt_label(record_name)
    wanted = {name: record for name, record in provider.txtRecords.items() if name != label}
    transitions.update_provider(ctx, provider, provider.model_copy(update={"txtRecords": wanted}), FIELDS)
