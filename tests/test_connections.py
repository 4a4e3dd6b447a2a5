"""The channel's transport (`chalicelib/graphsync/connections.py`) and `app.py`'s WebSocket
functions, inside moto's `mock_aws`: where a connection's `@connections` endpoint is, what goes
out through it, and that each function hands its event to the channel. (What the client sees,
and connections that are gone, are in `tests/test_websocket_blackbox.py`: moto keeps every
connection alive.)"""

from __future__ import annotations

import sys
import types
from typing import Any
from urllib.parse import unquote

import pytest
from chalice.app import WebsocketEvent
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

import chalicelib.graphsync
from chalicelib import context
from chalicelib.graphsync import connections
from scripts import websocket_events as events


def ws_event(kind: str = "message", stage: str = "api") -> dict[str, Any]:
    api, client = events.Api("abc123defg", stage), events.Client(events.new_id(), "x", "192.0.2.1", None)
    if kind == "connect":
        return events.connect(api, client, [("Host", "x")], "", 443)
    if kind == "disconnect":
        return events.disconnect(api, client, 1000, "")
    return events.message(api, client, '{"id": "1"}')


def moto_connections() -> dict[str, Any]:
    """moto's connections, by id (moto keeps the ids as they were in the URL: percent-encoded)."""
    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return {unquote(name): connection for name, connection in backend.connections.items()}


def test_a_connection_is_reached_through_its_own_websocket_api_stage(stack_env: dict[str, str]) -> None:
    event = ws_event(stage="prod-stage")
    connection = connections.of_event(context.current(), WebsocketEvent(event, None))
    assert connection.id == event["requestContext"]["connectionId"]
    assert connection.endpoint == "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod-stage"


def test_the_local_run_points_every_connection_at_the_local_server(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTIONS_API_ENDPOINT", "http://127.0.0.1:8000/")
    context.reset()
    connection = connections.of_event(context.current(), WebsocketEvent(ws_event(), None))
    assert connection.endpoint == "http://127.0.0.1:8000"


def test_stored_connections_and_messages_round_trip() -> None:
    connection = connections.Connection("AbCdEfGhIjKlMnO=", "https://abc.execute-api.eu-west-1.amazonaws.com/api")
    assert connections.Connection.from_item(connection.to_item()) == connection
    message = {"id": "1", "payload": {"data": "zażółć", "n": [1, 2.5, None]}}
    assert connections.decode(connections.encode(message)) == message
    assert connections.encode({"a": "ż"}) == '{"a":"ż"}'.encode()


def test_send_posts_the_message_and_close_deletes_the_connection(stack_env: dict[str, str]) -> None:
    ctx = context.current()
    connection = connections.of_event(ctx, WebsocketEvent(ws_event(), None))
    assert connections.send(ctx, connection, {"type": "push", "payload": {"x": 1}}) is True
    assert connections.send(ctx, connection, {"id": "2"}) is True
    assert moto_connections()[connection.id].data == b'{"type":"push","payload":{"x":1}}{"id":"2"}'
    connections.close(ctx, connection)
    assert connection.id not in moto_connections()
    # One client per endpoint, kept for the container's life.
    assert ctx.aws.connections(connection.endpoint) is ctx.aws.connections(connection.endpoint)
    assert ctx.aws.connections(connection.endpoint) is not ctx.aws.connections(connection.endpoint + "x")


class ChannelDouble(types.ModuleType):
    """Stands in for `chalicelib.graphsync.channel`: records what the functions hand it."""

    def __init__(self) -> None:
        super().__init__("chalicelib.graphsync.channel")
        self.calls: list[tuple[str, Any, WebsocketEvent]] = []
        for name in ("connect", "receive", "disconnect"):
            setattr(self, name, lambda ctx, event, name=name: self.calls.append((name, ctx, event)))


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelDouble:
    double = ChannelDouble()
    monkeypatch.setitem(sys.modules, "chalicelib.graphsync.channel", double)
    monkeypatch.setattr(chalicelib.graphsync, "channel", double, raising=False)
    return double


@pytest.mark.parametrize(
    ("function", "kind", "called"),
    [
        ("graph_sync_connect", "connect", "connect"),
        ("graph_sync_message", "message", "receive"),
        ("graph_sync_disconnect", "disconnect", "disconnect"),
    ],
)
def test_each_websocket_function_hands_its_event_to_the_channel(
    stack_env: dict[str, str], channel: ChannelDouble, function: str, kind: str, called: str
) -> None:
    import app

    event = ws_event(kind)
    answer = getattr(app, function)(event, None)  # as the Lambda runtime calls the deployed function
    assert answer == {"statusCode": 200}  # what API Gateway needs to accept a $connect
    [(name, ctx, received)] = channel.calls
    assert (name, ctx) == (called, context.current())
    assert isinstance(received, WebsocketEvent)
    assert received.to_dict() == event
    assert app.app.websocket_handlers[event["requestContext"]["routeKey"]].name == function
