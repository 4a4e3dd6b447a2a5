"""Pushes, module level: changes made over REST, over the channel and by connects reach the
subscribed channels through the tables' DynamoDB streams (moto's, read as Lambda reads them and
handed to the app's push functions), and only those; deregistration is a `deleted` push and the
end of the channel."""

from __future__ import annotations

import time

import pytest

from chalicelib import context
from chalicelib.store import connections as connection_store
from chalicelib.store import providers as provider_store
from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Streams, Wire
from tests.provider_helpers import Registered, register_provider, scan

VERSION = {"release": "21.02.8", "build": "7", "gui": "b" * 64}


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


@pytest.fixture
def subscribed(krk: Registered, wire: Wire, streams: Streams) -> OpWorker:
    """op-worker after its handshake, subscribed to its own record; the streams read up to now."""
    worker = OpWorker(wire, krk.root_token)
    assert worker.handshake()["success"] is True
    worker.ok(f"provider.{krk.id}.instance:private", subscribe=True)
    streams.deliver()
    return worker


def new_pushes(worker: OpWorker, streams: Streams) -> list[dict]:
    before = len(worker.pushes())
    streams.deliver()
    return worker.pushes()[before:]


def updated(push: dict) -> dict:
    assert (push["subtype"], push["payload"]["updateType"]) == ("graph", "updated"), push
    return push["payload"]["data"]


def test_rest_changes_are_pushed(api: Api, krk: Registered, subscribed: OpWorker, streams: Streams) -> None:
    revision = provider_store.TABLE.get(context.current(), krk.id).revision
    changes = [
        ("PATCH", "/provider", {"name": "Krakow 2"}, lambda data: data["name"] == "Krakow 2"),
        (
            "PATCH",
            "/provider/domain_config",
            {"subdomainDelegation": True, "subdomain": "krk2", "ipList": ["192.0.2.9"]},
            lambda data: data["domain"] == "krk2.onezone.test",
        ),
        ("PUT", "/provider/dns_txt_record/_acme-challenge", {"content": "x"}, lambda data: True),
        ("PATCH", f"/clusters/{krk.id}", {"workerVersion": VERSION}, lambda data: data["version"] == "21.02.8"),
    ]
    for method, path, body, shows in changes:
        assert api.call(method, path, body, headers=krk.headers).status_code == 204
        [push] = new_pushes(subscribed, streams)
        data = updated(push)
        assert push["payload"]["gri"] == data["gri"] == f"provider.{krk.id}.instance:private"
        assert data["revision"] == revision + 1, path
        assert shows(data), path
        revision = data["revision"]


