"""An op-worker 21.02.7's GraphSync client, written from the reference, importing nothing of the
app: its own WebSocket framing (RFC 6455) and handshake bytes, its own messages.

What it does as op-worker does (ctool's fork of `websocket_client`, cluster-worker's `gs_client`,
op-worker's `gs_client_worker` and `gs_hooks`):
- the upgrade request written by hand: `GET <path>`, `Host: <zone domain>` (no port),
  `Upgrade: WebSocket`, `Connection: Upgrade`, `Sec-WebSocket-Key`, `Origin: wss://<domain>`,
  an empty `Sec-WebSocket-Protocol`, `Sec-WebSocket-Version: 13`; it checks only the `101` and
  that `Sec-WebSocket-Accept` is there;
- every message one unfragmented, masked text frame; server frames may be fragmented; binary
  frames are dropped; an empty ping now and then (every 15 s in op-worker), pongs ignored;
- the handshake (`supportedVersions: [4]`, its root token confined `time < now + 900` and marked
  `opw-`), read with the basic codec: identity `{"provider": id}`;
- the on-connect steps: its cluster's `workerVersion`, its own record (subscribed), and with
  delegation its IPs and the record again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class Closed(Exception):
    """The server closed the channel (a close frame, or the socket)."""


@dataclass
class OpWorker:
    host: str  # where the zone listens (locally 127.0.0.1)
    port: int
    domain: str  # the zone's domain, from the registration token
    path: str = "/graph_sync/provider"
    sock: socket.socket | None = None
    pushes: list[dict[str, Any]] = field(default_factory=list)
    buffer: bytes = b""
    next_id: int = 0

    # ---- WebSocket ----------------------------------------------------------------------------

    def open(self, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        upgrade = (
            f"GET {self.path} HTTP/1.1\r\n"
            f"Host: {self.domain}\r\n"
            "Upgrade: WebSocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            f"Origin: wss://{self.domain}\r\n"
            "Sec-WebSocket-Protocol: \r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
        )
        self.sock.sendall(upgrade.encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *lines = head.split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        if status_line.split(" ")[1:2] != ["101"] or "sec-websocket-accept" not in headers:
            raise ConnectionError(f"no upgrade: {head!r}")
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324 - RFC 6455
        assert headers["sec-websocket-accept"] == expected

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed("socket closed")
        self.buffer += chunk

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def send_frame(self, opcode: int, payload: bytes = b"") -> None:
        assert self.sock is not None
        header = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            header += bytes([0x80 | size])
        elif size < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", size)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def drain(self) -> None:
        """Read until the server closes the channel (`Closed`)."""
        while True:
            self.receive()

    def ping(self) -> None:
        self.send_frame(PING)

    def _frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._read(8))[0]
        mask = self._read(4) if second & 0x80 else b""
        payload = self._read(size)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    def receive(self) -> dict[str, Any] | None:
        """The next text message (reassembled); None for what op-worker ignores."""
        fin, opcode, payload = self._frame()
        if opcode == CLOSE:
            raise Closed(f"close frame {payload[:2].hex()}")
        if opcode == PING:
            self.send_frame(PONG, payload)
            return None
        if opcode == PONG:
            return None
        parts = [payload]
        while not fin:
            fin, continued, more = self._frame()
            if continued not in (CONTINUATION,):
                raise AssertionError(f"opcode {continued} inside a fragmented message")
            parts.append(more)
        if opcode == BINARY:
            return None  # op-worker drops binary frames
        return json.loads(b"".join(parts))

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.send_frame(CLOSE, struct.pack("!H", 1000))
            self.sock.close()
            self.sock = None
            self.buffer = b""

    # ---- GraphSync ----------------------------------------------------------------------------

    def request(self, subtype: str, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send a request; its response's payload (pushes that come first are kept)."""
        self.next_id += 1
        request_id = f"{self.next_id:x}{os.urandom(4).hex()}"
        message = {"id": request_id, "type": "request", "subtype": subtype, "authOverride": None, "payload": payload}
        self.send_frame(TEXT, json.dumps(message).encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.receive()
            if answer is None:
                continue
            if answer.get("type") == "push":
                self.pushes.append(answer)
            elif answer.get("id") == request_id:
                assert answer["type"] == "response"
                assert answer["subtype"] == subtype
                return answer["payload"]
        raise TimeoutError(f"no answer to {subtype} {payload}")

    def handshake(self, token: str) -> dict[str, Any]:
        auth = {"token": token, "macaroon": token}
        return self.request("handshake", {"supportedVersions": [4], "auth": auth, "sessionId": None})

    def graph(self, gri: str, operation: str = "get", data: Any = None, subscribe: bool = False) -> dict[str, Any]:
        return self.request(
            "graph", {"gri": gri, "operation": operation, "data": data, "subscribe": subscribe, "authHint": None}
        )

    def ok(self, gri: str, operation: str = "get", data: Any = None, subscribe: bool = False) -> Any:
        reply = self.graph(gri, operation, data, subscribe)
        assert reply["success"] is True, reply
        return reply["data"]

    def on_connect(self, provider_id: str, release: str, ips: list[str]) -> dict[str, Any]:
        """gs_hooks' steps after a handshake; the provider's record as it ends."""
        version = {"release": release, "build": "1-g0", "gui": hashlib.sha256(b"op-worker gui").hexdigest()}
        assert self.ok(f"cluster.{provider_id}.instance:private", "update", {"workerVersion": version}) is None
        record = self.ok(f"provider.{provider_id}.instance:private", subscribe=True)["resource"]
        if record["subdomainDelegation"]:
            config = {"subdomainDelegation": True, "subdomain": record["subdomain"], "ipList": ips}
            assert self.ok("provider.self.domain_config:private", "update", config) is None
            record = self.ok(f"provider.{provider_id}.instance:private", subscribe=True)["resource"]
        return record

    def wait_push(self, matches: Any, timeout: float = 15.0) -> dict[str, Any]:
        """The first push (kept or arriving) for which `matches(payload)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            for push in self.pushes:
                if matches(push["payload"]):
                    self.pushes.remove(push)
                    return push
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no such push")
            assert self.sock is not None
            # A frame is read whole once its first byte is here (a timeout mid-frame would tear it).
            if not self.buffer and not select.select([self.sock], [], [], min(remaining, 0.5))[0]:
                continue
            message = self.receive()
            if message is not None and message.get("type") == "push":
                self.pushes.append(message)
