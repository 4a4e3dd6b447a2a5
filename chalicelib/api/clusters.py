"""Clusters' routes: a user's clusters, a cluster's details and the versions it reports."""

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

    return ok(details.of_user(routes.caller()))


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
