"""`provider.*` over GraphSync: what a Oneprovider asks of its own record.

- `instance`: `get` in the `private` scope with every field op-worker requires (`name`,
  `adminEmail`, `subdomainDelegation`, `domain`, `subdomain`, `version`, `latitude`,
  `longitude`, `online`, `effectiveSpaces`, `storages`, `effectiveUsers`, `effectiveGroups`,
  and Onezone's deprecated `spaces`), `protected` (`name`, `domain`, `version`, `latitude`,
  `longitude`, `online`) and `shared` (`name`), at the provider's revision; `update` as
  `PATCH /provider`; `delete` as `DELETE /provider` (deregistration).
- `domain_config`: `get`, and `update` through the same DNS transitions as
  `PATCH /provider/domain_config`, all or nothing, under the provider's DNS lease.
- `dns_txt_record,<name>`: `create`/`delete` under the rules of the REST extension.
- `current_time`: the zone's clock (`{"timeMillis"}`), for anybody.
This registry supports no spaces: `effectiveSpaces` and `spaces` are empty objects, the user
and group lists empty.
"""

from __future__ import annotations

from typing import Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.graphsync import codec
from chalicelib.graphsync.requests import Call, not_supported, owned
from chalicelib.models import UpdateProviderRequest
from chalicelib.store import providers as provider_store
from chalicelib.store.clusters import UNKNOWN_VERSION
from chalicelib.store.providers import ProviderRecord
from chalicelib.tokens.gri import Gri
from chalicelib.validation import validate

TYPE = "provider"
SCOPES = ("private", "protected", "shared")


def subscribable(operation: str, gri: Gri) -> bool:
    return gri.aspect == "instance" and operation in ("get", "update") and gri.id is not None


def handle(ctx: Context, call: Call) -> codec.Result:
    aspect = call.gri.aspect_name
    if aspect == "current_time" and call.operation == "get":
        from chalicelib import zone

        return codec.Resource(call.gri, 1, dict(zone.current_time()))
    provider = own(ctx, call.provider_id, call.gri)
    if aspect == "instance" and call.gri.parameter is None:
        return _instance(ctx, provider, call)
    if aspect == "domain_config" and call.gri.scope == "private":
        return _domain_config(ctx, provider, call)
    if aspect == "dns_txt_record" and call.gri.parameter is not None and call.gri.scope == "private":
        from chalicelib.providers import txt_records

        if call.operation == "create":
            txt_records.create(ctx, provider, call.gri.parameter, call.data)
            return None
        if call.operation == "delete":
            txt_records.remove(ctx, provider, call.gri.parameter)
            return None
    raise not_supported()


def own(ctx: Context, provider_id: str, gri: Gri) -> ProviderRecord:
    """The calling provider's record, if the GRI names it (the others' are not its to see)."""
    if gri.id != provider_id:
        raise owned(gri.id is not None and provider_store.TABLE.get(ctx, gri.id) is not None)
    provider = provider_store.TABLE.get(ctx, provider_id)
    if provider is None:
        raise OnedataError("notFound")  # deregistered while connected: its channel closes next
    return provider


def _instance(ctx: Context, provider: ProviderRecord, call: Call) -> codec.Result:
    if call.operation == "get" and call.gri.scope in SCOPES:
        return view(provider, call.gri)
    if call.operation == "update" and call.gri.scope == "private":
        from chalicelib.providers import details

        details.update(ctx, provider, validate(UpdateProviderRequest, call.data))
        return None
    if call.operation == "delete" and call.gri.scope == "private":
        from chalicelib.providers import deregistration

        deregistration.deregister(ctx, provider)
        return None
    raise not_supported()


def view(provider: ProviderRecord, gri: Gri) -> codec.Resource:
    """The provider's instance as `gri` (its scope; `auto` is `private`) shows it."""
    version = provider.workerRelease or UNKNOWN_VERSION["release"]
    fields: dict[str, Any] = {"name": provider.name}
    if gri.scope != "shared":
        fields.update(
            domain=provider.domain,
            version=version,
            latitude=provider.latitude,
            longitude=provider.longitude,
            online=provider.online(),
        )
    if gri.scope in ("private", "auto"):
        fields.update(
            adminEmail=provider.adminEmail,
            subdomainDelegation=provider.subdomainDelegation,
            subdomain=provider.subdomain,
            storages=provider.storages,
            spaces={},
            effectiveSpaces={},
            effectiveUsers=[],
            effectiveGroups=[],
        )
    return codec.Resource(Gri(TYPE, provider.providerId, "instance", gri.scope), provider.revision, fields)


def _domain_config(ctx: Context, provider: ProviderRecord, call: Call) -> codec.Result:
    from chalicelib.providers import domain_config

    if call.operation == "get":
        config = domain_config.describe(provider).model_dump(mode="json")
        return codec.Resource(call.gri, provider.revision, config)
    if call.operation == "update":
        domain_config.apply(ctx, provider, call.data)
        return None
    raise not_supported()
