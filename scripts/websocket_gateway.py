"""API Gateway's WebSocket API, played for the app on the local server's port.

What API Gateway does for a deployed WebSocket API, and so what this does:
- The upgrade request becomes a `$connect` event for the app's `@app.on_ws_connect` function. An
  answer outside 2xx (or a failed invocation) refuses the upgrade with that status; otherwise the
  client gets `101` with `Sec-WebSocket-Accept`, and `Sec-WebSocket-Protocol` only if the
  function's answer has that header (API Gateway echoes the function's choice; op-worker sends an
  empty one and expects none back). No extension is negotiated.
- Each whole text message (fragments reassembled) becomes a `$default` event for
  `@app.on_ws_message`; the function's answer goes nowhere (Chalice's routes are one-way). A
  failed invocation sends the client API Gateway's `{"message": "Internal server error", ...}`.
- The close becomes a `$disconnect` event, with the close code (1006 when the connection just
  dropped). It comes after the connection's messages: events of one connection run one at a time,
  in order, beside the reading (on AWS they may overlap).
- The `@connections` API (`POST`/`GET`/`DELETE /@connections/{id}`, under any path prefix such as
  the stage) sends a message, describes the connection, closes it; an unknown or closing
  connection is `410 GoneException`, a message over 128 KB `413 PayloadTooLargeException`.
  Messages go out as text frames (binary if not UTF-8), split into frames of at most 32 KB. No
  SigV4 signature is checked (there is no IAM here).
- Limits (AWS's documented quotas): a client frame over 32 KB or a message over 128 KB closes the
  connection with 1009, a binary frame with 1003; pings get pongs; after 10 minutes without a
  message either way or 2 hours in all, the connection is closed with 1001 ("Going away"). AWS does
  not document whether client pings reset the idle timer: here they do not, the cautious reading.
  `WEBSOCKET_IDLE_TIMEOUT` and `WEBSOCKET_MAX_DURATION` (seconds) change the two timers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from scripts import websocket_codec as codec
from scripts import websocket_events as events
from scripts.local_lambda import Functions

log = logging.getLogger("websocket_gateway")

CONNECTIONS = "/@connections/"
CLOSE_GRACE_SECONDS = 2.0  # how long a closing connection waits for the client's close frame
SEND_TIMEOUT_SECONDS = 10.0  # a client that takes longer to accept a frame is dropped
SUPPORTED_VERSION = "13"

# An HTTP answer: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Limits:
    frame_bytes: int = 32 * 1024
    message_bytes: int = 128 * 1024
    idle_seconds: float = 600.0
    max_seconds: float = 7200.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        defaults = cls()
        return cls(
            idle_seconds=float(env.get("WEBSOCKET_IDLE_TIMEOUT", defaults.idle_seconds)),
            max_seconds=float(env.get("WEBSOCKET_MAX_DURATION", defaults.max_seconds)),
        )


def _tokens(value: str | None) -> set[str]:
    return {token.strip().lower() for token in (value or "").split(",")}


def upgrade_problem(method: str, version: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
    """Why an upgrade request is not one RFC 6455 accepts (status, reason), or None. An empty or
    absent `Sec-WebSocket-Protocol` is fine (op-worker always sends an empty one)."""
    if method != "GET" or version < "HTTP/1.1":
        return 400, "a WebSocket upgrade is a GET of HTTP/1.1"
    if "websocket" not in _tokens(headers.get("Upgrade")) or "upgrade" not in _tokens(headers.get("Connection")):
        return 426, "this path serves WebSocket upgrades only"
    if headers.get("Sec-WebSocket-Version", "").strip() != SUPPORTED_VERSION:
        return 426, "Sec-WebSocket-Version must be 13"
    if not codec.valid_key(headers.get("Sec-WebSocket-Key", "").strip()):
        return 400, "Sec-WebSocket-Key must be the base64 of 16 bytes"
    return None


class Connection:
    """One client connection: its socket, what the events say about it, its close state."""

    def __init__(self, sock: socket.socket, client: events.Client, limits: Limits) -> None:
        self.sock = sock
        self.client = client
        self.limits = limits
        self.started = time.monotonic()
        self.last_active = self.started
        self.last_active_ms = client.connected_at
        self._sending = threading.Lock()
        self.close_sent_at: float | None = None
        self.disconnect: tuple[int, str] | None = None  # (code, reason), the first one that happened
        self.wake_reader, self.wake_writer = socket.socketpair()

    @property
    def id(self) -> str:
        return self.client.connection_id

    @property
    def open(self) -> bool:
        return self.close_sent_at is None and self.disconnect is None

    def touch(self) -> None:
        self.last_active = time.monotonic()
        self.last_active_ms = events.now_ms()

    def seconds_left(self) -> float:
        """Until this connection's next deadline: idle, maximum duration, or the close's grace."""
        if self.close_sent_at is not None:
            return self.close_sent_at + CLOSE_GRACE_SECONDS - time.monotonic()
        now = time.monotonic()
        return min(self.last_active + self.limits.idle_seconds, self.started + self.limits.max_seconds) - now

    def _write(self, frames: list[codec.Frame]) -> None:
        data = b"".join(codec.encode(frame) for frame in frames)
        self.sock.sendall(data)

    def send_frames(self, frames: list[codec.Frame]) -> bool:
        """Frames to the client, unless the connection is closing; False when it is."""
        with self._sending:
            if not self.open:
                return False
            try:
                self._write(frames)
            except OSError:
                self._dropped()
                return False
            return True

    def send_message(self, data: bytes) -> bool:
        """A message, as API Gateway sends `@connections` posts: text (binary if not UTF-8), in
        frames of at most the frame limit."""
        try:
            data.decode("utf-8")
            opcode = codec.Opcode.TEXT
        except UnicodeDecodeError:
            opcode = codec.Opcode.BINARY
        size = self.limits.frame_bytes
        chunks = [data[start : start + size] for start in range(0, len(data), size)] or [b""]
        frames = [
            codec.Frame(opcode if index == 0 else codec.Opcode.CONTINUATION, chunk, fin=index == len(chunks) - 1)
            for index, chunk in enumerate(chunks)
        ]
        sent = self.send_frames(frames)
        if sent:
            self.touch()
        return sent

    def begin_close(self, code: int | None, reason: str) -> None:
        """Send a close frame (once) and let the reader wait for the client's."""
        with self._sending:
            if self.disconnect is None:
                self.disconnect = (code or codec.Close.NO_STATUS, reason)
            if self.close_sent_at is None:
                self.close_sent_at = time.monotonic()
                with contextlib.suppress(OSError):  # a broken socket ends the connection anyway
                    self._write([codec.Frame(codec.Opcode.CLOSE, codec.close_payload(code, reason))])
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # the connection is gone already
            self.wake_writer.send(b"x")

    def _dropped(self) -> None:
        if self.disconnect is None:
            self.disconnect = (codec.Close.ABNORMAL, "Connection dropped")
        self._wake()

    def finish(self) -> None:
        for sock in (self.sock, self.wake_reader, self.wake_writer):
            with contextlib.suppress(OSError):
                sock.close()


