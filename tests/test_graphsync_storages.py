"""Storages over GraphSync, module level: Onepanel's `add_storages` as op-worker sends it, the
provider's `storages` list and revision after it, get/update/delete under Onezone's rules, and a
deregistration taking its storages along."""

from __future__ import annotations

import pytest

from chalicelib import context
from chalicelib.store import providers as provider_store
from chalicelib.store.storages import MAX_STORAGES
from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire
from tests.provider_helpers import Registered, register_provider, scan

NEW = {"name": "posix-1", "readonly": False, "qosParameters": {"tier": "fast", "copies": 2}, "imported": False}


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


@pytest.fixture
def worker(krk: Registered, wire: Wire) -> OpWorker:
    worker = OpWorker(wire, krk.root_token)
    assert worker.handshake()["success"] is True
    return worker


def provider_view(worker: OpWorker) -> dict:
    return worker.ok("provider.self.instance:private")["resource"]


def test_add_storages_as_onepanel_runs_it(krk: Registered, worker: OpWorker) -> None:
    before = provider_view(worker)
    data = worker.ok("storage.null.instance:private", "create", NEW)
    assert data["format"] == "resource"
    storage = data["resource"]
    storage_id = storage["gri"].split(".")[1]
    assert storage == {
        "name": "posix-1",
        "provider": krk.id,
        "spaces": [],
        "qosParameters": {"tier": "fast", "copies": 2, "storageId": storage_id, "providerId": krk.id},
        "qos_parameters": {"tier": "fast", "copies": 2, "storageId": storage_id, "providerId": krk.id},
        "imported": False,
        "readonly": False,
        "gri": f"storage.{storage_id}.instance:private",
        "revision": 1,
    }
    after = provider_view(worker)
    assert after["storages"] == [storage_id]
    assert after["revision"] > before["revision"]
    shared = worker.ok(f"storage.{storage_id}.instance:shared")["resource"]
    assert set(shared) == {"name", "provider", "qosParameters", "qos_parameters", "readonly", "gri", "revision"}
    assert worker.ok(f"storage.{storage_id}.instance:private", subscribe=True)["resource"]["name"] == "posix-1"


def test_update_and_delete(krk: Registered, worker: OpWorker) -> None:
    storage_id = worker.ok("storage.null.instance:private", "create", NEW)["resource"]["gri"].split(".")[1]
    gri = f"storage.{storage_id}.instance:private"
    assert worker.ok(gri, "update", {"name": "renamed", "imported": True, "readonly": True}) is None
    storage = worker.ok(gri)["resource"]
    assert (storage["name"], storage["imported"], storage["readonly"], storage["revision"]) == (
        "renamed",
        True,
        True,
        2,
    )
    assert worker.refused(gri, "update", {"imported": False})["id"] == "requiresImportedStorage"
    assert worker.refused(gri, "update", {"qosParameters": {"providerId": "other"}})["id"] == "badValueNotAllowed"
    assert worker.refused(gri, "update", {"qosParameters": {"a": [1]}})["id"] == "badValueQoSParameters"
    assert worker.refused(gri, "update", {})["id"] == "missingAtLeastOneValue"
    assert worker.ok(gri, "delete") is None
    assert provider_view(worker)["storages"] == []
    assert worker.refused(gri)["id"] == "notFound"
    assert worker.refused(gri, "delete")["id"] == "notFound"


def test_creation_rules(api: Api, krk: Registered, worker: OpWorker, wire: Wire) -> None:
    assert (
        worker.refused("storage.null.instance:private", "create", {"readonly": False})["id"] == "missingRequiredValue"
    )
    assert worker.refused("storage.null.instance:private", "create", {"name": "x"})["id"] == "badValueName"
    readonly = {"name": "ro", "readonly": True, "imported": False}
    assert worker.refused("storage.null.instance:private", "create", readonly)["id"] == "requiresImportedStorage"
    # a legacy provider says nothing of `imported`: it is unknown
    legacy = worker.ok("storage.null.instance:private", "create", {"name": "legacy"})["resource"]
    assert legacy["imported"] == "unknown"
    # a chosen id, once
    assert worker.ok("storage.chosen01.instance:private", "create", {"name": "chosen"})["resource"]["gri"] == (
        "storage.chosen01.instance:private"
    )
    assert worker.refused("storage.chosen01.instance:private", "create", {"name": "again"})["id"] == "alreadyExists"
    # another provider's storage is not this one's to see
    other = register_provider(api, subdomain="waw")
    other_worker = OpWorker(wire, other.root_token)
    assert other_worker.handshake()["success"] is True
    assert other_worker.refused("storage.chosen01.instance:private")["id"] == "forbidden"
    assert other_worker.refused("storage.chosen01.instance:private", "delete")["id"] == "forbidden"


def test_a_provider_has_a_bounded_number_of_storages(krk: Registered, worker: OpWorker) -> None:
    for index in range(MAX_STORAGES):
        worker.ok("storage.null.instance:private", "create", {"name": f"s-{index}"})
    error = worker.refused("storage.null.instance:private", "create", {"name": "one-more"})
    assert (error["id"], error["details"]["limit"]) == ("limitReached", MAX_STORAGES)
    assert len(provider_view(worker)["storages"]) == MAX_STORAGES


def test_deregistration_takes_the_storages(api: Api, krk: Registered, worker: OpWorker) -> None:
    worker.ok("storage.null.instance:private", "create", NEW)
    worker.ok("storage.null.instance:private", "create", {**NEW, "name": "posix-2"})
    assert len(scan(api, "STORAGES_TABLE")) == 2
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert scan(api, "STORAGES_TABLE") == []
    assert provider_store.TABLE.get(context.current(), krk.id) is None
