"""Clusters' routes: a user's clusters, the clusters' list and privilege sets, a cluster's
details and the versions it reports. Its members are `chalicelib.api.members`."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import Routes
from chalicelib.responses import ok

routes = Routes(__name__)


@routes(
    "/user/clusters",
    "GET",
    "listUserClusters",
    "The current user's clusters.",
    response="ClusterList",
    api=("get user.{client}.clusters:private",),
)
def list_user_clusters() -> Response:
    from chalicelib.clusters import details

    return ok(details.of_user(routes.me()))


@routes(
    "/user/effective_clusters",
    "GET",
    "listUserEffectiveClusters",
    "The current user's effective clusters (with no groups here, its clusters).",
    response="ClusterList",
    api=("get user.{client}.eff_clusters:private",),
)
def list_user_effective_clusters() -> Response:
    from chalicelib.clusters import details

    return ok(details.of_user(routes.me()))


def _user_cluster(cluster_id: str) -> Response:
    from chalicelib.clusters import details

    return ok(details.of_member(context.current(), routes.me(), cluster_id))


for _path, _operation_id in (
    ("/user/clusters/{cluster_id}", "getUserCluster"),
    ("/user/effective_clusters/{cluster_id}", "getUserEffectiveCluster"),
):
    routes(
        _path,
        "GET",
        _operation_id,
        "A cluster of the current user.",
        response="ClusterDetails",
        api=("get cluster.{cluster_id}.instance:protected",),
    )(_user_cluster)


@routes(
    "/clusters",
    "GET",
    "ozClustersList",
    "List clusters (oz_clusters_list).",
    response="ClusterList",
    api=("get cluster.null.list:private",),
)
def list_clusters() -> Response:
    from chalicelib.clusters import members

    query = routes.request.query_params or {}
    caller = routes.caller()
    return ok(members.list_all(context.current(), caller, query.get("limit"), query.get("page_token")))


@routes(
    "/clusters/privileges",
    "GET",
    "listClusterPrivileges",
    "Onezone's sets of cluster privileges (member, manager, admin); for users and the anonymous.",
    response="ClusterPrivilegeSets",
    api=("get cluster.null.privileges:private",),
)
def list_cluster_privileges() -> Response:
    from chalicelib.clusters import members

    return ok(members.privilege_sets(routes.anyone_or_nobody()))


@routes(
    "/clusters/{cluster_id}",
    "GET",
    "getCluster",
    "Get a cluster's details.",
    response="ClusterDetails",
    api=("get cluster.{cluster_id}.instance:protected",),
)
def get_cluster(cluster_id: str) -> Response:
    from chalicelib.clusters import details

    return ok(details.get(context.current(), routes.anyone(), cluster_id))


@routes(
    "/clusters/{cluster_id}",
    "PATCH",
    "updateCluster",
    "Record the versions a cluster's services report (Onepanel, after registering).",
    request="UpdateClusterRequest",
    status=204,
    api=("update cluster.{cluster_id}.instance:private",),
)
def update_cluster(cluster_id: str) -> Response:
    from chalicelib.clusters import details
    from chalicelib.models import UpdateClusterRequest
    from chalicelib.validation import parse

    caller = routes.anyone()
    details.update(context.current(), caller, cluster_id, parse(UpdateClusterRequest, routes.request.raw_body))
    return ok(None, status=204)
