"""The identifiers table: one item per unique name (`username:<name>`, `subdomain:<label>`).

DynamoDB has no unique secondary indexes, so uniqueness is an item whose key *is* the name,
written with `attribute_not_exists`:
- usernames are claimed inside the transaction that creates the user (`claim_op`);
- subdomains are *reserved* before their DNS records are written and *confirmed* in the
  registration transaction (`reserve`, `confirm_op`, `release`). The reservation is the lock that
  makes the DNS change safe: only the holder writes records for that name, so a failed
  registration can remove exactly what it wrote without touching anybody else's records. A
  reservation abandoned by a crashed function expires after `PENDING_SECONDS` (longer than any
  Lambda invocation) and may then be taken over.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.context import Context
from chalicelib.store import db

KEY = "identifier"
USERNAME = "username"
SUBDOMAIN = "subdomain"
PENDING_SECONDS = 300


def key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def claim_op(ctx: Context, kind: str, name: str, owner_id: str, created_at: int) -> db.TransactItem:
    """Claim `name` for `owner_id` for good; the transaction fails if anyone holds it."""
    return {
        "Put": {
            "TableName": ctx.settings.identifiers_table,
            "Item": db.encode({KEY: key(kind, name), "ownerId": owner_id, "createdAt": created_at}),
            "ConditionExpression": "attribute_not_exists(identifier)",
        }
    }


def owner(ctx: Context, kind: str, name: str) -> str | None:
    item: dict[str, Any] | None = db.get_item(ctx.aws.dynamodb, ctx.settings.identifiers_table, {KEY: key(kind, name)})
    return item["ownerId"] if item else None


def reserve(ctx: Context, kind: str, name: str, owner_id: str, now: int) -> bool:
    """Reserve `name` for `owner_id` until confirmed; False if someone else holds it.

    Our own pending reservation may be written again: botocore retries a write whose answer was
    lost, and that retry must not find the name taken by the very request that sends it.
    """
    return db.conditional_write(
        ctx.aws.dynamodb.put_item,
        TableName=ctx.settings.identifiers_table,
        Item=db.encode(
            {
                KEY: key(kind, name),
                "ownerId": owner_id,
                "pending": True,
                "createdAt": now,
                "pendingUntil": now + PENDING_SECONDS,
            }
        ),
        ConditionExpression=(
            "attribute_not_exists(identifier) OR (#pending = :true AND (pendingUntil < :now OR ownerId = :owner))"
        ),
        ExpressionAttributeNames={"#pending": "pending"},
        ExpressionAttributeValues={
            ":true": db.encode_value(True),
            ":now": db.encode_value(now),
            ":owner": db.encode_value(owner_id),
        },
    )


def _held_while_pending(owner_id: str) -> dict[str, Any]:
    return {
        "ConditionExpression": "ownerId = :owner AND #pending = :true",
        "ExpressionAttributeNames": {"#pending": "pending"},
        "ExpressionAttributeValues": {":owner": db.encode_value(owner_id), ":true": db.encode_value(True)},
    }


def confirm_op(ctx: Context, kind: str, name: str, owner_id: str) -> db.TransactItem:
    """Turn our reservation into a claim; fails if the reservation is no longer ours."""
    condition = _held_while_pending(owner_id)
    return {
        "Update": {
            "TableName": ctx.settings.identifiers_table,
            "Key": db.encode({KEY: key(kind, name)}),
            "UpdateExpression": "SET #pending = :false REMOVE pendingUntil",
            **condition,
            "ExpressionAttributeValues": {**condition["ExpressionAttributeValues"], ":false": db.encode_value(False)},
        }
    }


def release(ctx: Context, kind: str, name: str, owner_id: str) -> None:
    """Drop our reservation (never a confirmed claim, never somebody else's)."""
    db.conditional_write(
        ctx.aws.dynamodb.delete_item,
        TableName=ctx.settings.identifiers_table,
        Key=db.encode({KEY: key(kind, name)}),
        **_held_while_pending(owner_id),
    )


def release_op(ctx: Context, kind: str, name: str, owner_id: str, must_exist: bool = True) -> db.TransactItem:
    """Give up a confirmed claim held by `owner_id` (deregistration, a changed subdomain), never
    somebody else's; without `must_exist`, a claim already gone (or never made) is no failure."""
    condition = "ownerId = :owner" if must_exist else "attribute_not_exists(identifier) OR ownerId = :owner"
    return {
        "Delete": {
            "TableName": ctx.settings.identifiers_table,
            "Key": db.encode({KEY: key(kind, name)}),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":owner": db.encode_value(owner_id)},
        }
    }


def forget_op(ctx: Context, kind: str, name: str) -> db.TransactItem:
    """Drop a claim whoever holds it, if anyone: for names in a namespace that goes as a whole
    (a deregistered provider's token names, `<providerId>:<name>`)."""
    return {"Delete": {"TableName": ctx.settings.identifiers_table, "Key": db.encode({KEY: key(kind, name)})}}


def reservations(ctx: Context, kind: str) -> Iterator[dict[str, Any]]:
    """Every pending reservation of `kind` (`name`, `ownerId`, `pendingUntil`), read consistently."""
    items = db.scan(
        ctx.aws.dynamodb,
        ctx.settings.identifiers_table,
        FilterExpression="begins_with(identifier, :kind) AND #pending = :true",
        ExpressionAttributeNames={"#pending": "pending"},
        ExpressionAttributeValues={":kind": db.encode_value(f"{kind}:"), ":true": db.encode_value(True)},
    )
    for item in items:
        yield {**item, "name": item[KEY].removeprefix(f"{kind}:")}


def release_expired(ctx: Context, kind: str, name: str, now: int) -> bool:
    """Drop a reservation abandoned by a crashed request (pending, past `pendingUntil`); False if
    it is not (any more) such a reservation - confirmed, or taken afresh meanwhile."""
    return db.conditional_write(
        ctx.aws.dynamodb.delete_item,
        TableName=ctx.settings.identifiers_table,
        Key=db.encode({KEY: key(kind, name)}),
        ConditionExpression="#pending = :true AND pendingUntil < :now",
        ExpressionAttributeNames={"#pending": "pending"},
        ExpressionAttributeValues={":true": db.encode_value(True), ":now": db.encode_value(now)},
    )
