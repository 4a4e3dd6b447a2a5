"""The tokens table: one item per issued token, keyed by `tokenId` (the macaroon identifier).

Only what verification needs is stored: who the token is for, what it may do, how often it was
used and whether it was revoked. Never the serialized token, never key material: token keys are
derived from the root key and the id (`chalicelib.tokens`). `expiresAt` is the table's TTL
attribute, so DynamoDB drops tokens whose time caveat has passed.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from chalicelib.context import Context
from chalicelib.store import db


class TokenType(StrEnum):
    ACCESS = "accessToken"
    INVITE = "inviteToken"


class SubjectType(StrEnum):
    USER = "user"
    PROVIDER = "oneprovider"


class TokenRecord(BaseModel):
    tokenId: str
    type: TokenType
    inviteType: str | None = None
    subjectType: SubjectType
    subjectId: str
    adminUserId: str | None = None
    name: str | None = None
    persistence: str = "named"
    createdAt: int
    expiresAt: int | None = None
    usageLimit: int | None = None
    usageCount: int = 0
    revoked: bool = False


TABLE = db.Table("tokens_table", "tokenId", TokenRecord)


def put(ctx: Context, record: TokenRecord) -> None:
    ctx.aws.dynamodb.put_item(**TABLE.put_new_op(ctx, record)["Put"])


def consume_op(ctx: Context, record: TokenRecord) -> db.TransactItem:
    """Use the token once: it must exist, be unrevoked and below its usage limit at commit time.

    This condition, not the read that preceded it, is what makes a single-use token single-use
    under concurrent registrations.
    """
    condition = "attribute_exists(tokenId) AND revoked = :false"
    values = {":one": db.encode_value(1), ":false": db.encode_value(False)}
    if record.usageLimit is not None:
        condition += " AND usageCount < :limit"
        values[":limit"] = db.encode_value(record.usageLimit)
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(record.tokenId),
            "UpdateExpression": "SET usageCount = usageCount + :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
