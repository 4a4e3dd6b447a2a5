"""Clusters: `GET /user/clusters`, `GET /clusters/{id}`, and `PATCH /clusters/{id}`, by which a
Oneprovider's Onepanel reports its version right after registering.

Onezone's rules: a cluster is seen by its provider, its members and holders of
`oz_clusters_view`; it is changed by its provider, members with `cluster_update` and holders of
`oz_clusters_update`. Onepanel also sends the hash of its GUI package, which Onezone would serve;
this registry hosts no GUIs, so it stores the hash as given and answers 204 (Onezone answers 400
for a package it lacks, and Onepanel then uploads it). The worker's release is also its
provider's `version` in GraphSync, so it is written to the provider in the same transaction.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import ClusterDetails, ClusterList, ServiceVersion, Subject, UpdateClusterRequest
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord


def of_user(user: UserRecord) -> ClusterList:
    return ClusterList(clusters=user.clusters)


def _allowed(
    ctx: Context, caller: UserRecord | ProviderRecord, cluster_id: str, privilege: str | None, admin_privilege: str
) -> ClusterRecord:
    """The cluster, if the caller may act on it (a member needs `privilege`, if any); others do
    not learn whether it exists."""
    cluster = cluster_store.TABLE.get(ctx, cluster_id)
    if isinstance(caller, ProviderRecord):
        allowed = caller.providerId == cluster_id
    else:
        member_privileges = cluster.members.get(caller.userId) if cluster is not None else None
        allowed = admin_privilege in caller.privileges or (
            member_privileges is not None and (privilege is None or privilege in member_privileges)
        )
    if not allowed:
        raise OnedataError("forbidden", hint=f"requires being the cluster's provider, a member, or {admin_privilege}")
    if cluster is None:
        raise OnedataError("notFound")
    return cluster


def get(ctx: Context, caller: UserRecord | ProviderRecord, cluster_id: str) -> ClusterDetails:
    cluster = _allowed(ctx, caller, cluster_id, None, "oz_clusters_view")
    return ClusterDetails(
        clusterId=cluster.clusterId,
        type=cluster.type,
        workerVersion=ServiceVersion(**cluster.workerVersion),
        onepanelVersion=ServiceVersion(**cluster.onepanelVersion),
        onepanelProxy=cluster.onepanelProxy,
        creator=Subject(type="user", id=cluster.creatorId),
        creationTime=cluster.createdAt,
        serviceId=cluster.serviceId,
        creatorId=cluster.creatorId,
    )


def update(ctx: Context, caller: UserRecord | ProviderRecord, cluster_id: str, request: UpdateClusterRequest) -> None:
    """A provider changes its own cluster without reading it first (the write's condition says
    whether it still exists); others' rights depend on their membership, which is read."""
    if not (isinstance(caller, ProviderRecord) and caller.providerId == cluster_id):
        cluster_id = _allowed(ctx, caller, cluster_id, "cluster_update", "oz_clusters_update").clusterId
    write(ctx, cluster_id, request)


def write(ctx: Context, cluster_id: str, request: UpdateClusterRequest) -> None:
    """Store what a cluster's services report (from REST or the provider's GraphSync channel)."""
    changes = request.model_dump(include={"workerVersion", "onepanelVersion", "onepanelProxy"}, exclude_none=True)
    cluster_op = cluster_store.TABLE.update_op(ctx, cluster_id, changes)
    if "workerVersion" not in changes:
        if not db.conditional_write(ctx.aws.dynamodb.update_item, **cluster_op["Update"]):
            raise OnedataError("notFound")  # deregistered meanwhile
        return
    release = {"workerRelease": changes["workerVersion"]["release"]}
    try:
        db.transact(ctx.aws.dynamodb, [cluster_op, provider_store.TABLE.update_op(ctx, cluster_id, release)])
    except db.Cancelled:
        raise OnedataError("notFound") from None
