"""What this Onezone tells anyone who asks: `GET /configuration`."""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.models import ZoneConfiguration


def configuration(ctx: Context, version: str) -> ZoneConfiguration:
    settings = ctx.settings
    return ZoneConfiguration(
        version=version,
        domain=settings.zone_domain,
        subdomainDelegationSupported=settings.subdomain_delegation_supported,
        providerRegistrationPolicy=settings.registration_policy.value,
    )
