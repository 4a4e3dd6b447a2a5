"""The clusters table: one item per cluster, keyed by `clusterId`.

A Oneprovider's cluster has the provider's id; `members` maps user ids to their cluster
privileges (the registering user gets all of them, as in Onezone).
"""

from __future__ import annotations

from pydantic import BaseModel

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


class ClusterRecord(BaseModel):
    clusterId: str
    type: str = "oneprovider"
    serviceId: str
    creatorId: str
    members: dict[str, list[str]]
    createdAt: int


TABLE = db.Table("clusters_table", "clusterId", ClusterRecord)
