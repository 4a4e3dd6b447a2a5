"""The GraphSync channel's figures (`graphsync` in bench/results/latest.json).

- `on_connect_calls` / `on_connect_minimum`: the AWS calls of op-worker's handshake and on-connect
  steps (21.02.7, delegation on, new IPs), in process (moto, the app's own clients hooked, warm:
  the token root key read before), step by step beside the minimum each step needs and why. The
  replies count too (one `PostToConnection` per request). What the stream handlers do after the
  writes (pushes) is not on op-worker's path and is counted apart (`push_calls`).
- `handshake_ms`, `push_latency_ms` (a REST change to its push on a subscribed channel),
  `channels_held` and `channels_dropped` (200 channels open at once): against the local run, with
  op-worker's own client (`tests/opworker.py`); they need its WebSocket server (the transport).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "21.02.7"
VERSION = {"release": RELEASE, "build": "1", "gui": "0" * 64}

# step -> (calls, why): the fewest calls each step can take.
MINIMUM: dict[str, tuple[dict[str, int], str]] = {
    "handshake": (
        {"GetItem": 2, "TransactWriteItems": 1, "PostToConnection": 1},
        "the token's item and its provider (verification), one transaction recording the connection in "
        "the connections table and on the provider (its revision), the reply",
    ),
    "update cluster workerVersion": (
        {"GetItem": 1, "TransactWriteItems": 1, "PostToConnection": 1},
        "whose connection it is, the cluster and the provider's version in one transaction, the reply",
    ),
    "get provider (subscribe)": (
        {"GetItem": 2, "UpdateItem": 1, "PostToConnection": 1},
        "the connection, the provider's item (the whole view), the subscription, the reply",
    ),
    "update domain_config (new IPs)": (
        {"GetItem": 2, "UpdateItem": 1, "ChangeResourceRecordSets": 1, "TransactWriteItems": 1, "PostToConnection": 1},
        "the connection, the provider, its DNS lease, the Route 53 change, the commit, the reply",
    ),
    "get provider again": (
        {"GetItem": 2, "PostToConnection": 1},
        "the connection and the provider (subscribed already: nothing written), the reply",
    ),
}


def on_connect() -> dict[str, Any]:
    from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend

    from bench.run import backend, call, invite, new_user, recording
    from chalicelib import context
    from tests.graphsync_helpers import OpWorker, Wire

    wire = Wire()
    posts: list[str] = []
    original = ApiGatewayManagementApiBackend.post_to_connection

    def post(self: Any, data: bytes, connection_id: str) -> None:
        posts.append(connection_id)
        wire.sent[unquote(connection_id)].append(json.loads(data))

    ApiGatewayManagementApiBackend.post_to_connection = post  # type: ignore[method-assign]
    try:
        with backend() as client:
            from bench.localrun import basic

            new_user("gs")
            auth = basic("gs", "bench-password-1")
            body = {"name": "Bench", "adminEmail": "ops@example.com", "subdomainDelegation": True, "ipList": []}
            warm = call(client, "POST", "/providers", {**body, "token": invite(client, auth), "subdomain": "warm"})
            OpWorker(wire, warm["providerRootToken"]).handshake()  # reads the root key: warm container
            reply = call(client, "POST", "/providers", {**body, "token": invite(client, auth), "subdomain": "gs"})
            provider_id = reply["providerId"]
            worker = OpWorker(wire, reply["providerRootToken"])
            worker.connect()
            gri = f"provider.{provider_id}.instance:private"
            ips = {"subdomainDelegation": True, "subdomain": "gs", "ipList": ["192.0.2.1"]}
            steps = {
                "handshake": lambda: worker.handshake(),
                "update cluster workerVersion": lambda: worker.ok(
                    f"cluster.{provider_id}.instance:private", "update", {"workerVersion": VERSION}
                ),
                "get provider (subscribe)": lambda: worker.ok(gri, subscribe=True),
                "update domain_config (new IPs)": lambda: worker.ok(
                    "provider.self.domain_config:private", "update", ips
                ),
                "get provider again": lambda: worker.ok(gri, subscribe=True),
            }
            figures = {}
            for name, step in steps.items():
                before = len(posts)
                with recording() as calls:
                    step()
                made = dict(Counter(operation for operation, _ in calls))
                made["PostToConnection"] = len(posts) - before
                minimum, why = MINIMUM[name]
                figures[name] = {
                    "calls": made,
                    "total": sum(made.values()),
                    "minimum": sum(minimum.values()),
                    "why": why,
                }
            push_calls = _push_calls(context.current(), provider_id)
    finally:
        ApiGatewayManagementApiBackend.post_to_connection = original  # type: ignore[method-assign]
    return {
        "steps": figures,
        "on_connect_calls": sum(f["total"] for f in figures.values()),
        "on_connect_minimum": sum(f["minimum"] for f in figures.values()),
        "push_calls": push_calls,
    }


def _push_calls(ctx: Any, provider_id: str) -> dict[str, Any]:
    """What one REST change costs the provider stream's function, delivering it to one subscribed
    channel: the connection's item and the push (the record's new image is the whole view)."""
    from bench.run import recording
    from chalicelib.graphsync import pushes
    from chalicelib.store import providers as provider_store

    old = provider_store.TABLE.get(ctx, provider_id).model_dump()
    new = {**old, "name": "Changed", "revision": old["revision"] + 1}
    with recording() as calls:
        pushes.providers_changed(ctx, [("MODIFY", old, new)])
    made = dict(Counter(operation for operation, _ in calls))
    made["PostToConnection"] = 1
    return {"calls": made, "minimum": {"GetItem": 1, "PostToConnection": 1}}


def against_local_run(channels: int = 200, samples: int = 10) -> dict[str, Any]:
    """Handshake time, push latency and channels held, over the local run's WebSocket server."""
    from bench.localrun import local_run
    from tests.opworker import OpWorker
    from tests.test_onepanel_blackbox import confine

    def opw(root: str) -> str:
        return "opw-" + confine(root, f"time < {int(time.time()) + 900}")

    with local_run() as run:
        port = int(run.http.base.split(":")[2].split("/")[0])
        admin = run.admin_token(int(time.time()) + 3600)

        def provider(label: str) -> tuple[str, str]:
            token = run.http("POST", "/user/clusters/provider_registration_token", {}, admin)["token"]
            body = {"token": token, "name": "Bench", "adminEmail": "o@example.com", "subdomainDelegation": True}
            reply = run.http("POST", "/providers", {**body, "subdomain": label, "ipList": ["192.0.2.1"]})
            return reply["providerId"], reply["providerRootToken"]

        provider_id, root = provider("gsbench")
        handshakes, latencies = [], []
        for _ in range(samples):
            worker = OpWorker("127.0.0.1", port, "onezone.test")
            worker.open()
            started = time.perf_counter()
            assert worker.handshake(opw(root))["success"] is True
            handshakes.append(time.perf_counter() - started)
            worker.close()
        worker = OpWorker("127.0.0.1", port, "onezone.test")
        worker.open()
        worker.handshake(opw(root))
        gri = f"provider.{provider_id}.instance:private"
        worker.ok(gri, subscribe=True)
        headers = {"X-Auth-Token": confine(root, f"time < {int(time.time()) + 900}")}
        for index in range(samples):
            name = f"Bench {index}"
            started = time.perf_counter()
            run.http("PATCH", "/provider", {"name": name}, headers)
            worker.wait_push(lambda p, name=name: p["gri"] == gri and (p["data"] or {}).get("name") == name)
            latencies.append(time.perf_counter() - started)
        worker.close()
        held, dropped = _hold(port, [provider(f"gshold{i}") for i in range(10)], channels, opw)
    return {
        "handshake_ms": round(statistics.median(handshakes) * 1000, 2),
        "push_latency_ms": round(statistics.median(latencies) * 1000, 2),
        "push_latency_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 2),
        "channels_held": held,
        "channels_dropped": dropped,
        "samples": samples,
    }


def _hold(port: int, providers: list[tuple[str, str]], channels: int, opw: Any) -> tuple[int, int]:
    """Open `channels` channels at once (spread over the providers), keep them a while, then ask
    each one something: those that still answer are held, the others dropped."""
    from tests.opworker import OpWorker

    open_ = []
    for index in range(channels):
        _provider_id, root = providers[index % len(providers)]
        worker = OpWorker("127.0.0.1", port, "onezone.test")
        worker.open()
        if worker.handshake(opw(root))["success"]:
            open_.append(worker)
    time.sleep(5)
    dropped = channels - len(open_)
    for worker in open_:
        try:
            worker.ping()
            if not worker.graph("provider.self.instance:protected")["success"]:
                dropped += 1
        except Exception:  # noqa: BLE001 - a dropped channel is a figure, not a failure
            dropped += 1
        finally:
            worker.close()
    return channels - dropped, dropped


def measure() -> dict[str, Any]:
    calls = on_connect()
    return {**calls, **against_local_run()}
