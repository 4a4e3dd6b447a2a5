"""The clusters table: one item per cluster, keyed by `clusterId`.

A Oneprovider's cluster has the provider's id; `members` maps user ids to their cluster
privileges (the registering user gets all of them, as in Onezone). The versions are what the
cluster's Onepanel reports after registering (`PATCH /clusters/{id}`).
"""

from chalicelib.model_base import Model
from chalicelib.store import db

CLUSTER_ADMIN_PRIVILEGES = [
    "cluster_view",
    "cluster_update",
    "cluster_delete",
    "cluster_view_privileges",
    "cluster_set_privileges",
    "cluster_add_user",
    "cluster_remove_user",
    "cluster_add_group",
    "cluster_remove_group",
]


# What Onezone reports for a service that has not told it its version yet.
UNKNOWN_VERSION = {"release": "18.02.*", "build": "unknown", "gui": "empty"}


class ClusterRecord(Model):
    clusterId: str
    type: str = "oneprovider"
    serviceId: str
    creatorId: str
    members: dict[str, list[str]]
    createdAt: int
    workerVersion: dict[str, str] = UNKNOWN_VERSION
    onepanelVersion: dict[str, str] = UNKNOWN_VERSION
    onepanelProxy: bool = True
    revision: int = db.FIRST_REVISION  # raised by every write (`db.Table`), as GraphSync needs


TABLE = db.Table("clusters_table", "clusterId", ClusterRecord, revisioned=True)
