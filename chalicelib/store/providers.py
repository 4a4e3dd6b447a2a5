"""The providers table: one item per registered Oneprovider, keyed by `providerId`.

Besides what registration stores, a provider's item holds what its GraphSync views show and
must change with them (so one read serves a view, and one write changes it with its revision):
its open GraphSync connections, its storages' ids and the worker release its cluster reported.
"""

import time
from collections.abc import Iterator, Sequence

from chalicelib.context import Context
from chalicelib.model_base import Model
from chalicelib.store import db


class TxtRecord(Model):
    """A TXT record the provider asked for under its subdomain (ACME DNS-01 challenges)."""

    content: str
    ttl: int


class ProviderRecord(Model):
    """A provider as stored. `dnsRevision` counts the writes that change its DNS records (domain
    configuration, TXT records): each such write is conditional on the revision it read, so two
    of them never both think they own the zone's state (`chalicelib.dns.transitions`).
    `dnsBusyUntil` tells the DNS reconciler to keep off while such a change is under way.

    `revision` is the GraphSync revision of its views, raised by every write of the record
    (`db.Table` and the writes below) but the DNS lease's, which changes no view.
    `connections` holds one `connection_entry` per open GraphSync connection, `storages` the ids
    of its storages (both string sets), `workerRelease` its cluster's worker release (its views'
    `version`, written with the cluster's `workerVersion`).
    `namedTokens` lists its named tokens (its root token among them), `temporaryTokenGeneration`
    is what its temporary tokens are signed for (raised to revoke them all), as a user's."""

    providerId: str
    name: str
    adminEmail: str
    domain: str
    subdomainDelegation: bool
    subdomain: str | None = None
    opWorkerIpAddresses: list[str] = []
    opWorkerPort: int | None = None
    oneS3IpAddresses: list[str] = []
    oneS3Port: int | None = None
    latitude: float = 0.0
    longitude: float = 0.0
    rootTokenId: str
    adminUserId: str
    createdAt: int
    txtRecords: dict[str, TxtRecord] = {}  # by label under the subdomain
    dnsRevision: int = 0
    dnsBusyUntil: int | None = None  # a change of its records is under way (`lease_dns`)
    namedTokens: list[str] = []
    temporaryTokenGeneration: int = 1
    revision: int = db.FIRST_REVISION
    connections: list[str] = []
    storages: list[str] = []
    workerRelease: str | None = None

    def open_connections(self, now: int | None = None) -> list[str]:
        """The ids of its connections not older than API Gateway lets a connection live: a
        connection that vanished without `$disconnect` stops counting when it would have been
        closed anyway."""
        moment = int(time.time()) if now is None else now
        entries = [parse_connection_entry(entry) for entry in self.connections]
        return [connection_id for connection_id, expires_at in entries if expires_at > moment]

    def expired_connections(self, now: int) -> list[str]:
        """The `connection_entry`s of connections API Gateway has closed by now."""
        return [entry for entry in self.connections if parse_connection_entry(entry)[1] <= now]

    def online(self, now: int | None = None) -> bool:
        """What every view of the provider says: whether a GraphSync connection of it is open."""
        return bool(self.open_connections(now))


TABLE = db.Table(
    "providers_table",
    "providerId",
    ProviderRecord,
    revisioned=True,
    string_sets=frozenset({"namedTokens", "connections", "storages"}),
)


def connection_entry(connection_id: str, expires_at: int) -> str:
    """A connection in the provider's `connections` set, with the moment it expires, so that
    `online` needs no other read: `<expires at>:<connection id>` (API Gateway's connection ids
    are base64 characters, no colon)."""
    return f"{expires_at}:{connection_id}"


def parse_connection_entry(entry: str) -> tuple[str, int]:
    """(connection id, expires at) of a `connection_entry`."""
    expires_at, _, connection_id = entry.partition(":")
    return connection_id, int(expires_at)


def _set_change_op(
    ctx: Context, provider_id: str, attribute: str, action: str, members: Sequence[str], below: int | None = None
) -> db.TransactItem:
    """`ADD` members to, or `DELETE` them from, one of the provider's string sets (one of the two:
    DynamoDB refuses two actions on one attribute in one update), raising its revision; the
    provider must exist (and the set hold fewer than `below` members)."""
    condition = "attribute_exists(providerId)"
    values = {**db.BUMP_VALUES, ":members": {"SS": list(members)}}
    if below is not None:
        condition += " AND (attribute_not_exists(#set) OR size(#set) < :below)"
        values[":below"] = db.encode_value(below)
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(provider_id),
            "UpdateExpression": f"SET {db.BUMP_REVISION} {action} #set :members",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#set": attribute, **db.BUMP_NAMES},
            "ExpressionAttributeValues": values,
        }
    }


def connection_opened_op(ctx: Context, provider_id: str, entry: str) -> db.TransactItem:
    """A `connection_entry` opened: the provider's `online` may change, so its revision goes up."""
    return _set_change_op(ctx, provider_id, "connections", "ADD", [entry])


def connections_closed_op(ctx: Context, provider_id: str, entries: Sequence[str]) -> db.TransactItem:
    """`connection_entry`s closed or expired, raising the provider's revision."""
    return _set_change_op(ctx, provider_id, "connections", "DELETE", entries)


def storage_added_op(ctx: Context, provider_id: str, storage_id: str, below: int) -> db.TransactItem:
    """A storage of the provider, provided it has fewer than `below`."""
    return _set_change_op(ctx, provider_id, "storages", "ADD", [storage_id], below)


def storage_removed_op(ctx: Context, provider_id: str, storage_id: str) -> db.TransactItem:
    return _set_change_op(ctx, provider_id, "storages", "DELETE", [storage_id])


def lease_dns(ctx: Context, provider_id: str, revision: int, now: int, until: int) -> bool:
    """Take the provider's records for a change until `until` (epoch seconds), provided it is
    still at `revision` and nobody else holds them; False otherwise (or if it is gone). Written
    before Route 53 is touched and removed by the write that commits the change: one change of a
    provider's records at a time, and the reconciler, which reads the zone before the table,
    never takes a change under way for drift."""
    return db.conditional_write(
        ctx.aws.dynamodb.update_item,
        TableName=TABLE.name(ctx),
        Key=TABLE.key_of(provider_id),
        UpdateExpression="SET dnsBusyUntil = :until",
        ConditionExpression="dnsRevision = :revision AND (attribute_not_exists(dnsBusyUntil) OR dnsBusyUntil < :now)",
        ExpressionAttributeValues={
            ":until": db.encode_value(until),
            ":revision": db.encode_value(revision),
            ":now": db.encode_value(now),
        },
    )


def end_dns_lease(ctx: Context, provider_id: str, revision: int) -> None:
    """Drop the mark of `lease_dns` after a change that failed (a committed change drops it
    itself); not if the provider moved on meanwhile."""
    db.conditional_write(
        ctx.aws.dynamodb.update_item,
        TableName=TABLE.name(ctx),
        Key=TABLE.key_of(provider_id),
        UpdateExpression="REMOVE dnsBusyUntil",
        ConditionExpression="dnsRevision = :revision",
        ExpressionAttributeValues={":revision": db.encode_value(revision)},
    )


def scan_all(ctx: Context) -> Iterator[ProviderRecord]:
    """Every provider, a page at a time, read consistently: a change committed before the scan
    reached an item is in it."""
    yield from (ProviderRecord.model_validate(item) for item in db.scan(ctx.aws.dynamodb, TABLE.name(ctx)))
