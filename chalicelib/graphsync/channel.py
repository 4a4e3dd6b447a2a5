"""The channel's three events, as the WebSocket functions of `app.py` receive them.

- `$connect` records nothing: op-worker sends no credentials with its upgrade, a connection is
  nobody's until its handshake, and one that never shakes hands leaves no trace.
- A message is one text frame: a request or a batch of them. A handshake is answered by
  `handshake`; any other request on a connection without one gets `expectedHandshakeMessage`,
  and afterwards each is answered by `requests` as the connection's provider. What cannot be
  read as a request at all is answered with an `error` push (`badMessage`), as cluster-worker
  does. Every answer goes back through `@connections` (`connections.send`); an answer over API
  Gateway's 128 KB becomes an error answer of the same request.
- `$disconnect` forgets the connection (its provider may go offline).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.graphsync import codec, connections, handshake, online
from chalicelib.graphsync import requests as graph_requests
from chalicelib.responses import as_onedata_error
from chalicelib.store import connections as connection_store
from chalicelib.store.connections import ConnectionRecord

if TYPE_CHECKING:
    from chalice.app import WebsocketEvent

log = logging.getLogger(__name__)


def connect(ctx: Context, event: WebsocketEvent) -> None:
    log.info("GraphSync connection %s opened", event.connection_id)


def receive(ctx: Context, event: WebsocketEvent) -> None:
    connection = connections.of_event(ctx, event)
    try:
        batch = codec.decode(event.body)
    except OnedataError as error:
        connections.send(ctx, connection, codec.error_push(error).to_message())
        return
    details = event.to_dict()["requestContext"]
    record: ConnectionRecord | None = None
    for request in batch:
        if request.subtype == "handshake":
            response, record = _handshake(ctx, connection, request, details)
        else:
            response, record = _serve(ctx, connection, request, record)
        if not reply(ctx, connection, response) and record is not None:
            online.unregister(ctx, record)
            return


def _serve(
    ctx: Context, connection: connections.Connection, request: codec.Request, record: ConnectionRecord | None
) -> tuple[codec.Response, ConnectionRecord | None]:
    """A request after the handshake, as the connection's provider (read once per message)."""
    try:
        record = record or connection_store.get(ctx, connection.id)
    except Exception as error:  # noqa: BLE001 - still answered
        return codec.refuse(request, as_onedata_error(error)), None
    if record is None:
        return codec.refuse(request, OnedataError("expectedHandshakeMessage")), None
    return graph_requests.handle(ctx, record, request), record


def _handshake(
    ctx: Context, connection: connections.Connection, request: codec.Request, details: dict[str, Any]
) -> tuple[codec.Response, ConnectionRecord | None]:
    peer_ip = (details.get("identity") or {}).get("sourceIp")
    connected_ms = details.get("connectedAt")
    connected_at = int(connected_ms) // 1000 if isinstance(connected_ms, int) else int(time.time())
    try:
        return handshake.perform(ctx, connection, request, peer_ip, connected_at)
    except Exception as error:  # noqa: BLE001 - a refused handshake is an answer too
        return codec.refuse(request, as_onedata_error(error)), None


def reply(ctx: Context, connection: connections.Connection, response: codec.Response) -> bool:
    """Answer a request; False if the connection is gone."""
    message = response.to_message()
    if len(codec.dumps(message).encode()) > codec.MAX_MESSAGE_BYTES:
        reference = os.urandom(16).hex()
        log.error("internal error, reference %s: the answer to %s exceeds API Gateway's limit", reference, response.id)
        error = OnedataError("internalServerError", reference=reference)
        message = codec.Response(response.id, response.subtype, error=error).to_message()
    return connections.send(ctx, connection, message)


def disconnect(ctx: Context, event: WebsocketEvent) -> None:
    record = connection_store.get(ctx, event.connection_id)
    if record is not None:
        online.unregister(ctx, record)
    log.info("GraphSync connection %s closed", event.connection_id)
