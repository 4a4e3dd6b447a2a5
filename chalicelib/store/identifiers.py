"""The identifiers table: one item per unique name (`username:<name>`, `subdomain:<label>`).

DynamoDB has no unique secondary indexes, so uniqueness is an item whose key *is* the name,
written with `attribute_not_exists` inside the same transaction as the record that owns it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.context import Context
from chalicelib.store import db

USERNAME = "username"
SUBDOMAIN = "subdomain"


def key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def claim_op(ctx: Context, kind: str, name: str, owner_id: str, created_at: int) -> db.TransactItem:
    """Claim `name` for `owner_id`; the transaction fails if anyone holds it."""
    return {
        "Put": {
            "TableName": ctx.settings.identifiers_table,
            "Item": db.encode({"identifier": key(kind, name), "ownerId": owner_id, "createdAt": created_at}),
            "ConditionExpression": "attribute_not_exists(identifier)",
        }
    }


def owner(ctx: Context, kind: str, name: str) -> str | None:
    item: dict[str, Any] | None = db.get_item(
        ctx.aws.dynamodb, ctx.settings.identifiers_table, {"identifier": key(kind, name)}
    )
    return item["ownerId"] if item else None
