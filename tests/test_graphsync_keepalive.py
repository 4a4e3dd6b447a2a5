"""The keepalive, module level: a round pushes each open channel its provider's record at the
revision op-worker has (so nothing changes for it) and drops what no longer counts."""

from __future__ import annotations

import time

import pytest

from chalicelib import context
from chalicelib.graphsync import keepalive, online
from chalicelib.store import connections as connection_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store.connections import MAX_AGE_SECONDS
from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire
from tests.provider_helpers import Registered, register_provider, scan


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


def connected(wire: Wire, registered: Registered, subscribe: str | None = "instance:private") -> OpWorker:
    worker = OpWorker(wire, registered.root_token)
    assert worker.handshake()["success"] is True
    if subscribe:
        worker.ok(f"provider.{registered.id}.{subscribe}", subscribe=True)
    return worker


def test_a_round_pushes_the_record_at_its_revision(api: Api, krk: Registered, wire: Wire) -> None:
    worker = connected(wire, krk)
    seen = worker.ok(f"provider.{krk.id}.instance:private")["resource"]
    counts = keepalive.run(context.current())
    assert (counts["connections"], counts["pushed"]) == (1, 1)
    [push] = worker.pushes()
    assert push["payload"]["updateType"] == "updated"
    assert push["payload"]["data"] == seen  # equal revision, equal record: op-worker keeps its copy
    assert provider_store.TABLE.get(context.current(), krk.id).revision == seen["revision"]


def test_a_connection_subscribed_elsewhere_gets_that_and_an_unsubscribed_one_nothing(
    api: Api, krk: Registered, wire: Wire
) -> None:
    cluster_only = connected(wire, krk, subscribe=None)
    cluster_only.ok(f"cluster.{krk.id}.instance:private", subscribe=True)
    silent = connected(wire, krk, subscribe=None)
    counts = keepalive.run(context.current())
    assert (counts["pushed"], counts["idle"]) == (1, 1)
    assert [p["payload"]["gri"] for p in cluster_only.pushes()] == [f"cluster.{krk.id}.instance:private"]
    assert silent.pushes() == []


def age(worker: OpWorker, seconds: int) -> None:
    """Make the connection `seconds` old, as if it had opened then (its item and its entry)."""
    ctx = context.current()
    record = connection_store.get(ctx, worker.id)
    assert record is not None
    opened = int(time.time()) - seconds
    changes = {"connectedAt": opened, "expiresAt": opened + MAX_AGE_SECONDS}
    ctx.aws.dynamodb.update_item(**connection_store.TABLE.update_op(ctx, worker.id, changes)["Update"])
    old, new = online.entry(record), provider_store.connection_entry(worker.id, opened + MAX_AGE_SECONDS)
    db.transact(ctx.aws.dynamodb, [provider_store.connections_closed_op(ctx, record.providerId, [old])])
    db.transact(ctx.aws.dynamodb, [provider_store.connection_opened_op(ctx, record.providerId, new)])


def test_what_no_longer_counts_is_dropped(api: Api, krk: Registered, wire: Wire) -> None:
    expired = connected(wire, krk)
    age(expired, MAX_AGE_SECONDS + 1)
    gone = connected(wire, krk)
    wire.gone.add(gone.id)
    kept = connected(wire, krk)
    counts = keepalive.run(context.current())
    assert (counts["expired"], counts["gone"], counts["pushed"]) == (1, 1, 1)
    assert expired.id in wire.closed
    assert [item["connectionId"] for item in scan(api, "CONNECTIONS_TABLE")] == [kept.id]
    provider = provider_store.TABLE.get(context.current(), krk.id)
    assert provider.open_connections() == [kept.id]
    assert len(provider.connections) == 1


def test_an_expired_connection_is_offline_before_any_round(api: Api, krk: Registered, wire: Wire) -> None:
    """`$disconnect` never came and no round ran yet: two hours on, the provider is offline."""
    worker = connected(wire, krk)
    assert api.call("GET", "/provider", headers=krk.headers).json_body["online"] is True
    provider = provider_store.TABLE.get(context.current(), krk.id)
    assert provider.online(now=int(time.time()) + MAX_AGE_SECONDS + 1) is False
    assert worker.id in provider.open_connections()


def test_orphans_and_stale_entries(api: Api, krk: Registered, wire: Wire) -> None:
    worker = connected(wire, krk)
    # an entry whose connection item DynamoDB's TTL already removed
    ctx = context.current()
    stale = provider_store.connection_entry("vanished=", int(time.time()) - 1)
    db.transact(ctx.aws.dynamodb, [provider_store.connection_opened_op(ctx, krk.id, stale)])
    assert keepalive.run(ctx)["stale_entries"] == 1
    assert provider_store.TABLE.get(ctx, krk.id).connections == [
        provider_store.connection_entry(worker.id, connection_store.get(ctx, worker.id).expiresAt)
    ]
    # a connection whose provider is gone (its channel was not closed in time)
    ctx.aws.dynamodb.delete_item(TableName=api.env["PROVIDERS_TABLE"], Key=provider_store.TABLE.key_of(krk.id))
    assert keepalive.run(ctx)["orphaned"] == 1
    assert worker.id in wire.closed
    assert scan(api, "CONNECTIONS_TABLE") == []
