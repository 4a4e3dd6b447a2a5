"""What this Onezone tells anyone who asks: its configuration, the time, the caller's address.

Onepanel reads `GET /configuration` to learn the zone's version and whether the Oneprovider's
version is compatible with it (`compatibleOneproviderVersions`), and syncs its clock with
`GET /provider/public/get_current_time`. The release reported, and the Oneprovider releases
declared compatible, are settings (`chalicelib.config`): by default the Onezone release whose REST
API this registry implements and what Onedata's compatibility registry lists for it.
"""

from __future__ import annotations

import time

from chalicelib.context import Context
from chalicelib.models import CurrentTime, ZoneConfiguration


def configuration(ctx: Context) -> ZoneConfiguration:
    settings = ctx.settings
    return ZoneConfiguration(
        name=settings.zone_name,
        version=settings.zone_version,
        build=settings.zone_build,
        domain=settings.zone_domain,
        subdomainDelegationSupported=settings.subdomain_delegation_supported,
        compatibilityRegistryRevision=settings.compatibility_registry_revision,
        compatibleOneproviderVersions=list(settings.compatible_oneprovider_versions),
        providerRegistrationPolicy=settings.registration_policy.value,
    )


def current_time() -> CurrentTime:
    return CurrentTime(timeMillis=time.time_ns() // 1_000_000)
