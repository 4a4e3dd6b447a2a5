"""The connections table: one item per GraphSync connection that passed its handshake, keyed by
API Gateway's `connectionId`.

It says whose the connection is (every request after the handshake is answered as that
provider), where its `@connections` API is (`endpoint`, so functions that are not the WebSocket
API's - the stream handlers, the keepalive - can push to it), which GRIs it subscribed to, and
when API Gateway will have closed it anyway (`expiresAt`, 2 h after it opened: DynamoDB's TTL
removes what nobody removed). The provider's item lists the same connection
(`providers.connection_entry`), written in the same transaction, so that `online` needs one read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from chalicelib.context import Context
from chalicelib.model_base import Model
from chalicelib.store import db

MAX_AGE_SECONDS = 2 * 60 * 60  # API Gateway's maximum connection duration


class ConnectionRecord(Model):
    connectionId: str
    providerId: str
    endpoint: str
    connectedAt: int  # epoch seconds
    expiresAt: int  # epoch seconds; the table's TTL attribute
    subscriptions: list[str] = []  # serialized GRIs (a string set)
    apiCaveats: list[str] = []  # the handshake token's `api` caveats, which bound every request

    def expired(self, now: int) -> bool:
        return self.expiresAt <= now


TABLE = db.Table("connections_table", "connectionId", ConnectionRecord, string_sets=("subscriptions",))


def get(ctx: Context, connection_id: str) -> ConnectionRecord | None:
    return TABLE.get(ctx, connection_id)


def put_new_op(ctx: Context, record: ConnectionRecord) -> db.TransactItem:
    """Record a connection after its handshake; fails if it already had one."""
    return TABLE.put_new_op(ctx, record)


def delete_op(ctx: Context, connection_id: str) -> db.TransactItem:
    return TABLE.delete_op(ctx, connection_id)


def delete(ctx: Context, connection_id: str) -> None:
    """Forget a connection (done already if it is gone)."""
    ctx.aws.dynamodb.delete_item(TableName=TABLE.name(ctx), Key=TABLE.key_of(connection_id))


def change_subscriptions(ctx: Context, connection_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> bool:
    """Subscribe the connection to GRIs (`add`) or end subscriptions (`remove`); False if the
    connection is gone."""
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if add:
        clauses.append("ADD #subscriptions :add")
        values[":add"] = {"SS": list(add)}
    if remove:
        clauses.append("DELETE #subscriptions :remove")
        values[":remove"] = {"SS": list(remove)}
    if not clauses:
        return True
    return db.conditional_write(
        ctx.aws.dynamodb.update_item,
        TableName=TABLE.name(ctx),
        Key=TABLE.key_of(connection_id),
        UpdateExpression=" ".join(clauses),
        ConditionExpression="attribute_exists(connectionId)",
        ExpressionAttributeNames={"#subscriptions": "subscriptions"},
        ExpressionAttributeValues=values,
    )


def scan_all(ctx: Context) -> Iterator[ConnectionRecord]:
    """Every connection (the keepalive's round; one page per 1 MB of items)."""
    yield from (ConnectionRecord.model_validate(item) for item in db.scan(ctx.aws.dynamodb, TABLE.name(ctx)))
