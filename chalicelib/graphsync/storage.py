"""`storage.<id>.instance` over GraphSync: the storages a Oneprovider declares in its zone.

Onepanel's `add_storages` has op-worker `create storage.null.instance:private` with `name`,
`readonly`, `qosParameters` and `imported`; the answer is the new storage as a resource, and
the provider's `storages` lists it from then on, with a higher provider revision (both written in
one transaction). `get` (`private`: `name`, `provider`, `spaces`, `qosParameters`, `imported`,
`readonly`; `shared`: `name`, `provider`, `qosParameters`, `readonly`), `update` and `delete`
follow Onezone's storage logic: QoS parameters are strings or numbers and carry the implicit
`storageId` and `providerId`; a read-only storage must be imported. A provider sees and changes
only its own storages (the others would be seen through spaces, which this registry does not
keep). No space is supported here, so every storage may be deleted, and `spaces` is empty.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.graphsync import codec
from chalicelib.graphsync.requests import Call, not_supported, owned
from chalicelib.models import CreateStorageRequest, StorageRequest, UpdateStorageRequest
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store import storages as storage_store
from chalicelib.store.storages import StorageRecord
from chalicelib.tokens.gri import Gri
from chalicelib.validation import validate

TYPE = "storage"
SCOPES = ("private", "shared")


def subscribable(operation: str, gri: Gri) -> bool:
    if gri.aspect != "instance":
        return False
    return operation == "create" or (operation in ("get", "update") and gri.id is not None)


def handle(ctx: Context, call: Call) -> codec.Result:
    if call.gri.aspect != "instance":
        raise not_supported()
    if call.operation == "create" and call.gri.scope == "private":
        return create(ctx, call.provider_id, call.gri.id, validate(CreateStorageRequest, call.data))
    if call.gri.id is None:
        raise OnedataError("notFound")
    if call.operation == "get" and call.gri.scope in SCOPES:
        return view(own(ctx, call.provider_id, call.gri.id), call.gri)
    if call.operation == "update" and call.gri.scope == "private":
        update(ctx, own(ctx, call.provider_id, call.gri.id), validate(UpdateStorageRequest, call.data))
        return None
    if call.operation == "delete" and call.gri.scope == "private":
        delete(ctx, own(ctx, call.provider_id, call.gri.id))
        return None
    raise not_supported()


def own(ctx: Context, provider_id: str, storage_id: str) -> StorageRecord:
    storage = storage_store.TABLE.get(ctx, storage_id)
    if storage is None or storage.providerId != provider_id:
        raise owned(storage is not None)
    return storage


def view(storage: StorageRecord, gri: Gri) -> codec.Resource:
    fields: dict[str, Any] = {
        "name": storage.name,
        "provider": storage.providerId,
        "qosParameters": storage.qosParameters,
        "qos_parameters": storage.qosParameters,  # Onezone's deprecated name, still sent
        "readonly": storage.readonly,
    }
    if gri.scope in ("private", "auto"):
        fields.update(spaces=[], imported="unknown" if storage.imported is None else storage.imported)
    return codec.Resource(Gri(TYPE, storage.storageId, "instance", gri.scope), storage.revision, fields)


def _qos(storage_id: str, provider_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """The QoS parameters with the implicit ones; naming another storage or provider is refused."""
    for key, value in (("providerId", provider_id), ("storageId", storage_id)):
        if key in given and given[key] != value:
            raise OnedataError("badValueNotAllowed", key=f"qosParameters.{key}", allowed=[value])
    return {**given, "storageId": storage_id, "providerId": provider_id}


def _check_readonly(storage_id: str, readonly: bool, imported: bool | None) -> None:
    if readonly and imported is False:
        raise OnedataError("requiresImportedStorage", storageId=storage_id)


def create(ctx: Context, provider_id: str, proposed_id: str | None, request: StorageRequest) -> codec.Resource:
    storage_id = proposed_id or secrets.token_hex(16)
    _check_readonly("'newly created storage'", bool(request.readonly), request.imported)
    storage = StorageRecord(
        storageId=storage_id,
        providerId=provider_id,
        name=request.name or "",
        qosParameters=_qos(storage_id, provider_id, request.qos or {}),
        imported=request.imported,
        readonly=bool(request.readonly),
        createdAt=int(time.time()),
    )
    ops = [
        storage_store.TABLE.put_new_op(ctx, storage),
        provider_store.storage_added_op(ctx, provider_id, storage_id, below=storage_store.MAX_STORAGES),
    ]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled as cancelled:
        if cancelled.failed(0):
            raise OnedataError("alreadyExists") from None
        if provider_store.TABLE.get(ctx, provider_id) is None:
            raise OnedataError("notFound") from None
        raise OnedataError(
            "limitReached", limit=storage_store.MAX_STORAGES, resourceDescription="storages of a provider"
        ) from None
    return view(storage, Gri(TYPE, storage_id, "instance"))


def update(ctx: Context, storage: StorageRecord, request: StorageRequest) -> None:
    # Onezone refuses to change `imported` of a storage supporting a space; none here does.
    imported = storage.imported if request.imported is None else request.imported
    readonly = storage.readonly if request.readonly is None else request.readonly
    _check_readonly(storage.storageId, readonly, imported)
    changes: dict[str, Any] = {"readonly": readonly, "imported": imported}
    if request.name is not None:
        changes["name"] = request.name
    if request.qos is not None:
        changes["qosParameters"] = _qos(storage.storageId, storage.providerId, request.qos)
    op = storage_store.TABLE.update_op(ctx, storage.storageId, changes, expected={"providerId": storage.providerId})
    if not db.conditional_write(ctx.aws.dynamodb.update_item, **op["Update"]):
        raise OnedataError("notFound")  # deleted meanwhile


def delete(ctx: Context, storage: StorageRecord) -> None:
    ops = [
        storage_store.TABLE.delete_op(ctx, storage.storageId, expected={"providerId": storage.providerId}),
        provider_store.storage_removed_op(ctx, storage.providerId, storage.storageId),
    ]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled:
        raise OnedataError("notFound") from None
