"""A WebSocket client written for the tests from RFC 6455 and op-worker's sources, sharing no code
with the local server: op-worker's upgrade request byte for byte (ctool's `websocket_client`
writes it by hand: `Upgrade: WebSocket`, an `Origin` of `wss://<host>`, an empty
`Sec-WebSocket-Protocol`, no credentials), masked frames, and fragmented server messages
reassembled as op-worker does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
from typing import Any

CHANNEL = "/graph_sync/provider"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def upgrade_request(host: str, key: str, path: str = CHANNEL, extra: str = "") -> bytes:
    """op-worker's handshake (ctool `websocket_client:websocket_handshake/1`)."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nOrigin: wss://{host}\r\nSec-WebSocket-Protocol: \r\n"
        f"Sec-WebSocket-Version: 13{extra}\r\n\r\n"
    ).encode()


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> bytes:
    """A client frame: FIN, opcode, the length in its shortest form, a random mask."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Channel:
    """One connection to the channel path, upgraded the way op-worker does it."""

    def __init__(self, port: int, host: str = "onezone.test", path: str = CHANNEL, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(upgrade_request(host, self.key, path))
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError(f"closed during the handshake: {self.buffer!r}")
            self.buffer += data
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        self.frames: list[tuple[bool, int, bytes]] = []  # every frame received, as received

    def body(self) -> bytes:
        """The body of a refused upgrade (by its Content-Length)."""
        return self._exactly(int(self.headers.get("content-length", "0")))

    @property
    def accepted(self) -> bool:
        digest = hashlib.sha1((self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()  # noqa: S324 - RFC 6455's
        expected = base64.b64encode(digest)
        return self.status == 101 and self.headers.get("sec-websocket-accept") == expected.decode()

    def _exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the TCP connection")
            self.buffer += data
        chunk, self.buffer = self.buffer[:count], self.buffer[count:]
        return chunk

    def frame(self) -> tuple[bool, int, bytes]:
        first, second = self._exactly(2)
        assert not second & 0x80, "server frames are never masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._exactly(8))
        received = (bool(first & 0x80), first & 0x0F, self._exactly(length))
        self.frames.append(received)
        return received

    def message(self) -> tuple[int, bytes]:
        """The next message (fragments joined) or control frame: (opcode, payload)."""
        fin, opcode, payload = self.frame()
        while not fin:
            fin, continuation, more = self.frame()
            assert continuation == CONTINUATION
            payload += more
        return opcode, payload

    def send(self, opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> None:
        self.sock.sendall(client_frame(opcode, payload, fin, mask))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(TEXT, json.dumps(message).encode())

    def receive_json(self) -> Any:
        opcode, payload = self.message()
        assert opcode == TEXT, (opcode, payload)
        return json.loads(payload)

    def call(self, message: dict[str, Any]) -> Any:
        self.send_json(message)
        return self.receive_json()

    def closed_with(self, answer: bool = True) -> tuple[int | None, str]:
        """Wait for the server's close frame, answer it as a client does; its code and reason."""
        while True:
            opcode, payload = self.message()
            if opcode == CLOSE:
                break
        code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
        if answer:
            with contextlib.suppress(OSError):  # the server may have gone already
                self.send(CLOSE, payload[:2])
        return code, payload[2:].decode()

    def close(self, code: int = 1000) -> tuple[int | None, str]:
        """A client-initiated close; the code the server's close answers with."""
        self.send(CLOSE, struct.pack(">H", code) + b"bye")
        return self.closed_with(answer=False)

    def shut(self) -> None:
        self.sock.close()
