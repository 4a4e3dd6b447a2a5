"""Changes of providers, clusters and storages pushed to the channels subscribed to them.

Every write of those tables, whoever made it - REST (`PATCH /provider`, domain configuration,
TXT records, an admin's deregistration), the channel itself, a connect or disconnect - lands in
the table's DynamoDB stream, whose records the push functions of `app.py` receive within about a
second (Lambda reads each shard in order, so a provider's changes arrive in revision order). A
record whose revision did not change (the DNS lease) changes no view and is skipped. For each
connection the provider has open, the GRIs it subscribed to that the change concerns get an
`updated` push with the view at the new revision (from the record's new image: one item is the
whole view), or `deleted` when the entity is gone. A provider deleted - deregistered - sends
`deleted` for everything its channels subscribed to, which makes op-worker deregister itself,
and its channels are closed.

Pushes are best effort, as in Onezone: a connection found gone is dropped; a record that fails
is logged and skipped, so that one bad record never holds back the stream (Lambda would retry
the whole batch until the record expires). op-worker refetches what it needs on reconnecting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.context import Context
from chalicelib.graphsync import cluster, codec, connections, online, provider, storage
from chalicelib.store import clusters as cluster_store
from chalicelib.store import connections as connection_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store import storages as storage_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.store.connections import ConnectionRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.storages import StorageRecord
from chalicelib.tokens.gri import Gri

log = logging.getLogger(__name__)

Change = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # event name, old image, new image


def change_of(record: Any) -> Change:
    """(event name, old item, new item) of a Chalice `DynamoDBRecord`, decoded."""
    old, new = record.old_image, record.new_image
    return record.event_name, db.decode(old) if old else None, db.decode(new) if new else None


def _each(changes: Iterable[Change], handle: Callable[[str, dict | None, dict | None], None]) -> int:
    handled = 0
    for event_name, old, new in changes:
        try:
            handle(event_name, old, new)
            handled += 1
        except Exception:
            log.exception("GraphSync push of a %s record failed; skipped", event_name)
    return handled


def _revised(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    return new is not None and (old is None or old.get(db.REVISION) != new.get(db.REVISION))


def _subscribed(record: ConnectionRecord, entity_type: str, entity_id: str) -> list[Gri]:
    gris = [Gri.parse(text) for text in record.subscriptions]
    return [gri for gri in gris if (gri.type, gri.id) == (entity_type, entity_id)]


def _connections(ctx: Context, owner: ProviderRecord) -> list[ConnectionRecord]:
    found = (connection_store.get(ctx, connection_id) for connection_id in owner.open_connections())
    return [record for record in found if record is not None]


def send(ctx: Context, record: ConnectionRecord, push: codec.Push) -> bool:
    """One push; a connection found gone is dropped (False)."""
    if connections.send(ctx, online.handle(record), push.to_message()):
        return True
    online.drop(ctx, record, close=False)
    return False


def _push(
    ctx: Context, owner: ProviderRecord, entity_type: str, entity_id: str, make: Callable[[Gri], codec.Push]
) -> None:
    for record in _connections(ctx, owner):
        for gri in _subscribed(record, entity_type, entity_id):
            if not send(ctx, record, make(gri)):
                break


# ---- the three streams ------------------------------------------------------------------------


def providers_changed(ctx: Context, changes: Iterable[Change]) -> int:
    return _each(changes, lambda event, old, new: _provider(ctx, event, old, new))


def _provider(ctx: Context, event: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    if event == "REMOVE" and old is not None:
        _deregistered(ctx, ProviderRecord.model_validate(old))
    elif _revised(old, new):
        changed = ProviderRecord.model_validate(new)
        _push(
            ctx, changed, provider.TYPE, changed.providerId, lambda gri: codec.updated(gri, provider.view(changed, gri))
        )


def _deregistered(ctx: Context, gone: ProviderRecord) -> None:
    """`deleted` for every subscription of its channels (op-worker deregisters itself on its
    provider's), then the channels closed."""
    for record in _connections(ctx, gone):
        for text in record.subscriptions:
            if not connections.send(ctx, online.handle(record), codec.deleted(Gri.parse(text)).to_message()):
                break
        online.drop(ctx, record)


def clusters_changed(ctx: Context, changes: Iterable[Change]) -> int:
    return _each(changes, lambda event, old, new: _cluster(ctx, old, new))


def _cluster(ctx: Context, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """A cluster goes only with its provider, whose removal says it all; changes are pushed."""
    if not _revised(old, new):
        return
    changed = ClusterRecord.model_validate(new)
    owner = provider_store.TABLE.get(ctx, changed.clusterId)
    if owner is not None:
        _push(ctx, owner, cluster.TYPE, changed.clusterId, lambda gri: codec.updated(gri, cluster.view(changed, gri)))


def storages_changed(ctx: Context, changes: Iterable[Change]) -> int:
    return _each(changes, lambda event, old, new: _storage(ctx, event, old, new))


def _storage(ctx: Context, event: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """A new storage concerns nobody yet (its provider's record says it exists); a removed one
    is `deleted` to its subscribers, unless its provider went with it."""
    if event == "INSERT":
        return
    if event == "REMOVE" and old is not None:
        removed = StorageRecord.model_validate(old)
        owner = provider_store.TABLE.get(ctx, removed.providerId)
        if owner is not None:
            _push(ctx, owner, storage.TYPE, removed.storageId, codec.deleted)
        return
    if _revised(old, new):
        changed = StorageRecord.model_validate(new)
        owner = provider_store.TABLE.get(ctx, changed.providerId)
        if owner is not None:
            _push(
                ctx, owner, storage.TYPE, changed.storageId, lambda gri: codec.updated(gri, storage.view(changed, gri))
            )


def view_of(ctx: Context, owner: ProviderRecord, gri: Gri) -> codec.Resource | None:
    """The current view of a subscribed GRI of the provider's (None if its entity is gone)."""
    if gri.type == provider.TYPE:
        return provider.view(owner, gri)
    if gri.type == cluster.TYPE:
        found = cluster_store.TABLE.get(ctx, gri.id or "")
        return cluster.view(found, gri) if found else None
    if gri.type == storage.TYPE:
        stored = storage_store.TABLE.get(ctx, gri.id or "")
        return storage.view(stored, gri) if stored else None
    return None
