"""GraphSync's envelope, module level: the JSON op-worker sends and reads (written out here from
the reference, not built with the codec), and each encoder's inverse."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import OnedataError
from chalicelib.graphsync import codec
from chalicelib.tokens.gri import Gri

HANDSHAKE = {
    "id": "0a1b",
    "type": "request",
    "subtype": "handshake",
    "authOverride": None,
    "payload": {"supportedVersions": [4], "auth": {"token": "opw-T", "macaroon": "opw-T"}, "sessionId": None},
}
GRAPH = {
    "id": "2c3d",
    "type": "request",
    "subtype": "graph",
    "authOverride": None,
    "payload": {
        "gri": "provider.p1.instance:private",
        "operation": "get",
        "data": None,
        "subscribe": True,
        "authHint": None,
    },
}


def test_a_handshake_as_op_worker_sends_it() -> None:
    [request] = codec.decode(json.dumps(HANDSHAKE))
    assert (request.id, request.subtype) == ("0a1b", "handshake")
    handshake = codec.Handshake.from_payload(request.payload)
    assert handshake == codec.Handshake((4,), "opw-T", None)
    assert handshake.to_payload() == HANDSHAKE["payload"]
    assert request.to_message() == HANDSHAKE


@pytest.mark.parametrize(
    ("auth", "token"), [(None, None), ("nobody", None), ({"macaroon": "M"}, "M"), ({"token": "T"}, "T")]
)
def test_every_form_of_auth(auth: object, token: str | None) -> None:
    assert codec.Handshake.from_payload({"supportedVersions": [3, 4], "auth": auth}).token == token


def test_the_handshake_reply_names_the_provider_in_the_old_object_form() -> None:
    reply = codec.HandshakeReply(4, "s1", "p1")
    assert reply.to_data() == {"version": 4, "sessionId": "s1", "identity": {"provider": "p1"}, "attributes": None}
    assert codec.HandshakeReply.from_data(reply.to_data()) == reply


def test_a_graph_request_and_its_inverse() -> None:
    [request] = codec.decode(json.dumps(GRAPH))
    graph = codec.GraphRequest.from_payload(request.payload)
    assert graph == codec.GraphRequest(Gri("provider", "p1", "instance"), "get", None, True, None)
    assert graph.to_payload() == GRAPH["payload"]
    assert codec.decode(codec.encode([request])) == [request]


def test_defaults_of_a_graph_payload_are_ctools() -> None:
    graph = codec.GraphRequest.from_payload({"gri": "provider.p1.instance", "operation": "update"})
    assert (graph.data, graph.subscribe, graph.auth_hint, graph.gri.scope) == ({}, False, None, "private")


def test_a_batch() -> None:
    requests = codec.decode(json.dumps({"batch": [HANDSHAKE, GRAPH]}))
    assert [r.id for r in requests] == ["0a1b", "2c3d"]
    assert codec.decode(codec.encode(requests)) == requests


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({**GRAPH, "type": "response"}),
        json.dumps({**GRAPH, "subtype": "nosub"}),
        json.dumps({**GRAPH, "id": 7}),
        json.dumps({**GRAPH, "payload": "x"}),
        json.dumps({"batch": "x"}),
        json.dumps({"batch": [GRAPH, {}]}),
    ],
)
def test_an_unreadable_envelope_is_bad_message(text: str) -> None:
    with pytest.raises(OnedataError) as raised:
        codec.decode(text)
    assert raised.value.id == "badMessage"


def test_a_message_over_api_gateways_limit_is_bad_message_and_not_echoed_whole() -> None:
    with pytest.raises(OnedataError) as raised:
        codec.decode(json.dumps({**GRAPH, "payload": {"x": "y" * codec.MAX_MESSAGE_BYTES}}))
    assert raised.value.id == "badMessage"
    assert len(raised.value.details["message"]) <= codec.ECHOED_CHARACTERS + 3


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"gri": "provider.p1", "operation": "get"}, "badGRI"),
        ({"gri": 5, "operation": "get"}, "badGRI"),
        ({"gri": "provider.p1.instance", "operation": "list"}, "badMessage"),
        ({"gri": "provider.p1.instance", "operation": "get", "subscribe": "yes"}, "badMessage"),
        ({"gri": "provider.p1.instance", "operation": "get", "data": [1]}, "badMessage"),
    ],
)
def test_an_unreadable_graph_payload(payload: dict, error: str) -> None:
    with pytest.raises(OnedataError) as raised:
        codec.GraphRequest.from_payload(payload)
    assert raised.value.id == error


@pytest.mark.parametrize(
    "payload",
    [{}, {"supportedVersions": "4"}, {"supportedVersions": [True]}, {"supportedVersions": [4], "auth": {"t": 1}}],
)
def test_an_unreadable_handshake(payload: dict) -> None:
    with pytest.raises(OnedataError) as raised:
        codec.Handshake.from_payload(payload)
    assert raised.value.id == "badMessage"


def test_responses_as_ctool_writes_them() -> None:
    request = codec.Request("r1", "graph", {})
    resource = codec.Resource(Gri("provider", "p1", "instance"), 3, {"name": "Krakow"})
    ok = codec.answer(request, codec.result_data(resource))
    assert ok.to_message() == {
        "id": "r1",
        "type": "response",
        "subtype": "graph",
        "payload": {
            "success": True,
            "error": None,
            "data": {
                "format": "resource",
                "resource": {"name": "Krakow", "gri": "provider.p1.instance:private", "revision": 3},
            },
        },
    }
    assert codec.parse_result(codec.Response.from_message(ok.to_message()).data) == resource
    failed = codec.refuse(request, OnedataError("badVersion", supportedVersions=[4]))
    assert failed.to_message()["payload"] == {
        "success": False,
        "error": {
            "id": "badVersion",
            "description": "Bad version - supported versions: [4].",
            "details": {"supportedVersions": [4]},
        },
        "data": {},
    }
    back = codec.Response.from_message(failed.to_message())
    assert back.error is not None
    assert back.error.body() == failed.error.body()


@pytest.mark.parametrize("result", [None, codec.Value("token"), codec.Value({"a": 1})])
def test_other_results(result: codec.Result) -> None:
    assert codec.parse_result(codec.result_data(result)) == result
    if result is not None:
        assert codec.result_data(result) == {"format": "value", "value": result.value}


def test_pushes_as_ctool_writes_them() -> None:
    gri = Gri("provider", "p1", "instance", "private")
    resource = codec.Resource(gri, 5, {"online": True})
    assert codec.updated(gri, resource).to_message() == {
        "type": "push",
        "subtype": "graph",
        "payload": {
            "gri": "provider.p1.instance:private",
            "updateType": "updated",
            "data": {"online": True, "gri": "provider.p1.instance:private", "revision": 5},
        },
    }
    assert codec.deleted(gri).payload == {"gri": "provider.p1.instance:private", "updateType": "deleted", "data": None}
    assert codec.nosub(gri).payload == {"gri": "provider.p1.instance:private", "authHint": None, "reason": "forbidden"}
    error = codec.error_push(OnedataError("badMessage", message="x")).to_message()
    assert error["payload"]["error"]["id"] == "badMessage"
    for push in (codec.updated(gri, resource), codec.deleted(gri), codec.nosub(gri)):
        assert codec.Push.from_message(push.to_message()) == push


def test_an_auto_scope_push_keeps_the_subscribed_gri() -> None:
    subscribed = Gri("provider", "p1", "instance", "auto")
    resource = codec.Resource(Gri("provider", "p1", "instance", "private"), 2, {})
    assert codec.updated(subscribed, resource).payload["data"]["gri"] == "provider.p1.instance:auto"


def test_errors_and_their_inverse() -> None:
    error = OnedataError("unauthorized", authError=OnedataError("tokenInvalid"))
    assert codec.error_from_json(codec.error_json(error)).body() == error.body()
    with pytest.raises(ValueError, match="not an error"):
        codec.error_from_json({"id": "somethingElse"})
