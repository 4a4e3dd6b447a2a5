"""Service settings, read once per Lambda container from environment variables.

Every knob an operator turns lives here, so that `.chalice/config.json`, the local run and the
tests all configure the same names. Nothing secret is read here: secrets are fetched from
Secrets Manager by `chalicelib.context`, by id.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

# What `GET /configuration` reports by default: the Onezone release whose REST API this registry
# implements, and the Oneprovider releases Onedata's compatibility registry (revision 2024012700,
# the newest public one) lists as compatible with it. Each is a per-stage setting.
ONEZONE_VERSION = "21.02.4"
ONEZONE_BUILD = "onezone-registry"
COMPATIBLE_ONEPROVIDER_VERSIONS = (
    *(f"20.02.{patch}" for patch in range(1, 21)),
    *(f"21.02.{patch}" for patch in range(1, 5)),
)
COMPATIBILITY_REGISTRY_REVISION = 2024012700
# Onezone's `max_temporary_token_ttl` as 21.02.7 ships it (`rel/files/app.config`; 1 week in code).
MAX_TEMPORARY_TOKEN_TTL = 30 * 24 * 3600


class RegistrationPolicy(StrEnum):
    """Who may obtain a provider registration token (Onezone's `provider_registration_policy`)."""

    OPEN = "open"
    RESTRICTED = "restricted"


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured; raised at the first request so it shows up in the logs."""


@dataclass(frozen=True)
class Settings:
    users_table: str
    tokens_table: str
    providers_table: str
    clusters_table: str
    memberships_table: str
    identifiers_table: str
    connections_table: str
    storages_table: str
    hosted_zone_id: str
    zone_domain: str
    token_key_secret_id: str
    registration_policy: RegistrationPolicy
    subdomain_delegation_supported: bool
    registration_token_ttl: int
    dns_ttl: int
    max_temporary_token_ttl: int = MAX_TEMPORARY_TOKEN_TTL
    reserved_subdomains: frozenset[str] = frozenset()
    admin_username: str = "admin"
    admin_password_secret_id: str | None = None
    zone_name: str | None = None
    zone_version: str = ONEZONE_VERSION
    zone_build: str = ONEZONE_BUILD
    compatible_oneprovider_versions: tuple[str, ...] = COMPATIBLE_ONEPROVIDER_VERSIONS
    compatibility_registry_revision: int = COMPATIBILITY_REGISTRY_REVISION
    geoip_asn_database: str | None = None
    geoip_country_database: str | None = None
    dns_reconcile_rate: int = 4
    # API Gateway's @connections API for every connection; None: each connection's own WebSocket
    # API stage (chalicelib.graphsync.connections).
    connections_api_endpoint: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        def integer(name: str, default: int, low: int) -> int:
            raw = env.get(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
            if value < low:
                raise ConfigurationError(f"{name} must be at least {low}, got {value}")
            return value

        policy = env.get("REGISTRATION_POLICY", RegistrationPolicy.RESTRICTED.value).lower()
        try:
            registration_policy = RegistrationPolicy(policy)
        except ValueError:
            raise ConfigurationError(f"REGISTRATION_POLICY must be open or restricted, got {policy!r}") from None
        delegation = env.get("SUBDOMAIN_DELEGATION_SUPPORTED", "true").lower()
        if delegation not in ("true", "false"):
            raise ConfigurationError(f"SUBDOMAIN_DELEGATION_SUPPORTED must be true or false, got {delegation!r}")

        return cls(
            users_table=required("USERS_TABLE"),
            tokens_table=required("TOKENS_TABLE"),
            providers_table=required("PROVIDERS_TABLE"),
            clusters_table=required("CLUSTERS_TABLE"),
            memberships_table=required("MEMBERSHIPS_TABLE"),
            identifiers_table=required("IDENTIFIERS_TABLE"),
            connections_table=required("CONNECTIONS_TABLE"),
            storages_table=required("STORAGES_TABLE"),
            hosted_zone_id=required("HOSTED_ZONE_ID").removeprefix("/hostedzone/"),
            zone_domain=required("ZONE_DOMAIN").lower().rstrip("."),
            token_key_secret_id=required("TOKEN_KEY_SECRET_ID"),
            registration_policy=registration_policy,
            subdomain_delegation_supported=delegation == "true",
            registration_token_ttl=integer("PROVIDER_REGISTRATION_TOKEN_TTL", 86400, 60),
            dns_ttl=integer("DNS_RECORD_TTL", 120, 1),
            max_temporary_token_ttl=integer("MAX_TEMPORARY_TOKEN_TTL", MAX_TEMPORARY_TOKEN_TTL, 1),
            admin_username=env.get("ADMIN_USERNAME", "admin"),
            admin_password_secret_id=env.get("ADMIN_PASSWORD_SECRET_ID") or None,
            reserved_subdomains=frozenset(label.lower() for label in _list(env, "RESERVED_SUBDOMAINS")),
            zone_name=env.get("ONEZONE_NAME") or None,
            zone_version=env.get("ONEZONE_VERSION") or ONEZONE_VERSION,
            zone_build=env.get("ONEZONE_BUILD") or ONEZONE_BUILD,
            compatible_oneprovider_versions=tuple(_list(env, "COMPATIBLE_ONEPROVIDER_VERSIONS"))
            or COMPATIBLE_ONEPROVIDER_VERSIONS,
            compatibility_registry_revision=integer(
                "COMPATIBILITY_REGISTRY_REVISION", COMPATIBILITY_REGISTRY_REVISION, 0
            ),
            geoip_asn_database=env.get("GEOIP_ASN_DATABASE") or None,
            geoip_country_database=env.get("GEOIP_COUNTRY_DATABASE") or None,
            dns_reconcile_rate=integer("DNS_RECONCILE_REQUESTS_PER_SECOND", 4, 1),
            connections_api_endpoint=env.get("CONNECTIONS_API_ENDPOINT", "").strip().rstrip("/") or None,
        )


def reconcile_every_minutes(env: Mapping[str, str] | None = None) -> int:
    """How often the DNS reconciler runs on AWS (`DNS_RECONCILE_RATE_MINUTES`, default 5). Read
    when `app.py` is imported - also by `chalice package`/`deploy`, which import it with the
    stage's environment variables to build the schedule."""
    raw = (os.environ if env is None else env).get("DNS_RECONCILE_RATE_MINUTES", "5")
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"DNS_RECONCILE_RATE_MINUTES must be a whole number of minutes, got {raw!r}")
    return int(raw)


