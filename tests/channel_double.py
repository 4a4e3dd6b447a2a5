"""A test double of the GraphSync channel (`chalicelib.graphsync.channel`), for the transport's
black-box tests: the real `app.py` WebSocket functions call it exactly as they will call the
channel, and it answers through the real transport (`chalicelib.graphsync.connections`, botocore's
`@connections` client) so a test client can see every part of the path.

A message is a JSON object whose `test` says what to do:
- `echo`: answers `{"echo": <the message>}`;
- `events`: answers `{"connect": <this connection's $connect event>, "message": <this event>}`;
- `size`: answers `{"data": "xxx..."}` of `bytes` bytes in all;
- `send`: sends `{"hello": true}` to connection `to` and answers `{"sent": <send's result>}`;
- `close`: closes this connection through `@connections`;
- `listen`: this connection is told of every other connection's `$disconnect`
  (`{"disconnected": <event>}`) and of the test stream's records (`{"records": <event>}`);
- `fail`: raises, as a broken function would.
A `$connect` with `?refuse=1` raises too. Its state lives in the local server's process.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import DynamoDBEvent, WebsocketEvent

from chalicelib import context
from chalicelib.context import Context
from chalicelib.graphsync import connections

CONNECTS: dict[str, dict[str, Any]] = {}
LISTENERS: dict[str, connections.Connection] = {}


def connect(ctx: Context, event: WebsocketEvent) -> None:
    if (event.to_dict().get("queryStringParameters") or {}).get("refuse"):
        raise RuntimeError("refused by the test")
    CONNECTS[event.connection_id] = event.to_dict()


def receive(ctx: Context, event: WebsocketEvent) -> None:
    connection = connections.of_event(ctx, event)
    message = json.loads(event.body)
    kind = message.get("test")
    if kind == "echo":
        connections.send(ctx, connection, {"echo": message})
    elif kind == "events":
        connections.send(ctx, connection, {"connect": CONNECTS.get(connection.id), "message": event.to_dict()})
    elif kind == "size":
        padding = int(message["bytes"]) - len(connections.encode({"data": ""}))
        connections.send(ctx, connection, {"data": "x" * padding})
    elif kind == "send":
        other = connections.Connection(message["to"], connection.endpoint)
        connections.send(ctx, connection, {"sent": connections.send(ctx, other, {"hello": True})})
    elif kind == "close":
        connections.close(ctx, connection)
    elif kind == "listen":
        LISTENERS[connection.id] = connection
        connections.send(ctx, connection, {"listening": True})
    elif kind == "fail":
        raise RuntimeError("failed by the test")


def _tell_listeners(ctx: Context, message: dict[str, Any]) -> None:
    for listener in list(LISTENERS.values()):
        if not connections.send(ctx, listener, message):
            LISTENERS.pop(listener.id, None)


def disconnect(ctx: Context, event: WebsocketEvent) -> None:
    LISTENERS.pop(event.connection_id, None)
    CONNECTS.pop(event.connection_id, None)
    _tell_listeners(ctx, {"disconnected": event.to_dict()})


def records(event: DynamoDBEvent) -> None:
    _tell_listeners(context.current(), {"records": event.to_dict()})