class WebsocketApi:
    """One stage of the app's WebSocket API, with its live connections."""

    def __init__(self, functions: Functions, api: events.Api, limits: Limits, port: int) -> None:
        self.functions = functions
        self.api = api
        self.limits = limits
        self.port = port
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    # ---- the upgrade and the connection's life ------------------------------------------------

    def serve(
        self,
        sock: socket.socket,
        rfile: Any,
        client_address: tuple[str, int],
        headers: list[tuple[str, str]],
        query: str,
        respond: Callable[[int, dict[str, str], bytes | None], None],
    ) -> None:
        """Serve an accepted upgrade request (`upgrade_problem` found none) on `sock` until the
        connection ends. `respond` writes the HTTP answer to the upgrade."""
        header_map = {name.lower(): value for name, value in headers}
        client = events.Client(
            connection_id=events.new_id(),
            domain_name=header_map.get("host", f"127.0.0.1:{self.port}"),
            source_ip=client_address[0],
            user_agent=header_map.get("user-agent"),
        )
        try:
            answer = self._invoke("$connect", events.connect(self.api, client, headers, query, self.port))
        except Exception:
            log.exception("the $connect function failed")
            respond(500, {}, None)
            return
        status = int((answer or {}).get("statusCode", 200))
        if not 200 <= status < 300:
            body = (answer or {}).get("body")
            respond(status, {}, body.encode() if isinstance(body, str) and body else None)
            return
        accept = {"Upgrade": "websocket", "Connection": "Upgrade"}
        accept["Sec-WebSocket-Accept"] = codec.accept_key(header_map["sec-websocket-key"].strip())
        protocol = {k.lower(): v for k, v in ((answer or {}).get("headers") or {}).items()}.get(
            "sec-websocket-protocol"
        )
        if protocol:
            accept["Sec-WebSocket-Protocol"] = protocol
        respond(101, accept, None)
        connection = Connection(sock, client, self.limits)
        pending = _buffered(sock, rfile)
        sock.settimeout(SEND_TIMEOUT_SECONDS)
        invocations: queue.Queue[dict[str, Any] | None] = queue.Queue()
        worker = threading.Thread(target=self._run_invocations, args=(connection, invocations), daemon=True)
        worker.start()
        with self._lock:
            self._connections[connection.id] = connection
        try:
            self._read(connection, pending, invocations)
        finally:
            with self._lock:
                self._connections.pop(connection.id, None)
            code, reason = connection.disconnect or (codec.Close.ABNORMAL, "Connection dropped")
            invocations.put(events.disconnect(self.api, client, code, reason))
            invocations.put(None)
            worker.join()
            connection.finish()

    def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        route = self.functions.websocket_route(route_key)
        if route is None:
            return None
        handler, function = route
        return self.functions.invoke(handler, function, event)

    def _run_invocations(self, connection: Connection, invocations: queue.Queue[dict[str, Any] | None]) -> None:
        while (event := invocations.get()) is not None:
            route_key = event["requestContext"]["routeKey"]
            try:
                self._invoke(route_key, event)
            except Exception:
                log.exception("the %s function failed", route_key)
                if route_key != "$disconnect":
                    request_id = event["requestContext"]["requestId"]
                    text = f'{{"message": "Internal server error", "connectionId":"{connection.id}", '
                    text += f'"requestId":"{request_id}"}}'
                    connection.send_message(text.encode())

    def _read(self, connection: Connection, pending: bytes, invocations: queue.Queue[dict[str, Any] | None]) -> None:
        buffer = bytearray(pending)
        fragments: list[bytes] = []
        size = 0
        discarding = False  # after a protocol error nothing more is read as frames
        while True:
            frame = None
            if not discarding and buffer:
                try:
                    frame, used = codec.decode(bytes(buffer), self.limits.frame_bytes)
                    del buffer[:used]
                except EOFError:
                    pass
                except codec.ProtocolError as error:
                    connection.begin_close(error.code, _reason(error))
                    discarding = True
            if frame is None:
                left = connection.seconds_left()
                if left <= 0:
                    if connection.close_sent_at is not None:
                        return  # the client never answered our close
                    connection.begin_close(codec.Close.GOING_AWAY, "Going away")
                    continue
                ready, _, _ = select.select([connection.sock, connection.wake_reader], [], [], left)
                if connection.wake_reader in ready:
                    connection.wake_reader.recv(64)
                    if connection.disconnect is not None and connection.close_sent_at is None:
                        return  # the socket broke while sending
                if connection.sock in ready:
                    try:
                        data = connection.sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        connection._dropped()
                        return
                    if discarding:
                        buffer.clear()
                    else:
                        buffer += data
                continue
            if frame.opcode == codec.Opcode.CLOSE:
                try:
                    code, reason = codec.parse_close(frame.payload)
                except codec.ProtocolError as error:
                    connection.begin_close(error.code, _reason(error))
                    return
                if connection.disconnect is None:
                    connection.disconnect = (code or codec.Close.NO_STATUS, reason)
                connection.begin_close(code, "")  # the client's code echoed, as RFC 6455 asks
                return
            if connection.close_sent_at is not None:
                continue  # closing: only the client's close frame matters now
            problem = self._frame_problem(frame, fragments)
            if problem is not None:
                connection.begin_close(*problem)
                discarding = True
                continue
            if frame.opcode == codec.Opcode.PING:
                connection.send_frames([codec.Frame(codec.Opcode.PONG, frame.payload)])
                continue
            if frame.opcode == codec.Opcode.PONG:
                continue
            fragments.append(frame.payload)
            size += len(frame.payload)
            if size > self.limits.message_bytes:
                connection.begin_close(codec.Close.TOO_BIG, "Message too big")
                discarding = True
                continue
            if not frame.fin:
                continue
            data, fragments, size = b"".join(fragments), [], 0
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                connection.begin_close(codec.Close.INVALID_DATA, "Invalid UTF-8 in a text message")
                discarding = True
                continue
            connection.touch()
            invocations.put(events.message(self.api, connection.client, text))

    @staticmethod
    def _frame_problem(frame: codec.Frame, fragments: list[bytes]) -> tuple[int, str] | None:
        if frame.mask is None:
            return codec.Close.PROTOCOL_ERROR, "Client frames must be masked"
        if frame.rsv:
            return codec.Close.PROTOCOL_ERROR, "No extension was negotiated"
        if frame.opcode == codec.Opcode.BINARY:
            return codec.Close.UNSUPPORTED_DATA, "Binary frames are not supported"
        if frame.opcode == codec.Opcode.CONTINUATION and not fragments:
            return codec.Close.PROTOCOL_ERROR, "A continuation frame without a message"
        if frame.opcode == codec.Opcode.TEXT and fragments:
            return codec.Close.PROTOCOL_ERROR, "A new message before the last one ended"
        return None

    # ---- the @connections API -----------------------------------------------------------------

    def connection(self, connection_id: str) -> Connection | None:
        with self._lock:
            found = self._connections.get(connection_id)
        return found if found is not None and found.open else None

    def manage(self, method: str, path: str, body: bytes) -> Answer | None:
        """An `@connections` request (None when `path` is not one)."""
        if CONNECTIONS not in path:
            return None
        connection_id = unquote(path.rsplit(CONNECTIONS, 1)[1])
        if not connection_id or "/" in connection_id or method not in ("POST", "GET", "DELETE"):
            return _aws_error(404, "NotFoundException", "No method found matching route")
        connection = self.connection(connection_id)
        if connection is None:
            return _aws_error(410, "GoneException", None)
        if method == "POST":
            if len(body) > self.limits.message_bytes:
                return _aws_error(413, "PayloadTooLargeException", "Message too long")
            if not connection.send_message(body):
                return _aws_error(410, "GoneException", None)
            return 200, {}, b""
        if method == "DELETE":
            connection.begin_close(codec.Close.NORMAL, "")
            return 204, {}, b""
        info = {
            "connectedAt": _iso(connection.client.connected_at),
            "identity": {"sourceIp": connection.client.source_ip, "userAgent": connection.client.user_agent or ""},
            "lastActiveAt": _iso(connection.last_active_ms),
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(info).encode()


def _buffered(sock: socket.socket, rfile: Any) -> bytes:
    """What the HTTP reader already read past the upgrade request (a client may send its first
    frames without waiting for the 101), without blocking for more."""
    sock.setblocking(False)
    try:
        pending = rfile.peek()
        return rfile.read(len(pending)) if pending else b""
    finally:
        sock.setblocking(True)


def _reason(error: Exception) -> str:
    return str(error)[:120]  # a close frame's reason fits in its 125 bytes


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aws_error(status: int, code: str, message: str | None) -> Answer:
    """An error as API Gateway's management API sends it: the type in `x-amzn-ErrorType` (what
    botocore reads), a JSON `message`."""
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"message": message}).encode()
