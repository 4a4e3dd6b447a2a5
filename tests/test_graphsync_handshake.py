"""The handshake, module level: a provider's channel through the channel's handlers (moto behind
`@connections`), every way it can be refused, and what a refusal tells op-worker."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib import context
from chalicelib.store import providers as provider_store
from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire, opw_token
from tests.provider_helpers import Registered, client_error, inject, recover, register_provider, scan
from tests.token_helpers import access_token, forged, resigned


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


def test_a_provider_shakes_hands_and_comes_online(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)
    worker.connect()
    assert api.call("GET", "/provider", headers=krk.headers).json_body["online"] is False
    reply = worker.handshake()
    assert reply == {
        "success": True,
        "error": None,
        "data": {"version": 4, "sessionId": worker.id, "identity": {"provider": krk.id}, "attributes": None},
    }
    assert api.call("GET", "/provider", headers=krk.headers).json_body["online"] is True
    stored = provider_store.TABLE.get(context.current(), krk.id)
    assert stored.revision == 2  # coming online is a change of the provider
    worker.disconnect()
    assert api.call("GET", "/provider", headers=krk.headers).json_body["online"] is False
    assert provider_store.TABLE.get(context.current(), krk.id).revision == 3


def not_recorded(api: Api, krk: Registered) -> None:
    """A refused handshake leaves no trace: no connection, the provider unchanged and offline."""
    stored = provider_store.TABLE.get(context.current(), krk.id)
    assert (stored.connections, stored.revision) == ([], 1)
    assert scan(api, "CONNECTIONS_TABLE") == []


def auth_error(reply: dict) -> str | None:
    assert reply["success"] is False
    assert reply["error"]["id"] == "unauthorized", reply
    return reply["error"].get("details", {}).get("authError", {}).get("id")


def test_no_common_version_is_bad_version_with_ours(api: Api, krk: Registered, wire: Wire) -> None:
    reply = OpWorker(wire, krk.root_token).handshake(versions=[3])
    assert reply["error"] == {
        "id": "badVersion",
        "description": "Bad version - supported versions: [4].",
        "details": {"supportedVersions": [4]},
    }
    assert reply["data"] == {}
    not_recorded(api, krk)


def test_token_invalid_only_when_the_provider_is_gone(api: Api, krk: Registered, wire: Wire) -> None:
    token = opw_token(krk.root_token)
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert auth_error(OpWorker(wire).handshake(token)) == "tokenInvalid"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        # a time caveat that expired: op-worker mints a new token and retries
        (lambda root: "opw-" + resigned(root, [f"time < {int(time.time()) - 1}"]), "tokenCaveatUnverified"),
        # confined to another interface
        (lambda root: "opw-" + resigned(root, ["interface = rest"]), "tokenCaveatUnverified"),
        # not a token at all
        (lambda root: "opw-notatoken0", "badToken"),
        # a signature this zone did not make, naming a provider that exists: not "deregistered"
        (lambda root: "opw-" + forged(root), None),
    ],
    ids=["expired", "other interface", "garbage", "forged"],
)
def test_other_failures_are_never_token_invalid(api: Api, krk: Registered, wire: Wire, make, expected) -> None:
    reply = OpWorker(wire, krk.root_token).handshake(make(krk.root_token))
    assert auth_error(reply) == expected
    not_recorded(api, krk)


def test_the_graphsync_interface_caveat_holds(api: Api, krk: Registered, wire: Wire) -> None:
    token = "opw-" + resigned(krk.root_token, ["interface = graphsync", f"time < {int(time.time()) + 900}"])
    assert OpWorker(wire).handshake(token)["success"] is True


def test_no_credentials_and_users_are_refused(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire)
    reply = worker.request("handshake", {"supportedVersions": [4], "auth": None, "sessionId": None})
    assert auth_error(reply) is None
    user = api.create_user("bob")
    reply = worker.handshake(access_token(user))
    assert reply["error"]["id"] == "forbidden"
    not_recorded(api, krk)


def test_aws_failing_is_a_temporary_failure_not_a_refusal(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)
    token = opw_token(krk.root_token)
    inject("dynamodb", "GetItem", client_error("ThrottlingException", "GetItem"))
    reply = worker.handshake(token)
    assert reply["error"]["id"] == "temporaryFailure"
    recover()
    assert worker.handshake(token)["success"] is True


def test_nothing_is_served_before_the_handshake(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)
    worker.connect()
    assert worker.refused(f"provider.{krk.id}.instance:private")["id"] == "expectedHandshakeMessage"
    assert worker.request("unsub", {"gri": f"provider.{krk.id}.instance:private"})["error"]["id"] == (
        "expectedHandshakeMessage"
    )
    not_recorded(api, krk)
    assert worker.handshake()["success"] is True
    assert worker.handshake()["error"]["id"] == "handshakeAlreadyDone"
    assert worker.ok(f"provider.{krk.id}.instance:private")["resource"]["name"] == "Krakow DC"


def test_what_is_no_request_gets_an_error_push(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)
    [push] = worker.send_text("{not json")
    assert push == {
        "type": "push",
        "subtype": "error",
        "payload": {
            "error": {
                "id": "badMessage",
                "description": "This message could not be understood by the server.",
                "details": {"message": "{not json"},
            }
        },
    }


def test_a_batch_is_answered_request_by_request(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)
    token = opw_token(krk.root_token)
    batch = [
        {
            "id": "a",
            "type": "request",
            "subtype": "handshake",
            "payload": {"supportedVersions": [4], "auth": {"token": token}},
        },
        {
            "id": "b",
            "type": "request",
            "subtype": "graph",
            "payload": {"gri": "provider.self.instance:protected", "operation": "get"},
        },
    ]
    answers = worker.send_text(json.dumps({"batch": batch}))
    assert [(a["id"], a["payload"]["success"]) for a in answers] == [("a", True), ("b", True)]
    assert answers[1]["payload"]["data"]["resource"]["online"] is True
