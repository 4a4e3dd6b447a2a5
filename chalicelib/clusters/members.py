"""A cluster's members: who they are, their privileges, adding, removing and leaving.

Onezone's order of checks (`entity_logic`): the cluster (404), then - for a member's aspect - the
membership (404), then the caller's rights (403), then the body (400). So a non-member's
`GET /clusters/{id}/effective_users/{uid}/privileges` is 404 `notFound` to everyone, which is how
Onepanel tells that a user is not in its cluster. Who may do what is `clusters.access`: the
cluster's provider, members by their membership item's privileges, Onezone admins by theirs.
This registry keeps no groups, so effective members are the direct ones and group lists are
empty.

Every change writes the membership item and the user's `clusters` entry in one transaction, with
the cluster's existence and the privileges it relied on as conditions.
"""

from __future__ import annotations

import time

from chalicelib import paging
from chalicelib.auth import require_privilege
from chalicelib.clusters import access, invites, privileges
from chalicelib.clusters.access import Caller
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    AddClusterUserRequest,
    ClusterList,
    GroupList,
    PrivilegesResponse,
    UpdateClusterPrivilegesRequest,
    UserList,
    UserShared,
)
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, memberships
from chalicelib.store import users as user_store
from chalicelib.store.memberships import MembershipRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.users import views
from chalicelib.validation import parse, parse_json_object, validate

_UPDATE_ATTEMPTS = 5


def list_all(ctx: Context, caller: UserRecord, limit: str | None, page_token: str | None) -> ClusterList:
    """`GET /clusters` (privilege `oz_clusters_list`), a page at a time."""
    require_privilege(caller, "oz_clusters_list")
    ids, next_token = paging.page(ctx, cluster_store.TABLE, limit, page_token)
    return ClusterList(clusters=ids, nextPageToken=next_token)


def privilege_sets(caller: Caller | None) -> dict[str, list[str]]:
    """`GET /clusters/privileges`: for users and for nobody. A provider is refused, as in Onezone
    (its own-cluster rule meets no cluster id here, and it has no admin privileges)."""
    if isinstance(caller, ProviderRecord):
        raise OnedataError("forbidden")
    return privileges.sets()


def _listing(ctx: Context, caller: Caller, cluster_id: str) -> None:
    """Who may list a cluster's members: `cluster_view`, or `oz_clusters_list_relationships`."""
    access.existing(ctx, cluster_id)
    access.rights(ctx, caller, cluster_id).require((privileges.VIEW,), ("oz_clusters_list_relationships",))


def users_of(ctx: Context, caller: Caller, cluster_id: str) -> UserList:
    """`GET /clusters/{id}/users` and `/effective_users`: one Query of the cluster's memberships."""
    _listing(ctx, caller, cluster_id)
    return UserList(users=[membership.userId for membership in memberships.of_cluster(ctx, cluster_id)])


def groups_of(ctx: Context, caller: Caller, cluster_id: str) -> GroupList:
    """`GET /clusters/{id}/groups` and `/effective_groups`: none, this registry keeps no groups."""
    _listing(ctx, caller, cluster_id)
    return GroupList(groups=[])


def user_of(ctx: Context, caller: Caller, cluster_id: str, user_id: str) -> UserShared:
    """`GET /clusters/{id}/users/{uid}` (and `/effective_users/{uid}`): a member's shared view,
    or the cluster creator's even after they left. Members with `cluster_view` see every member,
    other members the creator; the provider sees all; `oz_users_view` anybody's."""
    user = access.user_or_not_found(ctx, user_id)
    cluster = cluster_store.TABLE.get(ctx, cluster_id)
    if cluster is None or (cluster_id not in user.clusters and cluster.creatorId != user_id):
        raise OnedataError("notFound")
    rights = access.rights(ctx, caller, cluster_id)
    myself = isinstance(caller, UserRecord) and caller.userId == user_id
    creator_to_member = rights.member and cluster.creatorId == user_id
    if not (myself or creator_to_member or rights.has(privileges.VIEW) or rights.admin("oz_users_view")):
        raise OnedataError("forbidden")
    return views.shared(user)


def _member(ctx: Context, cluster_id: str, user_id: str) -> MembershipRecord:
    """The cluster (404) and the user's membership in it (404)."""
    access.existing(ctx, cluster_id)
    membership = memberships.get(ctx, cluster_id, user_id)
    if membership is None:
        raise OnedataError("notFound")
    return membership


def privileges_of(ctx: Context, caller: Caller, cluster_id: str, user_id: str) -> PrivilegesResponse:
    """`GET /clusters/{id}/users/{uid}/privileges` and `/effective_users/{uid}/privileges` (with
    no groups, the effective privileges are the direct ones): for the user themself, the
    provider, `cluster_view_privileges`, or `oz_clusters_view_privileges`."""
    membership = _member(ctx, cluster_id, user_id)
    if not (isinstance(caller, UserRecord) and caller.userId == user_id):
        rights = access.rights(ctx, caller, cluster_id)
        rights.require((privileges.VIEW_PRIVILEGES,), ("oz_clusters_view_privileges",))
    return PrivilegesResponse(privileges=membership.privileges)


