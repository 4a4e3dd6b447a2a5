"""A provider's domain configuration: `GET`/`PATCH /provider/domain_config`.

Switching between subdomain delegation and an own domain, moving to another subdomain, or
changing the worker IPs: the new subdomain is reserved first, the Route 53 records move in one
DNS transition, and one DynamoDB transaction updates the provider (provided nobody changed its
domain meanwhile), confirms the new claim and releases the old one. Any failure puts DNS back and
releases the reservation.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.dns import names, records, transitions
from chalicelib.errors import OnedataError
from chalicelib.models import DomainConfig, UpdateDomainConfigRequest
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.validation import parse_json_object, validate


def describe(provider: ProviderRecord) -> DomainConfig:
    return DomainConfig(
        subdomainDelegation=provider.subdomainDelegation,
        domain=provider.domain,
        subdomain=provider.subdomain,
        ipList=provider.opWorkerIpAddresses,
    )


def update(ctx: Context, provider: ProviderRecord, body: bytes | None) -> None:
    data = parse_json_object(body)
    names.require_support(ctx, data)
    request = validate(UpdateDomainConfigRequest, data)
    changed = _changed(ctx, provider, request)
    new_subdomain = changed.subdomain if changed.subdomainDelegation else None
    moving = new_subdomain is not None and new_subdomain != provider.subdomain
    if new_subdomain:
        names.check_subdomain(ctx, new_subdomain)
    with (
        transitions.reserved(ctx, new_subdomain if moving else None, provider.providerId),
        transitions.transition(
            ctx,
            records.provider_records(ctx, provider),
            records.provider_records(ctx, changed),
            provider.providerId,
            settled=lambda: transitions.stored_records(ctx, provider.providerId),
        ),
    ):
        _commit(ctx, provider, changed, moving)


def _changed(ctx: Context, provider: ProviderRecord, request: UpdateDomainConfigRequest) -> ProviderRecord:
    if request.subdomainDelegation:
        subdomain = request.subdomain or ""
        return provider.model_copy(
            update={
                "subdomainDelegation": True,
                "subdomain": subdomain,
                "domain": names.fqdn(ctx, subdomain),
                "opWorkerIpAddresses": request.worker_ips,
            }
        )
    return provider.model_copy(update={"subdomainDelegation": False, "subdomain": None, "domain": request.domain})


def _commit(ctx: Context, old: ProviderRecord, new: ProviderRecord, moving: bool) -> None:
    ops = [
        provider_store.TABLE.update_op(
            ctx,
            old.providerId,
            {
                "subdomainDelegation": new.subdomainDelegation,
                "subdomain": new.subdomain,
                "domain": new.domain,
                "opWorkerIpAddresses": new.opWorkerIpAddresses,
            },
            expected={"domain": old.domain},
        )
    ]
    if moving:
        ops.append(identifiers.confirm_op(ctx, identifiers.SUBDOMAIN, new.subdomain or "", old.providerId))
    if old.subdomain and old.subdomain != new.subdomain:
        ops.append(identifiers.release_op(ctx, identifiers.SUBDOMAIN, old.subdomain, old.providerId))
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled:
        raise OnedataError("temporaryFailure", headers={"Retry-After": "1"}) from None
