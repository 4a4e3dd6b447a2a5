"""The users table: one item per Onezone user, keyed by `userId`.

Attribute names go through `ExpressionAttributeNames` (`clusters` and `privileges` are DynamoDB
reserved words).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from chalicelib.context import Context
from chalicelib.store import db, identifiers


class UserRecord(BaseModel):
    userId: str
    username: str
    fullName: str
    passwordHash: str = Field(repr=False)
    privileges: list[str] = []
    clusters: list[str] = []
    namedTokens: list[str] = []
    createdAt: int


TABLE = db.Table("users_table", "userId", UserRecord)


def get(ctx: Context, user_id: str) -> UserRecord | None:
    return TABLE.get(ctx, user_id)


def get_by_username(ctx: Context, username: str) -> UserRecord | None:
    user_id = identifiers.owner(ctx, identifiers.USERNAME, username)
    return get(ctx, user_id) if user_id else None


def create(ctx: Context, user: UserRecord) -> None:
    """Store `user` and claim its username atomically; `db.Cancelled` if the name is taken."""
    db.transact(
        ctx.aws.dynamodb,
        [
            identifiers.claim_op(ctx, identifiers.USERNAME, user.username, user.userId, user.createdAt),
            # `clusters` and `namedTokens` are string sets grown with ADD; a new user has none yet.
            TABLE.put_new_op(ctx, user, exclude={"clusters", "namedTokens"}),
        ],
    )


def replace_privileges(ctx: Context, user_id: str, old: list[str], new: list[str]) -> bool:
    """Compare-and-set of the privilege list; False if the user is gone or changed meanwhile."""
    return db.conditional_write(
        ctx.aws.dynamodb.update_item,
        TableName=TABLE.name(ctx),
        Key=TABLE.key_of(user_id),
        UpdateExpression="SET #privileges = :new",
        ConditionExpression="attribute_exists(userId) AND #privileges = :old",
        ExpressionAttributeNames={"#privileges": "privileges"},
        ExpressionAttributeValues={":new": db.encode_value(new), ":old": db.encode_value(old)},
    )


def join_cluster_op(ctx: Context, user_id: str, cluster_id: str, required_privilege: str | None) -> db.TransactItem:
    """Add `cluster_id` to the user's clusters, provided the user exists (and still holds
    `required_privilege`, when given). `ALL_OLD` lets the caller tell which rule failed."""
    condition = "attribute_exists(userId)"
    values: dict[str, Any] = {":cluster": {"SS": [cluster_id]}}
    if required_privilege:
        condition += " AND contains(#privileges, :privilege)"
        values[":privilege"] = db.encode_value(required_privilege)
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(user_id),
            "UpdateExpression": "ADD #clusters :cluster",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#clusters": "clusters",
                **({"#privileges": "privileges"} if required_privilege else {}),
            },
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def has_privilege_op(ctx: Context, user_id: str, privilege: str) -> db.TransactItem:
    """A transaction condition: the user exists and holds `privilege` at commit time."""
    return {
        "ConditionCheck": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(user_id),
            "ConditionExpression": "contains(#privileges, :privilege)",
            "ExpressionAttributeNames": {"#privileges": "privileges"},
            "ExpressionAttributeValues": {":privilege": db.encode_value(privilege)},
        }
    }


def leave_cluster_op(ctx: Context, user_id: str, cluster_id: str) -> db.TransactItem:
    """Remove `cluster_id` from the user's clusters (a no-op for a user who already left)."""
    return set_member_op(ctx, user_id, "clusters", cluster_id, add=False)


def set_member_op(ctx: Context, user_id: str, attribute: str, member: str, add: bool) -> db.TransactItem:
    """Add `member` to, or remove it from, one of the user's string sets (`clusters`,
    `namedTokens`); the user must exist (an update would otherwise create a stub user)."""
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(user_id),
            "UpdateExpression": f"{'ADD' if add else 'DELETE'} #set :member",
            "ConditionExpression": "attribute_exists(userId)",
            "ExpressionAttributeNames": {"#set": attribute},
            "ExpressionAttributeValues": {":member": {"SS": [member]}},
        }
    }