def test_what_changes_no_view_pushes_nothing(api: Api, krk: Registered, subscribed: OpWorker, streams: Streams) -> None:
    now = int(time.time())
    assert provider_store.lease_dns(context.current(), krk.id, 0, now, now + 60)
    provider_store.end_dns_lease(context.current(), krk.id, 0)
    same = {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.1", "192.0.2.2"]}
    assert api.call("PATCH", "/provider/domain_config", same, headers=krk.headers).status_code == 204
    assert new_pushes(subscribed, streams) == []


def test_connects_and_disconnects_are_pushed(
    krk: Registered, subscribed: OpWorker, wire: Wire, streams: Streams
) -> None:
    second = OpWorker(wire, krk.root_token)
    assert second.handshake()["success"] is True
    [push] = new_pushes(subscribed, streams)
    assert updated(push)["online"] is True
    subscribed.disconnect()
    assert new_pushes(subscribed, streams) == []  # gone: nothing more for it
    second.ok(f"provider.{krk.id}.instance:protected", subscribe=True)
    second.disconnect()
    assert new_pushes(second, streams) == []
    assert provider_store.TABLE.get(context.current(), krk.id).online() is False


def test_only_subscribers_of_the_changed_resource_get_it(
    api: Api, krk: Registered, subscribed: OpWorker, wire: Wire, streams: Streams
) -> None:
    other = register_provider(api, subdomain="waw")
    neighbour = OpWorker(wire, other.root_token)
    assert neighbour.handshake()["success"] is True
    neighbour.ok(f"provider.{other.id}.instance:private", subscribe=True)
    unsubscribed = OpWorker(wire, krk.root_token)
    assert unsubscribed.handshake()["success"] is True
    streams.deliver()
    neighbours = len(neighbour.pushes())
    assert api.call("PATCH", "/provider", {"name": "Krakow 3"}, headers=krk.headers).status_code == 204
    assert len(new_pushes(subscribed, streams)) == 1
    assert unsubscribed.pushes() == []
    assert len(neighbour.pushes()) == neighbours
    subscribed.request("unsub", {"gri": f"provider.{krk.id}.instance:private"})
    assert api.call("PATCH", "/provider", {"name": "Krakow 4"}, headers=krk.headers).status_code == 204
    assert new_pushes(subscribed, streams) == []


def test_cluster_and_storage_changes(krk: Registered, subscribed: OpWorker, streams: Streams) -> None:
    subscribed.ok(f"cluster.{krk.id}.instance:private", subscribe=True)
    subscribed.ok(f"cluster.{krk.id}.instance:private", "update", {"workerVersion": VERSION})
    pushes = new_pushes(subscribed, streams)
    assert sorted(p["payload"]["gri"] for p in pushes) == [
        f"cluster.{krk.id}.instance:private",
        f"provider.{krk.id}.instance:private",
    ]
    cluster = next(updated(p) for p in pushes if p["payload"]["gri"].startswith("cluster."))
    assert cluster["workerReleaseVersion"] == "21.02.8"

    storage = subscribed.ok("storage.null.instance:private", "create", {"name": "posix"}, subscribe=True)
    gri = storage["resource"]["gri"]
    [push] = new_pushes(subscribed, streams)  # the provider's `storages`; the storage is new
    assert updated(push)["storages"] == [gri.split(".")[1]]
    subscribed.ok(gri, "update", {"name": "posix-2"})
    [push] = new_pushes(subscribed, streams)
    assert (updated(push)["name"], updated(push)["revision"]) == ("posix-2", 2)
    subscribed.ok(gri, "delete")
    pushes = new_pushes(subscribed, streams)
    deleted = [p for p in pushes if p["payload"]["updateType"] == "deleted"]
    assert [p["payload"] for p in deleted] == [{"gri": gri, "updateType": "deleted", "data": None}]
    assert [updated(p)["storages"] for p in pushes if p not in deleted] == [[]]


def test_deregistration_is_a_deleted_push_and_the_channel_closes(
    api: Api, krk: Registered, subscribed: OpWorker, wire: Wire, streams: Streams
) -> None:
    admin = api.create_user("root", ("oz_providers_delete",))
    from tests.token_helpers import access_token

    response = api.call("DELETE", f"/providers/{krk.id}", headers={"X-Auth-Token": access_token(admin)})
    assert response.status_code == 204
    pushes = new_pushes(subscribed, streams)
    assert [p["payload"] for p in pushes if p["payload"]["updateType"] == "deleted"] == [
        {"gri": f"provider.{krk.id}.instance:private", "updateType": "deleted", "data": None}
    ]
    assert subscribed.id in wire.closed
    assert scan(api, "CONNECTIONS_TABLE") == []


def test_a_connection_found_gone_is_dropped(
    api: Api, krk: Registered, subscribed: OpWorker, wire: Wire, streams: Streams
) -> None:
    wire.gone.add(subscribed.id)  # vanished without $disconnect
    assert api.call("PATCH", "/provider", {"name": "Krakow 5"}, headers=krk.headers).status_code == 204
    streams.deliver()
    assert connection_store.get(context.current(), subscribed.id) is None
    assert api.call("GET", "/provider", headers=krk.headers).json_body["online"] is False


def test_a_record_that_fails_holds_back_no_other(
    api: Api, krk: Registered, subscribed: OpWorker, streams: Streams
) -> None:
    from chalicelib.graphsync import pushes

    broken = ("MODIFY", {"providerId": "x", "revision": 1}, {"providerId": "x", "revision": 2})
    current = provider_store.TABLE.get(context.current(), krk.id).model_dump()
    good = ("MODIFY", {**current, "revision": current["revision"] - 1}, current)
    before = len(subscribed.pushes())
    assert pushes.providers_changed(context.current(), [broken, good]) == 1
    assert len(subscribed.pushes()) == before + 1
