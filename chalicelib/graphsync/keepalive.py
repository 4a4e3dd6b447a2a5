"""The keepalive: a scheduled round over every open GraphSync connection.

API Gateway closes a WebSocket connection that carried no message for 10 minutes, and nothing
says op-worker's ping frames count (AWS documents only data messages). So, at least every 9
minutes (`GRAPHSYNC_KEEPALIVE_RATE_MINUTES`), each connection is pushed its provider's record,
under the GRI it subscribed with, at the current revision: op-worker keeps a copy of equal
revision as it is, so the push changes nothing but the connection's idle time. (A connection
subscribed to nothing of its provider's gets another of its subscriptions; one subscribed to
nothing at all - op-worker always subscribes at connect - gets nothing.)

The same round drops what no longer counts: connections older than API Gateway lets live (2 h,
closed and unregistered, whether `$disconnect` came or not), connections found gone when pushed
to, connections of providers that are gone, and the provider entries of connections whose items
DynamoDB's TTL already removed. It reads the connections table with one scan a page (the table
holds only open connections) and each provider once.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.graphsync import codec, online, pushes
from chalicelib.graphsync.provider import TYPE as PROVIDER
from chalicelib.store import connections as connection_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store.connections import ConnectionRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.tokens.gri import Gri

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict[str, int]:
    counts = {"connections": 0, "pushed": 0, "idle": 0, "expired": 0, "gone": 0, "orphaned": 0, "stale_entries": 0}
    now = int(time.time())
    by_provider: dict[str, list[ConnectionRecord]] = defaultdict(list)
    for record in connection_store.scan_all(ctx):
        by_provider[record.providerId].append(record)
    for provider_id, records in by_provider.items():
        owner = provider_store.TABLE.get(ctx, provider_id)
        for record in records:
            counts["connections"] += 1
            counts[_visit(ctx, owner, record, now)] += 1
        if owner is not None:
            counts["stale_entries"] += _forget_stale(ctx, owner, records, now)
    observability.summary("graphsync keepalive", counts)
    return counts


def _visit(ctx: Context, owner: ProviderRecord | None, record: ConnectionRecord, now: int) -> str:
    if owner is None:
        online.drop(ctx, record)
        return "orphaned"
    if record.expired(now):
        online.drop(ctx, record)
        return "expired"
    gri = _keepalive_gri(record)
    view = pushes.view_of(ctx, owner, gri) if gri is not None else None
    if view is None:
        return "idle"
    return "pushed" if pushes.send(ctx, record, codec.updated(gri, view)) else "gone"


def _keepalive_gri(record: ConnectionRecord) -> Gri | None:
    """What to push: a subscription to its provider's own record if there is one."""
    subscribed = [Gri.parse(text) for text in record.subscriptions]
    own = [gri for gri in subscribed if (gri.type, gri.id) == (PROVIDER, record.providerId)]
    return (own or subscribed or [None])[0]


def _forget_stale(ctx: Context, owner: ProviderRecord, records: list[ConnectionRecord], now: int) -> int:
    """Remove the provider's expired entries whose connection items are gone already."""
    known = {online.entry(record) for record in records}
    stale = [entry for entry in owner.expired_connections(now) if entry not in known]
    if stale:
        update = provider_store.connections_closed_op(ctx, owner.providerId, stale)["Update"]
        db.conditional_write(ctx.aws.dynamodb.update_item, **update)
    return len(stale)
