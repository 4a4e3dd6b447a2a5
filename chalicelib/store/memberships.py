"""The memberships table: one item per (cluster, user), keyed by `clusterId` and `userId`.

A membership item is the authority on who belongs to a cluster and with which privileges (its
direct privileges, a sorted list): a cluster's members are one Query of its partition, a user's
membership in a cluster is one GetItem by key. The user item's `clusters` set lists the user's
clusters for `GET /user/clusters`; every change writes both in one transaction (`join_ops`,
`leave_ops`), so they never disagree.

A membership is honoured only while its cluster exists: deregistration removes the cluster and
as many memberships as its transaction holds, and the rest right after (`chalicelib.providers.
deregistration`), so a membership that outlives its cluster for a moment grants nothing - every
decision taken on one also finds the cluster, or its provider, first.
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.context import Context
from chalicelib.model_base import Model
from chalicelib.store import db
from chalicelib.store import users as user_store


class MembershipRecord(Model):
    clusterId: str
    userId: str
    privileges: list[str]  # sorted, as Onezone's ordsets
    createdAt: int


TABLE = db.Table("memberships_table", "clusterId", MembershipRecord, sort_key="userId")


def get(ctx: Context, cluster_id: str, user_id: str) -> MembershipRecord | None:
    return TABLE.get(ctx, (cluster_id, user_id))


def of_cluster(ctx: Context, cluster_id: str) -> list[MembershipRecord]:
    """The cluster's members, by user id."""
    return list(TABLE.query(ctx, cluster_id))


def join_ops(
    ctx: Context, membership: MembershipRecord, privileges: tuple[str, ...] = (), generation: int | None = None
) -> list[db.TransactItem]:
    """Make the user a member: the membership item (the transaction fails if the user already is
    one: `relationAlreadyExists`) and the cluster on the user's list (the user must exist and, on
    their own item, still hold the Onezone `privileges` and be at `generation`, when given)."""
    return [
        TABLE.put_new_op(ctx, membership),
        user_store.join_cluster_op(ctx, membership.userId, membership.clusterId, privileges, generation),
    ]


def leave_ops(ctx: Context, cluster_id: str, user_id: str, must_exist: bool = True) -> list[db.TransactItem]:
    """End a membership: its item (which must exist, unless `must_exist` is off - a clean-up that
    may find it gone) and the cluster on the user's list."""
    return [
        TABLE.delete_op(ctx, (cluster_id, user_id), must_exist=must_exist),
        user_store.leave_cluster_op(ctx, user_id, cluster_id),
    ]


def set_privileges_op(ctx: Context, membership: MembershipRecord, privileges: list[str]) -> db.TransactItem:
    """Replace the member's privileges, provided they are still those read (compare-and-set)."""
    return TABLE.update_op(
        ctx,
        (membership.clusterId, membership.userId),
        {"privileges": privileges},
        expected={"privileges": membership.privileges},
    )


def holds_op(ctx: Context, cluster_id: str, user_id: str, privileges: Iterable[str]) -> db.TransactItem:
    """A transaction condition: the user is still a member holding every one of `privileges`."""
    wanted = sorted(set(privileges))
    condition = " AND ".join(
        ["attribute_exists(clusterId)", *(f"contains(#privileges, :p{i})" for i in range(len(wanted)))]
    )
    check: db.TransactItem = {
        "TableName": TABLE.name(ctx),
        "Key": TABLE.key_of((cluster_id, user_id)),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": {"#privileges": "privileges"},
    }
    if wanted:
        check["ExpressionAttributeValues"] = {f":p{i}": db.encode_value(p) for i, p in enumerate(wanted)}
    else:
        del check["ExpressionAttributeNames"]
    return {"ConditionCheck": check}
