"""A stock op-worker 21.02.7 against `make run`, from the outside: its own WebSocket framing and
handshake bytes (`tests/opworker.py`), its own token code (`tests/test_onepanel_blackbox.py`),
nothing of the app.

It registers (as Onepanel does), connects, shakes hands, runs its on-connect steps and is online
in REST while connected; it gets pushes for REST changes, registers a storage, reconnects after
the server closes the channel, is offline once it closed its own, and learns of its
deregistration by a `deleted` push (after which its token is `tokenInvalid`).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.localrun import ADMIN_PASSWORD, ZONE, LocalRun
from tests.opworker import Closed, OpWorker
from tests.test_onepanel_blackbox import confine

pytestmark = pytest.mark.blackbox


@pytest.fixture(autouse=True)
def a_local_run(local: LocalRun) -> None:
    """The channel is served by `make run` (a deployed stage's is behind its front, wss only)."""
    if local.deployed:
        pytest.skip("op-worker's channel is tested against make run")


def until(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition never held")


def opw_token(root_token: str) -> str:
    return "opw-" + confine(root_token, f"time < {int(time.time()) + 900}")


def rest(local: LocalRun, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    args = ["-X", method, "-H", "Content-Type: application/json"]
    if token:
        args += ["-H", f"X-Auth-Token: {token}"]
    if body is not None:
        args += ["-d", json.dumps(body)]
    return local.curl(*args, f"{local.base}{path}")


def registered(local: LocalRun, subdomain: str) -> tuple[str, str]:
    status, invite = local.curl(
        "-u", f"admin:{ADMIN_PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 200, invite
    body = {
        "token": invite["token"],
        "name": "Blackbox op-worker",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "ipList": [],
    }
    status, answer = rest(local, "POST", "/providers", body)
    assert status == 200, answer
    return answer["providerId"], answer["providerRootToken"]


def online(local: LocalRun, provider_id: str, root_token: str) -> bool:
    status, details = rest(local, "GET", "/provider", token=confine(root_token, f"time < {int(time.time()) + 900}"))
    assert status == 200, details
    assert details["providerId"] == provider_id
    return bool(details["online"])


def connected(local: LocalRun, provider_id: str, root_token: str) -> tuple[OpWorker, str]:
    """A new channel after op-worker's handshake and on-connect steps; its session id."""
    worker = OpWorker("127.0.0.1", local.run_port, ZONE)
    worker.open()
    reply = worker.handshake(opw_token(root_token))
    assert reply["success"] is True, reply
    assert reply["data"]["identity"] == {"provider": provider_id}
    assert reply["data"]["version"] == 4
    record = worker.on_connect(provider_id, "21.02.7", ["192.0.2.31"])
    assert record["online"] is True
    assert record["version"] == "21.02.7"
    return worker, reply["data"]["sessionId"]


def pushed(local: LocalRun, worker: OpWorker, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The push `matches` picks; if none comes, what the local run logged meanwhile is shown."""
    try:
        return worker.wait_push(matches)
    except TimeoutError:
        logged = [line for line in local.output if '"level":"INFO"' not in line and '" 200 -' not in line]
        raise AssertionError("no such push; the local run logged:\n" + "".join(logged[-40:])) from None


def server_closes(local: LocalRun, connection_id: str) -> None:
    """What API Gateway's `@connections` DELETE does: the server ends the channel."""
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=local.host,  # the local server plays the `@connections` API too
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client.delete_connection(ConnectionId=connection_id)


def test_an_op_worker_lives_its_life_against_make_run(local: LocalRun) -> None:
    provider_id, root_token = registered(local, "opw-blackbox")
    assert online(local, provider_id, root_token) is False

    worker, session = connected(local, provider_id, root_token)
    assert online(local, provider_id, root_token) is True
    assert local.a_record(f"opw-blackbox.{ZONE}") == ["192.0.2.31"]
    worker.ping()  # op-worker's keepalive; the server ignores it

    # its identity token, minted over the channel as op-worker does for Onepanel's sign-ins
    identity = worker.ok(
        f"token.null.provider_temporary_token,{provider_id}:private",
        "create",
        {"type": {"identityToken": {}}, "caveats": [{"type": "time", "validUntil": int(time.time()) + 900}]},
    )
    assert identity["format"] == "value"
    status, verified = rest(local, "POST", "/tokens/verify_identity_token", {"token": identity["value"]})
    assert status == 200, verified
    assert verified["subject"] == {"type": "oneprovider", "id": provider_id}

    # a REST change reaches it
    token = confine(root_token, f"time < {int(time.time()) + 900}")
    assert rest(local, "PATCH", "/provider", {"name": "Renamed over REST"}, token)[0] == 204
    gri = f"provider.{provider_id}.instance:private"
    push = pushed(local, worker, lambda p: p["gri"] == gri and p["data"] and p["data"]["name"] == "Renamed over REST")
    assert push["payload"]["updateType"] == "updated"

    # a storage, as Onepanel's add_storages has it created
    storage = worker.ok(
        "storage.null.instance:private",
        "create",
        {"name": "posix", "readonly": False, "qosParameters": {}, "imported": False},
    )["resource"]
    storage_id = storage["gri"].split(".")[1]
    assert worker.ok(gri)["resource"]["storages"] == [storage_id]

    # the server closes the channel: op-worker reconnects and runs its steps again
    server_closes(local, session)
    with pytest.raises(Closed):
        worker.drain()
    worker.close()
    worker, _session = connected(local, provider_id, root_token)
    assert until(lambda: online(local, provider_id, root_token))

    # closed by op-worker: offline
    worker.close()
    until(lambda: not online(local, provider_id, root_token))

    # deregistered while connected: a `deleted` push for its own record, and its token is void
    worker, _session = connected(local, provider_id, root_token)
    status, admin_token = local.curl(
        "-u",
        f"admin:{ADMIN_PASSWORD}",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"type": {"accessToken": {}}, "caveats": [{"type": "time", "validUntil": int(time.time()) + 600}]}),
        f"{local.base}/user/tokens/temporary",
    )
    assert status == 201, admin_token
    assert rest(local, "DELETE", f"/providers/{provider_id}", token=admin_token["token"])[0] == 204
    push = pushed(local, worker, lambda p: p["gri"] == gri and p.get("updateType") == "deleted")
    assert push["payload"]["data"] is None
    with pytest.raises(Closed):  # and the zone ends the channel
        worker.drain()
    worker.close()
    again = OpWorker("127.0.0.1", local.run_port, ZONE)
    again.open()
    reply = again.handshake(opw_token(root_token))
    assert reply["error"]["details"]["authError"]["id"] == "tokenInvalid"
    again.close()


def test_the_upgrade_is_op_workers_own(local: LocalRun) -> None:
    """The server accepts the upgrade exactly as op-worker writes it, and answers its pings."""
    worker = OpWorker("127.0.0.1", local.run_port, ZONE)
    worker.open()
    worker.ping()
    reply = worker.request("graph", {"gri": "provider.self.instance:private", "operation": "get"})
    assert reply["error"]["id"] == "expectedHandshakeMessage"
    worker.close()
    request = urllib.request.Request(f"{local.host}/graph_sync/provider")  # noqa: S310 - loopback
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - a plain GET is no upgrade
