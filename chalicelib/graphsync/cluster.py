"""`cluster.<id>.instance` over GraphSync: the provider's own cluster.

op-worker's first step after every handshake is `update` with its `workerVersion` (release,
build, GUI hash); it must succeed, and does: this registry hosts no GUI packages, so the hash is
stored as reported (as `PATCH /clusters/{id}` does for Onepanel's). The release becomes the
provider's `version` in the same transaction. 21.02.8 also `get`s the cluster (subscribed) and
compares `workerReleaseVersion`, `workerBuildVersion` and `workerGuiHash` with its own.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.graphsync import codec
from chalicelib.graphsync.requests import Call, not_supported, owned
from chalicelib.models import UpdateClusterRequest
from chalicelib.store import clusters as cluster_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.tokens.gri import Gri
from chalicelib.validation import validate

TYPE = "cluster"
SCOPES = ("private", "protected")


def subscribable(operation: str, gri: Gri) -> bool:
    return gri.aspect == "instance" and operation in ("get", "update") and gri.id is not None


def handle(ctx: Context, call: Call) -> codec.Result:
    if call.gri.aspect != "instance":
        raise not_supported()
    if call.gri.id != call.provider_id:  # a provider's cluster has the provider's id
        raise owned(call.gri.id is not None and cluster_store.TABLE.get(ctx, call.gri.id) is not None)
    if call.operation == "update" and call.gri.scope == "private":
        from chalicelib.clusters import details

        details.write(ctx, call.provider_id, validate(UpdateClusterRequest, call.data))
        return None
    if call.operation == "get" and call.gri.scope in SCOPES:
        cluster = cluster_store.TABLE.get(ctx, call.provider_id)
        if cluster is None:
            raise owned(False)
        return view(cluster, call.gri)
    raise not_supported()


def view(cluster: ClusterRecord, gri: Gri) -> codec.Resource:
    """The cluster as Onezone's REST shows it, with the flat version fields op-worker reads."""
    worker, panel = cluster.workerVersion, cluster.onepanelVersion
    fields = {
        "type": cluster.type,
        "serviceId": cluster.serviceId,
        "creationTime": cluster.createdAt,
        "creator": {"type": "user", "id": cluster.creatorId},
        "workerVersion": worker,
        "onepanelVersion": panel,
        "onepanelProxy": cluster.onepanelProxy,
        "workerReleaseVersion": worker["release"],
        "workerBuildVersion": worker["build"],
        "workerGuiHash": worker["gui"],
        "onepanelReleaseVersion": panel["release"],
        "onepanelBuildVersion": panel["build"],
        "onepanelGuiHash": panel["gui"],
    }
    return codec.Resource(Gri(TYPE, cluster.clusterId, "instance", gri.scope), cluster.revision, fields)
