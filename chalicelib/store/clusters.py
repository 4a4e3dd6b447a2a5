"""The clusters table: one item per cluster, keyed by `clusterId`.

A Oneprovider's cluster has the provider's id, and its `creatorId` is the user the registration
token named (`adminUserId`). Who belongs to it is not here: the memberships table says
(`chalicelib.store.memberships`). The versions are what the cluster's Onepanel and op-worker
report after registering (`PATCH /clusters/{id}`).
"""

from chalicelib.model_base import Model
from chalicelib.store import db

# What Onezone reports for a service that has not told it its version yet.
UNKNOWN_VERSION = {"release": "18.02.*", "build": "unknown", "gui": "empty"}


class ClusterRecord(Model):
    clusterId: str
    type: str = "oneprovider"
    serviceId: str
    creatorId: str
    createdAt: int
    workerVersion: dict[str, str] = UNKNOWN_VERSION
    onepanelVersion: dict[str, str] = UNKNOWN_VERSION
    onepanelProxy: bool = True
    revision: int = db.FIRST_REVISION  # raised by every write (`db.Table`), as GraphSync needs


TABLE = db.Table("clusters_table", "clusterId", ClusterRecord, revisioned=True)
