"""Which providers are online: their open GraphSync connections, as a set in DynamoDB.

A connection counts from its successful handshake: one transaction writes its item in the
connections table and its entry (`<expires at>:<id>`) in the provider's `connections` set,
raising the provider's revision (a connect changes the provider's views: `online`). It stops
counting when it closes (`$disconnect`: the same two, removed in one transaction), when sending
to it finds it gone (`GoneException`), or at the latest two hours after it opened, when API
Gateway has closed it whatever happened to `$disconnect` (which is best effort): `online` reads
only unexpired entries, and the keepalive removes what expired (`keepalive`). Reading `online`
therefore needs the provider's item and nothing else - no scan, in REST as in GraphSync.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.graphsync import connections
from chalicelib.store import connections as connection_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store.connections import MAX_AGE_SECONDS, ConnectionRecord
from chalicelib.store.providers import ProviderRecord

log = logging.getLogger(__name__)


def entry(record: ConnectionRecord) -> str:
    return provider_store.connection_entry(record.connectionId, record.expiresAt)


def register(
    ctx: Context,
    connection: connections.Connection,
    provider: ProviderRecord,
    connected_at: int,
    api_caveats: Sequence[str] = (),
) -> ConnectionRecord | None:
    """Record a connection as the provider's after its handshake; None if the provider is gone
    (deregistered since its token was verified), `handshakeAlreadyDone` if the connection had
    one already."""
    record = ConnectionRecord(
        connectionId=connection.id,
        providerId=provider.providerId,
        endpoint=connection.endpoint,
        connectedAt=connected_at,
        expiresAt=connected_at + MAX_AGE_SECONDS,
        apiCaveats=list(api_caveats),
    )
    ops = [
        connection_store.put_new_op(ctx, record),
        provider_store.connection_opened_op(ctx, provider.providerId, entry(record)),
    ]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled as cancelled:
        if cancelled.failed(0):
            raise OnedataError("handshakeAlreadyDone") from None
        return None
    return record


def unregister(ctx: Context, record: ConnectionRecord, also: Sequence[str] = ()) -> None:
    """Forget a connection: its item and its provider's entry (with any `also` entries that
    expired), in one transaction; done already if the connection is gone, and only the item
    if its provider is."""
    ops = [
        connection_store.delete_op(ctx, record.connectionId),
        provider_store.connections_closed_op(ctx, record.providerId, sorted({entry(record), *also})),
    ]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled as cancelled:
        if cancelled.failed(1) and not cancelled.failed(0):
            connection_store.delete(ctx, record.connectionId)


def drop(ctx: Context, record: ConnectionRecord, close: bool = True) -> None:
    """A connection that must not count any more (expired, gone, or its provider deregistered):
    closed if it might still be open, and unregistered."""
    if close:
        try:
            connections.close(ctx, handle(record))
        except Exception:
            log.exception("could not close GraphSync connection %s", record.connectionId)
    unregister(ctx, record)


def handle(record: ConnectionRecord) -> connections.Connection:
    """The transport's handle of a stored connection (what pushes are sent through)."""
    return connections.Connection(id=record.connectionId, endpoint=record.endpoint)
