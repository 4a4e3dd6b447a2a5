"""What this Onezone tells anyone who asks: its configuration, the time, the caller's address.

Onepanel reads `GET /configuration` to learn the zone's version and whether the Oneprovider's
version is compatible with it (`compatibleOneproviderVersions`), and syncs its clock with
`GET /provider/public/get_current_time`. The release reported, and the Oneprovider releases
declared compatible, are settings (`chalicelib.config`): by default the Onezone release whose REST
API this registry implements and what Onedata's compatibility registry lists for it.

These answers need no AWS and no validation, so their bodies are `TypedDict`s rather than pydantic
models: a cold container serves them without importing pydantic (a third of its start-up). The
OpenAPI document still takes their schemas from pydantic (`chalicelib.openapi`).
"""

from __future__ import annotations

import time
from typing import Any

from typing_extensions import TypedDict  # pydantic reads these on Python < 3.12, for the OpenAPI document

from chalicelib.context import Context


class ZoneConfiguration(TypedDict):
    """Onezone's `GET /configuration`: what Onepanel reads before and after registering."""

    name: str | None
    version: str
    build: str
    domain: str
    subdomainDelegationSupported: bool
    supportedIdPs: list[dict[str, Any]]
    compatibilityRegistryRevision: int
    compatibleOneproviderVersions: list[str]
    openDataXrootdServerDomain: str | None
    bagitUploaderWorkflowSchemaId: str | None
    availableSpaceTags: dict[str, list[str]]
    providerRegistrationPolicy: str


class CurrentTime(TypedDict):
    timeMillis: int


def configuration(ctx: Context) -> ZoneConfiguration:
    settings = ctx.settings
    return {
        "name": settings.zone_name,
        "version": settings.zone_version,
        "build": settings.zone_build,
        "domain": settings.zone_domain,
        "subdomainDelegationSupported": settings.subdomain_delegation_supported,
        "supportedIdPs": [],
        "compatibilityRegistryRevision": settings.compatibility_registry_revision,
        "compatibleOneproviderVersions": list(settings.compatible_oneprovider_versions),
        "openDataXrootdServerDomain": None,
        "bagitUploaderWorkflowSchemaId": None,
        "availableSpaceTags": {"general": [], "domains": []},
        "providerRegistrationPolicy": settings.registration_policy.value,
    }


def current_time() -> CurrentTime:
    return {"timeMillis": time.time_ns() // 1_000_000}
