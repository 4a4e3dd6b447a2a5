"""A provider's domain configuration: `GET`/`PATCH /provider/domain_config`.

Switching between subdomain delegation and an own domain, moving to another subdomain, or
changing the worker IPs: the new subdomain is reserved first, the Route 53 records move in one
DNS transition, and one DynamoDB transaction updates the provider (provided nobody changed its
DNS meanwhile), confirms the new claim and releases the old one. Any failure puts DNS back and
releases the reservation. TXT records live under the subdomain, so leaving it removes them.
"""

from __future__ import annotations

from typing import Any

from chalicelib.context import Context
from chalicelib.dns import names, transitions
from chalicelib.models import DomainConfig, UpdateDomainConfigRequest
from chalicelib.store import identifiers
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
    """`PATCH /provider/domain_config`."""
    apply(ctx, provider, parse_json_object(body))


def apply(ctx: Context, provider: ProviderRecord, data: dict[str, Any]) -> None:
    """A new domain configuration, from REST or GraphSync (`provider.self.domain_config`)."""
    names.require_support(ctx, data)
    request = validate(UpdateDomainConfigRequest, data)
    changed = _changed(ctx, provider, request)
    new_subdomain = changed.subdomain if changed.subdomainDelegation else None
    moving = new_subdomain is not None and new_subdomain != provider.subdomain
    if new_subdomain:
        names.check_subdomain(ctx, new_subdomain)
    claims = []
    if moving:
        claims.append(identifiers.confirm_op(ctx, identifiers.SUBDOMAIN, new_subdomain or "", provider.providerId))
    if provider.subdomain and provider.subdomain != new_subdomain:
        claims.append(identifiers.release_op(ctx, identifiers.SUBDOMAIN, provider.subdomain, provider.providerId))
    with transitions.reserved(ctx, new_subdomain if moving else None, provider.providerId):
        transitions.update_provider(ctx, provider, changed, FIELDS, also=claims)


# What a domain configuration change writes. TXT records live under the subdomain: they go with it.
FIELDS = ("subdomainDelegation", "subdomain", "domain", "opWorkerIpAddresses", "txtRecords")


def _changed(ctx: Context, provider: ProviderRecord, request: UpdateDomainConfigRequest) -> ProviderRecord:
    if request.subdomainDelegation:
        subdomain = request.subdomain or ""
        return provider.model_copy(
            update={
                "subdomainDelegation": True,
                "subdomain": subdomain,
                "domain": names.fqdn(ctx, subdomain),
                "opWorkerIpAddresses": request.worker_ips,
                "txtRecords": provider.txtRecords if subdomain == provider.subdomain else {},
            }
        )
    return provider.model_copy(
        update={"subdomainDelegation": False, "subdomain": None, "domain": request.domain, "txtRecords": {}}
    )
