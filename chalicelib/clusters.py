"""Clusters as their members see them: `GET /user/clusters`, `GET /clusters/{id}`."""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import ClusterDetails, ClusterList
from chalicelib.store import clusters as cluster_store
from chalicelib.store.users import UserRecord


def of_user(user: UserRecord) -> ClusterList:
    return ClusterList(clusters=user.clusters)


def get(ctx: Context, user: UserRecord, cluster_id: str) -> ClusterDetails:
    """For the cluster's members and holders of `oz_clusters_view`; others learn nothing."""
    cluster = cluster_store.TABLE.get(ctx, cluster_id)
    allowed = "oz_clusters_view" in user.privileges or (cluster is not None and user.userId in cluster.members)
    if not allowed:
        raise OnedataError("forbidden", hint="requires cluster membership or the privilege oz_clusters_view")
    if cluster is None:
        raise OnedataError("notFound")
    return ClusterDetails(
        clusterId=cluster.clusterId,
        type=cluster.type,
        serviceId=cluster.serviceId,
        creatorId=cluster.creatorId,
        creationTime=cluster.createdAt,
    )