# The tables whose changes are pushed to GraphSync channels, by the variable naming their stream.
STREAMS = {"providers": "PROVIDERS_STREAM_ARN", "clusters": "CLUSTERS_STREAM_ARN", "storages": "STORAGES_STREAM_ARN"}
MAX_KEEPALIVE_MINUTES = 9  # API Gateway closes a WebSocket connection idle for 10


def stream_arn(table: str, env: Mapping[str, str] | None = None) -> str:
    """The DynamoDB stream of `table` (`providers`, `clusters`, `storages`) whose records the
    push functions receive. Read when `app.py` is imported, like the reconciler's rate: by
    `chalice package`/`deploy` from the stage's variables (`scripts/stage_env.py` writes the
    stack's), and by the local run from the stack it deploys into moto. Without one, a
    placeholder of the same shape, so that packaging and the tests import the app all the same."""
    value = (os.environ if env is None else env).get(STREAMS[table], "")
    if value.strip():
        return value.strip()
    return f"arn:aws:dynamodb:us-east-1:000000000000:table/unconfigured-{table}/stream/1970-01-01T00:00:00.000"


def keepalive_every_minutes(env: Mapping[str, str] | None = None) -> int:
    """How often the GraphSync keepalive pushes every open channel its provider
    (`GRAPHSYNC_KEEPALIVE_RATE_MINUTES`, default 5, at most 9: under API Gateway's idle timeout)."""
    raw = (os.environ if env is None else env).get("GRAPHSYNC_KEEPALIVE_RATE_MINUTES", "5")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_KEEPALIVE_MINUTES:
        raise ConfigurationError(f"GRAPHSYNC_KEEPALIVE_RATE_MINUTES must be 1 to {MAX_KEEPALIVE_MINUTES}, got {raw!r}")
    return int(raw)


def _list(env: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated setting, without blanks."""
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]
