"""The storages table: one item per storage a Oneprovider declared in its zone, keyed by
`storageId`.

A storage belongs to one provider (`providerId`), whose item lists its id (`providers.storages_op`,
written in the same transaction), so the provider's GraphSync view needs no query. What Onezone
keeps of a storage: its name, QoS parameters (with the implicit `storageId` and `providerId`),
whether it is imported (`None`: not said, as legacy providers do) and read-only. Its `revision`
is raised by every write (`db.Table`).
"""

from __future__ import annotations

from typing import Any

from chalicelib.model_base import Model
from chalicelib.store import db

# Onezone sets none; every storage is one item in its provider's deregistration transaction
# (at most 100 items), so a provider gets a bounded number, ample for real deployments.
MAX_STORAGES = 25


class StorageRecord(Model):
    storageId: str
    providerId: str
    name: str
    qosParameters: dict[str, Any] = {}
    imported: bool | None = None
    readonly: bool = False
    createdAt: int
    revision: int = db.FIRST_REVISION


TABLE = db.Table("storages_table", "storageId", StorageRecord, revisioned=True)
