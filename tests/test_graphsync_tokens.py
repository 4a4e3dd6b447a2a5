"""op-worker's identity token over GraphSync, module level: `create
token.null.provider_temporary_token,<id>:private` mints the provider temporary token Onepanel
signs users in with, under the rules of `POST /provider/tokens/temporary`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire
from tests.provider_helpers import Registered, register_provider


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


@pytest.fixture
def worker(krk: Registered, wire: Wire) -> OpWorker:
    worker = OpWorker(wire, krk.root_token)
    assert worker.handshake()["success"] is True
    return worker


def identity_request(valid_for: int) -> dict[str, Any]:
    """What op-worker sends (`token_logic:create_identity_token`)."""
    return {"type": {"identityToken": {}}, "caveats": [{"type": "time", "validUntil": int(time.time()) + valid_for}]}


def test_op_worker_mints_its_identity_token(api: Api, krk: Registered, worker: OpWorker) -> None:
    data = worker.ok(f"token.null.provider_temporary_token,{krk.id}:private", "create", identity_request(900))
    assert set(data) == {"format", "value"}
    assert data["format"] == "value"
    verified = api.call("POST", "/tokens/verify_identity_token", {"token": data["value"]})
    assert verified.status_code == 200, verified.body
    assert verified.json_body["subject"] == {"type": "oneprovider", "id": krk.id}
    assert 0 < verified.json_body["ttl"] <= 900


def test_the_rules_of_provider_temporary_tokens_hold(krk: Registered, worker: OpWorker) -> None:
    gri = f"token.null.provider_temporary_token,{krk.id}:private"
    too_long = worker.refused(gri, "create", identity_request(31 * 24 * 3600))
    assert too_long["id"] == "tokenTimeCaveatRequired"
    assert too_long["details"] == {"maxTtl": 2592000}
    assert worker.refused(gri, "create", {"type": {"identityToken": {}}})["id"] == "tokenTimeCaveatRequired"
    bad_caveat = worker.refused(gri, "create", {"caveats": [{"type": "time"}]})
    assert bad_caveat["id"] == "badValueCaveat"


def test_only_its_own_tokens_and_only_created(api: Api, krk: Registered, worker: OpWorker) -> None:
    other = register_provider(api, "alice", subdomain="gdn")
    assert (
        worker.refused(f"token.null.provider_temporary_token,{other.id}:private", "create", identity_request(60))["id"]
        == "forbidden"
    )
    assert (
        worker.refused("token.null.provider_temporary_token,nobody-here:private", "create", identity_request(60))["id"]
        == "notFound"
    )
    gri = f"token.null.provider_temporary_token,{krk.id}:private"
    assert worker.refused(gri, "get")["id"] == "notSupported"
    assert worker.refused(gri, "create", identity_request(60), subscribe=True)["id"] == "notSubscribable"
