"""Cluster members' routes: who belongs to a cluster and with which privileges, adding and
removing members, invitations and joining, and leaving."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import Routes, location
from chalicelib.responses import ok

routes = Routes(__name__)
CLUSTER = "/clusters/{cluster_id}"


def _users(cluster_id: str) -> Response:
    from chalicelib.clusters import members

    return ok(members.users_of(context.current(), routes.anyone(), cluster_id))


def _groups(cluster_id: str) -> Response:
    from chalicelib.clusters import members

    return ok(members.groups_of(context.current(), routes.anyone(), cluster_id))


def _user(cluster_id: str, user_id: str) -> Response:
    from chalicelib.clusters import members

    return ok(members.user_of(context.current(), routes.anyone(), cluster_id, user_id))


def _privileges(cluster_id: str, user_id: str) -> Response:
    from chalicelib.clusters import members

    return ok(members.privileges_of(context.current(), routes.anyone(), cluster_id, user_id))


# Effective members are the direct ones here (this registry keeps no groups): each pair of
# Onezone's operations is served by one view.
for _path, _operation_id, _summary, _view, _response, _aspect in (
    ("/users", "listClusterUsers", "A cluster's users.", _users, "UserList", "users"),
    ("/effective_users", "listClusterEffectiveUsers", "A cluster's effective users.", _users, "UserList", "eff_users"),
    ("/groups", "listClusterGroups", "A cluster's groups (none here).", _groups, "GroupList", "groups"),
    (
        "/effective_groups",
        "listClusterEffectiveGroups",
        "A cluster's effective groups (none here).",
        _groups,
        "GroupList",
        "eff_groups",
    ),
):
    routes(
        CLUSTER + _path,
        "GET",
        _operation_id,
        _summary,
        response=_response,
        api=(f"get cluster.{{cluster_id}}.{_aspect}:private",),
    )(_view)

for _path, _operation_id, _summary, _view, _response, _api in (
    (
        "/users/{user_id}",
        "getClusterUser",
        "A member of a cluster (the shared view of the user).",
        _user,
        "UserShared",
        "get user.{user_id}.instance:shared",
    ),
    (
        "/effective_users/{user_id}",
        "getClusterEffectiveUser",
        "An effective member of a cluster (the shared view of the user).",
        _user,
        "UserShared",
        "get user.{user_id}.instance:shared",
    ),
    (
        "/users/{user_id}/privileges",
        "listUserClusterPrivileges",
        "A member's privileges in a cluster.",
        _privileges,
        "PrivilegesResponse",
        "get cluster.{cluster_id}.user_privileges,{user_id}:private",
    ),
    (
        "/effective_users/{user_id}/privileges",
        "listEffectiveUserClusterPrivileges",
        "An effective member's privileges in a cluster; 404 for a user who is not one.",
        _privileges,
        "PrivilegesResponse",
        "get cluster.{cluster_id}.eff_user_privileges,{user_id}:private",
    ),
):
    routes(CLUSTER + _path, "GET", _operation_id, _summary, response=_response, api=(_api,))(_view)


@routes(
    CLUSTER + "/users/{user_id}/privileges",
    "PATCH",
    "updateUserClusterPrivileges",
    "Grant or revoke a member's cluster privileges.",
    request="UpdateClusterPrivilegesRequest",
    status=204,
    api=("update cluster.{cluster_id}.user_privileges,{user_id}:private",),
)
def update_user_cluster_privileges(cluster_id: str, user_id: str) -> Response:
    from chalicelib.clusters import members

    caller = routes.anyone()
    members.update_privileges(context.current(), caller, cluster_id, user_id, routes.request.raw_body)
    return ok(None, status=204)


@routes(
    CLUSTER + "/users/{user_id}",
    "PUT",
    "addClusterUser",
    "Add a user to a cluster (with privileges, or cluster_view).",
    request="AddClusterUserRequest",
    status=201,
    more_errors=(409,),
    api=("create cluster.{cluster_id}.user,{user_id}:private",),
)
def add_cluster_user(cluster_id: str, user_id: str) -> Response:
    from chalicelib.clusters import members

    members.add(context.current(), routes.anyone(), cluster_id, user_id, routes.request.raw_body)
    return ok(None, status=201, headers=location(f"/clusters/{cluster_id}/users/{user_id}"))


@routes(
    CLUSTER + "/users/{user_id}",
    "DELETE",
    "removeClusterUser",
    "Remove a member from a cluster.",
    status=204,
    api=("delete cluster.{cluster_id}.user,{user_id}:private",),
)
def remove_cluster_user(cluster_id: str, user_id: str) -> Response:
    from chalicelib.clusters import members

    members.remove(context.current(), routes.anyone(), cluster_id, user_id)
    return ok(None, status=204)


@routes(
    CLUSTER + "/users/token",
    "POST",
    "createClusterUserInviteToken",
    "Create a single-use invite to a cluster, with the default (admin) privileges.",
    response="TokenResponse",
    deprecated=True,
    api=("create cluster.{cluster_id}.invite_user_token:private",),
)
def create_cluster_user_invite_token(cluster_id: str) -> Response:
    from chalicelib.clusters import invites

    return ok(invites.create_legacy(context.current(), routes.anyone(), cluster_id))


@routes(
    "/user/clusters/join",
    "POST",
    "userJoinCluster",
    "Join a cluster with a userJoinCluster invite token.",
    request="JoinClusterRequest",
    status=201,
    more_errors=(409,),
    api=("create cluster.null.join:private",),
)
def user_join_cluster() -> Response:
    from chalicelib.clusters import invites

    caller = routes.anyone()
    cluster_id = invites.join(context.current(), caller, routes.request.raw_body, routes.source_ip())
    return ok(None, status=201, headers=location(f"/user/clusters/{cluster_id}"))


@routes(
    "/user/clusters/{cluster_id}",
    "DELETE",
    "userLeaveCluster",
    "Leave a cluster.",
    status=204,
    api=("delete user.{client}.cluster,{cluster_id}:private",),
)
def user_leave_cluster(cluster_id: str) -> Response:
    from chalicelib.clusters import members

    members.leave(context.current(), routes.me(), cluster_id)
    return ok(None, status=204)
