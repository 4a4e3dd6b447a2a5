"""A request after the handshake, answered as the connection's provider.

Graph requests go to the module of the entity their GRI names (`provider`, `cluster`,
`storage`, `token`), after what cluster-worker's `gs_server` does first: `self` is the
provider's own id (another type named `self` is `notFound`), a subscription is refused before
anything is done for what cannot be subscribed to (`notSubscribable`), the handshake token's
`api` caveats must allow the operation on the resource. A resource asked for in the `auto`
scope is answered in the widest scope the provider may see (its own: `private`) and named with
`auto`. A successful `subscribe: true` records the GRI the answer names on the connection, so
that later changes are pushed there (`pushes`); `unsub` removes it.

What this registry does not keep - users, groups, spaces, shares, handles, harvesters,
automation - is `notFound`; requests on behalf of a user (`authOverride`) are `forbidden`, and
`rpc` functions `rpcUndefined`. Every request is answered, failures included (AWS failing:
`temporaryFailure` or `timeout`, as on REST).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError, unauthorized
from chalicelib.graphsync import codec
from chalicelib.responses import as_onedata_error
from chalicelib.store import connections as connection_store
from chalicelib.store.connections import ConnectionRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import verification
from chalicelib.tokens.gri import Gri

SELF = "self"
AUTO = "auto"
OZ_WORKER = "ozw"


@dataclass(frozen=True)
class Call:
    """A graph request as its entity sees it: the resource with `self` and `auto` resolved."""

    provider_id: str
    operation: str
    gri: Gri
    data: dict[str, Any]


def entities() -> dict[str, ModuleType]:
    from chalicelib.graphsync import cluster, provider, storage, token

    return {module.TYPE: module for module in (provider, cluster, storage, token)}


def handle(ctx: Context, connection: ConnectionRecord, request: codec.Request) -> codec.Response:
    try:
        return codec.answer(request, _handle(ctx, connection, request))
    except Exception as error:  # noqa: BLE001 - every request gets an answer, failures included
        return codec.refuse(request, as_onedata_error(error))


def _handle(ctx: Context, connection: ConnectionRecord, request: codec.Request) -> Any:
    if request.subtype == "handshake":
        raise OnedataError("handshakeAlreadyDone")
    if request.subtype == "rpc":
        raise OnedataError("rpcUndefined")
    if request.auth_override is not None:
        raise OnedataError("forbidden", hint="this zone serves no requests on behalf of users")
    if request.subtype == "unsub":
        gri = resolve(codec.unsub_gri(request.payload), connection.providerId)
        connection_store.change_subscriptions(ctx, connection.connectionId, remove=[gri.serialize()])
        return {}
    graph = codec.GraphRequest.from_payload(request.payload)
    return codec.result_data(graph_request(ctx, connection, graph))


def resolve(gri: Gri, provider_id: str) -> Gri:
    """`self` as the provider itself (only a provider is anybody's self here)."""
    if gri.id != SELF:
        return gri
    if gri.type != "provider":
        raise OnedataError("notFound")
    return replace(gri, id=provider_id)


def graph_request(ctx: Context, connection: ConnectionRecord, graph: codec.GraphRequest) -> codec.Result:
    requested = resolve(graph.gri, connection.providerId)
    entity = entities().get(requested.type)
    if entity is None:
        raise OnedataError("notFound")
    _check_api_caveats(connection, graph.operation, requested)
    if graph.subscribe and not entity.subscribable(graph.operation, requested):
        raise OnedataError("notSubscribable")
    scope = "private" if requested.scope == AUTO else requested.scope
    call = Call(connection.providerId, graph.operation, replace(requested, scope=scope), graph.data or {})
    result = entity.handle(ctx, call)
    if isinstance(result, codec.Resource) and requested.scope == AUTO:
        result = replace(result, gri=replace(result.gri, scope=AUTO))
    if graph.subscribe:
        subscribed = (result.gri if isinstance(result, codec.Resource) else requested).serialize()
        if subscribed not in connection.subscriptions:
            connection_store.change_subscriptions(ctx, connection.connectionId, add=[subscribed])
    return result


def _check_api_caveats(connection: ConnectionRecord, operation: str, gri: Gri) -> None:
    """A token confined to some operations serves only those, on the channel as on REST."""
    for text in connection.apiCaveats:
        caveat = cv.parse(text)
        if isinstance(caveat, cv.Api) and not caveat.allows(OZ_WORKER, operation, gri):
            raise unauthorized(verification.unverified(caveat))


def not_supported() -> OnedataError:
    return OnedataError("notSupported")


def owned(exists: bool) -> OnedataError:
    """Another provider's resource: `forbidden` if it exists, else `notFound` (as entity logic
    checks existence before authorization)."""
    return OnedataError("forbidden") if exists else OnedataError("notFound")
