"""The channel's transport: messages out to a WebSocket connection through API Gateway's
`@connections` API, and closing it.

A connection is known by its id and by the endpoint of the `@connections` API that reaches it
(`Connection`). The endpoint is that of the WebSocket API stage the connection came through,
`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`, derived from the event
(`of_event`), unless the `CONNECTIONS_API_ENDPOINT` setting names another (the local run points
it at the local server, which plays API Gateway). A function that is not the WebSocket API's -
a stream handler, a schedule - reaches a connection from a stored `Connection`
(`to_item`/`from_item`), since it has no WebSocket event to derive it from.

Messages are JSON, sent as the body of `PostToConnection`, which API Gateway hands the client as
a text message (split into frames of at most 32 KB); a message may have at most 128 KB (beyond,
API Gateway refuses it: `PayloadTooLargeException`, raised to the caller). A connection that is
gone (`GoneException`, 410) is not an error here: `send` says so and `close` has nothing to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import aws
from chalicelib.config import ConfigurationError

if TYPE_CHECKING:
    from chalice.app import WebsocketEvent

    from chalicelib.context import Context

GONE = "GoneException"


@dataclass(frozen=True)
class Connection:
    id: str
    endpoint: str  # the @connections API's endpoint for this connection

    def to_item(self) -> dict[str, str]:
        """The connection as stored beside its state (the inverse of `from_item`)."""
        return {"connectionId": self.id, "endpoint": self.endpoint}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Connection:
        return cls(id=str(item["connectionId"]), endpoint=str(item["endpoint"]))


def endpoint(ctx: Context, api_id: str, stage: str) -> str:
    """Where the `@connections` API of a WebSocket API stage is."""
    if ctx.settings.connections_api_endpoint:
        return ctx.settings.connections_api_endpoint
    region = aws.region()
    if region is None:
        raise ConfigurationError("no AWS region to derive the @connections endpoint from")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{api_id}.execute-api.{region}.{suffix}/{stage}"


def of_event(ctx: Context, event: WebsocketEvent) -> Connection:
    """The connection a WebSocket event came from."""
    request = event.to_dict()["requestContext"]
    return Connection(id=request["connectionId"], endpoint=endpoint(ctx, request["apiId"], request["stage"]))


def encode(message: dict[str, Any]) -> bytes:
    """A message as it goes on the wire: compact UTF-8 JSON (the inverse of `decode`)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes | str) -> Any:
    return json.loads(data)


def _gone(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == GONE


def send(ctx: Context, connection: Connection, message: dict[str, Any]) -> bool:
    """Send one message; False when the connection is gone."""
    try:
        ctx.aws.connections(connection.endpoint).post_to_connection(ConnectionId=connection.id, Data=encode(message))
    except Exception as error:
        if _gone(error):
            return False
        raise
    return True


def close(ctx: Context, connection: Connection) -> None:
    """Close the connection (API Gateway then sends its `$disconnect`); nothing if it is gone."""
    try:
        ctx.aws.connections(connection.endpoint).delete_connection(ConnectionId=connection.id)
    except Exception as error:
        if not _gone(error):
            raise
