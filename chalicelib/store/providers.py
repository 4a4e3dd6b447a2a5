"""The providers table: one item per registered Oneprovider, keyed by `providerId`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chalicelib.context import Context
from chalicelib.store import db


class TxtRecord(BaseModel):
    """A TXT record the provider asked for under its subdomain (ACME DNS-01 challenges)."""

    content: str
    ttl: int


class ProviderRecord(BaseModel):
    """A provider as stored. `dnsRevision` counts the writes that change its DNS records (domain
    configuration, TXT records): each such write is conditional on the revision it read, so two
    of them never both think they own the zone's state (`chalicelib.dns.transitions`)."""

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


TABLE = db.Table("providers_table", "providerId", ProviderRecord)


def page(ctx: Context, limit: int, start_after: str | None) -> tuple[list[str], str | None]:
    """Up to `limit` provider ids after `start_after`, and the id to continue from (if any).

    A Scan with `Limit` reads at most `limit` items per call, so a page costs what it returns,
    never the whole table; the continuation is DynamoDB's own `LastEvaluatedKey`.
    """
    request: dict[str, Any] = {
        "TableName": TABLE.name(ctx),
        "Limit": limit,
        "ProjectionExpression": "providerId",
    }
    if start_after:
        request["ExclusiveStartKey"] = TABLE.key_of(start_after)
    response = ctx.aws.dynamodb.scan(**request)
    ids = [db.decode(item)["providerId"] for item in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return ids, db.decode(last)["providerId"] if last else None