def update_privileges(ctx: Context, caller: Caller, cluster_id: str, user_id: str, body: bytes | None) -> None:
    """`PATCH /clusters/{id}/users/{uid}/privileges` with `grant`/`revoke` (a privilege in both is
    granted): for the provider, `cluster_set_privileges`, or `oz_clusters_set_privileges`.
    Compare-and-set on the member's stored privileges, retried on a concurrent change, so two
    admins changing different privileges at once both take effect."""
    membership = _member(ctx, cluster_id, user_id)
    rights = access.rights(ctx, caller, cluster_id)
    rights.require((privileges.SET_PRIVILEGES,), ("oz_clusters_set_privileges",))
    request = parse(UpdateClusterPrivilegesRequest, body)
    for _ in range(_UPDATE_ATTEMPTS):
        wanted = privileges.changed(membership.privileges, request.grant, request.revoke)
        if wanted == membership.privileges:
            return
        op = memberships.set_privileges_op(ctx, membership, wanted)["Update"]
        if db.conditional_write(ctx.aws.dynamodb.update_item, **op):
            return
        current = memberships.get(ctx, cluster_id, user_id)
        if current is None:
            raise _not_a_member(user_id, cluster_id)  # removed meanwhile
        membership = current
    raise OnedataError("temporaryFailure", headers={"Retry-After": "1"})


def add(ctx: Context, caller: Caller, cluster_id: str, user_id: str, body: bytes | None) -> None:
    """`PUT /clusters/{id}/users/{uid}`: the user joins with `privileges`, or `cluster_view`.

    Onezone's rights, quirks included: a user adding *themself* needs `cluster_add_user` (and
    `cluster_set_privileges` to name privileges) - a user adding anybody else is refused (403),
    which leaves this to the provider and to admins holding `oz_clusters_add_relationships` and
    `oz_users_add_relationships` (and `oz_clusters_set_privileges` to name privileges).
    """
    access.existing(ctx, cluster_id)
    data = parse_json_object(body)
    custom = data.get("privileges") is not None
    rights = access.rights(ctx, caller, cluster_id)
    needed = (privileges.ADD_USER, privileges.SET_PRIVILEGES) if custom else (privileges.ADD_USER,)
    oz_needed = ("oz_clusters_add_relationships", "oz_users_add_relationships")
    oz_needed += ("oz_clusters_set_privileges",) if custom else ()
    myself = isinstance(caller, UserRecord) and caller.userId == user_id
    rights.require(needed if myself else (), oz_needed)
    request = validate(AddClusterUserRequest, data)
    if user_store.get(ctx, user_id) is None:
        raise OnedataError("badValueIdNotFound", key="userId")
    chosen = request.privileges if request.privileges is not None else privileges.MEMBER
    membership = MembershipRecord(clusterId=cluster_id, userId=user_id, privileges=chosen, createdAt=int(time.time()))
    ops = [*memberships.join_ops(ctx, membership), access.cluster_still_op(ctx, cluster_id)]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled as cancelled:
        if cancelled.failed(0):
            raise invites.already_member(user_id, cluster_id) from None
        if cancelled.failed(1):
            raise OnedataError("badValueIdNotFound", key="userId") from None
        raise OnedataError("notFound") from None  # the cluster went meanwhile


def remove(ctx: Context, caller: Caller, cluster_id: str, user_id: str) -> None:
    """`DELETE /clusters/{id}/users/{uid}`: for the provider, `cluster_remove_user`, or admins
    holding `oz_clusters_remove_relationships` and `oz_users_remove_relationships`. There is no
    last-admin protection for clusters, as in Onezone."""
    _member(ctx, cluster_id, user_id)
    rights = access.rights(ctx, caller, cluster_id)
    rights.require((privileges.REMOVE_USER,), ("oz_clusters_remove_relationships", "oz_users_remove_relationships"))
    relied_on = rights.still_op(ctx, (privileges.REMOVE_USER,))
    same_item = isinstance(caller, UserRecord) and caller.userId == user_id
    ops = memberships.leave_ops(ctx, cluster_id, user_id)
    if relied_on is not None and not same_item:
        ops.append(relied_on)
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled as cancelled:
        if cancelled.failed(0):
            raise _not_a_member(user_id, cluster_id) from None  # removed meanwhile
        raise OnedataError("forbidden") from None  # the remover lost the right meanwhile


def leave(ctx: Context, caller: UserRecord, cluster_id: str) -> None:
    """`DELETE /user/clusters/{id}`: a member leaves; no privilege is needed (404 if not one)."""
    if memberships.get(ctx, cluster_id, caller.userId) is None:
        raise OnedataError("notFound")
    try:
        db.transact(ctx.aws.dynamodb, memberships.leave_ops(ctx, cluster_id, caller.userId))
    except db.Cancelled:
        raise OnedataError("notFound") from None  # left (or was removed) meanwhile


def _not_a_member(user_id: str, cluster_id: str) -> OnedataError:
    """Onezone's error for a relation gone between its check and its change (a race); its details
    name the types as its records do, `od_user` and `od_cluster`."""
    return OnedataError(
        "relationDoesNotExist",
        description=f"Bad value: user:{user_id} is not a member of cluster:{cluster_id}.",
        childType="od_user",
        childId=user_id,
        parentType="od_cluster",
        parentId=cluster_id,
    )
