"""The providers table: one item per registered Oneprovider, keyed by `providerId`."""

from collections.abc import Iterator

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


TABLE = db.Table("providers_table", "providerId", ProviderRecord, string_sets=frozenset({"namedTokens"}))


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
