"""The users table: one item per Onezone user, keyed by `userId`.

Attribute names go through `ExpressionAttributeNames` (`clusters` and `privileges` are DynamoDB
reserved words).
"""

from typing import Any

from pydantic import Field

from chalicelib.context import Context
from chalicelib.model_base import Model
from chalicelib.store import db, identifiers


class UserRecord(Model):
    userId: str
    username: str
    fullName: str
    passwordHash: str = Field(repr=False)
    privileges: list[str] = []
    clusters: list[str] = []
    namedTokens: list[str] = []
    temporaryTokenGeneration: int = 1  # raised to revoke all the user's temporary tokens
    createdAt: int


TABLE = db.Table("users_table", "userId", UserRecord, string_sets=frozenset({"clusters", "namedTokens"}))


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
            TABLE.put_new_op(ctx, user),
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


def _requirements(privileges: tuple[str, ...], generation: int | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that the user exists, still holds every one of the Onezone `privileges` and is
    still at temporary token `generation` (when given): (expression, attribute names, values)."""
    conditions, names, values = ["attribute_exists(userId)"], {}, {}
    for i, privilege in enumerate(privileges):
        conditions.append(f"contains(#privileges, :privilege{i})")
        names["#privileges"] = "privileges"
        values[f":privilege{i}"] = db.encode_value(privilege)
    if generation is not None:
        conditions.append("temporaryTokenGeneration = :generation")
        values[":generation"] = db.encode_value(generation)
    return " AND ".join(conditions), names, values


def join_cluster_op(
    ctx: Context, user_id: str, cluster_id: str, privileges: tuple[str, ...] = (), generation: int | None = None
) -> db.TransactItem:
    """Add `cluster_id` to the user's clusters, provided the user meets `_requirements`.
    `ALL_OLD` lets the caller tell which requirement failed."""
    condition, names, values = _requirements(privileges, generation)
    return {
        "Update": {
            "TableName": TABLE.name(ctx),
            "Key": TABLE.key_of(user_id),
            "UpdateExpression": "ADD #clusters :cluster",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#clusters": "clusters", **names},
            "ExpressionAttributeValues": {":cluster": {"SS": [cluster_id]}, **values},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def still_op(
    ctx: Context, user_id: str, privileges: tuple[str, ...] = (), generation: int | None = None
) -> db.TransactItem:
    """A transaction condition: the user meets `_requirements` at commit time."""
    condition, names, values = _requirements(privileges, generation)
    check: dict[str, Any] = {
        "TableName": TABLE.name(ctx),
        "Key": TABLE.key_of(user_id),
        "ConditionExpression": condition,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        check["ExpressionAttributeNames"] = names
    if values:
        check["ExpressionAttributeValues"] = values
    return {"ConditionCheck": check}


def leave_cluster_op(ctx: Context, user_id: str, cluster_id: str) -> db.TransactItem:
    """Remove `cluster_id` from the user's clusters (a no-op for a user who already left)."""
    return TABLE.set_member_op(ctx, user_id, "clusters", cluster_id, add=False)
