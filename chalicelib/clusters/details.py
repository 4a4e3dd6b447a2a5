"""Clusters: a cluster's details (`GET /clusters/{id}`, and `GET /user/clusters/{id}` for its
members), a user's clusters, and `PATCH /clusters/{id}`, by which a Oneprovider's Onepanel
reports its version right after registering.

Onezone's rules: a cluster is seen by its provider, its members and holders of
`oz_clusters_view`; it is changed by its provider, members with `cluster_update` and holders of
`oz_clusters_update` - the membership item says who is a member (`clusters.access`). Onepanel also
sends the hash of its GUI package, which Onezone would serve; this registry hosts no GUIs, so it
stores the hash as given and answers 204 (Onezone answers 400 for a package it lacks, and
Onepanel then uploads it). The worker's release is also its
provider's `version` in GraphSync, so it is written to the provider in the same transaction.
"""

from __future__ import annotations

from chalicelib.clusters import access, privileges
from chalicelib.clusters.access import Caller
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import ClusterDetails, ClusterList, ServiceVersion, Subject, UpdateClusterRequest
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord


def of_user(user: UserRecord) -> ClusterList:
    """`GET /user/clusters` and `/user/effective_clusters` (the same, with no groups)."""
    return ClusterList(clusters=user.clusters)


def _allowed(
    ctx: Context, caller: Caller, cluster_id: str, privilege: str | None, admin_privilege: str
) -> ClusterRecord:
    """The cluster, if the caller may act on it (a member needs `privilege`, if any); others do
    not learn whether it exists."""
    rights = access.rights(ctx, caller, cluster_id)
    as_member = rights.has(privilege) if privilege else rights.own_provider or rights.member
    if not (as_member or rights.admin(admin_privilege)):
        raise OnedataError("forbidden", hint=f"requires being the cluster's provider, a member, or {admin_privilege}")
    return access.existing(ctx, cluster_id)


def describe(cluster: ClusterRecord) -> ClusterDetails:
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


def get(ctx: Context, caller: Caller, cluster_id: str) -> ClusterDetails:
    return describe(_allowed(ctx, caller, cluster_id, None, "oz_clusters_view"))


def of_member(ctx: Context, user: UserRecord, cluster_id: str) -> ClusterDetails:
    """`GET /user/clusters/{id}`, `/user/effective_clusters/{id}`: a cluster the user is a member
    of; 404 for any other, as in Onezone."""
    cluster = access.existing(ctx, cluster_id)
    if memberships.get(ctx, cluster_id, user.userId) is None:
        raise OnedataError("notFound")
    return describe(cluster)


def update(ctx: Context, caller: Caller, cluster_id: str, request: UpdateClusterRequest) -> None:
    """A provider changes its own cluster without reading it first (the write's condition says
    whether it still exists); others' rights depend on their membership, which is read."""
    if not (isinstance(caller, ProviderRecord) and caller.providerId == cluster_id):
        cluster_id = _allowed(ctx, caller, cluster_id, privileges.UPDATE, "oz_clusters_update").clusterId
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
