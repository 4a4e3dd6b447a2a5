"""RFC 6455 on the wire: the opening handshake's accept key, frames, and close payloads, each
encoder beside its exact inverse.

Standard library only. The local server plays API Gateway's WebSocket API with it (chalice's local
server has no WebSocket support); no product code imports it. The tests' op-worker does not use
it either: it writes its own bytes, so a mistake here cannot hide behind the same mistake there.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
MAX_CONTROL_PAYLOAD = 125


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        return self >= Opcode.CLOSE


class Close(IntEnum):
    """The close codes the local server sends (RFC 6455 section 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005  # never sent: what a close frame without a code means
    ABNORMAL = 1006  # never sent: the connection dropped without a close frame
    INVALID_DATA = 1007
    TOO_BIG = 1009
    INTERNAL_ERROR = 1011


class ProtocolError(ValueError):
    """The peer broke RFC 6455; `code` is the close code to answer with."""

    def __init__(self, message: str, code: int = Close.PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


class FrameTooLarge(ProtocolError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"a frame of {length} bytes exceeds {limit}", Close.TOO_BIG)


def accept_key(key: str) -> str:
    """`Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")  # noqa: S324 - RFC 6455 mandates SHA-1


def valid_key(key: str) -> bool:
    """A `Sec-WebSocket-Key` is the base64 of 16 bytes (RFC 6455 section 4.1)."""
    try:
        return len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
    except (ValueError, UnicodeEncodeError):
        return False


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes = b""
    fin: bool = True
    mask: bytes | None = None  # the 4-byte key of a masked (client) frame
    rsv: int = 0  # the three reserved bits, 0 unless an extension was negotiated


def _masked(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def encode(frame: Frame) -> bytes:
    """The frame's bytes; masked with `frame.mask` when it has one."""
    first = (0x80 if frame.fin else 0) | (frame.rsv & 0x7) << 4 | frame.opcode & 0xF
    length = len(frame.payload)
    mask_bit = 0x80 if frame.mask is not None else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if frame.mask is None:
        return header + frame.payload
    if len(frame.mask) != 4:
        raise ValueError("a mask has 4 bytes")
    return header + frame.mask + _masked(frame.payload, frame.mask)


def read(recv_exactly: Callable[[int], bytes], max_payload: int) -> Frame:
    """The next frame from a stream (`recv_exactly(n)` returns exactly n bytes or raises), with
    its payload unmasked; the inverse of `encode`. A payload longer than `max_payload` is refused
    from the header alone, before it is read."""
    first, second = struct.unpack("!BB", recv_exactly(2))
    fin, rsv, opcode = bool(first & 0x80), (first >> 4) & 0x7, first & 0xF
    masked, length = bool(second & 0x80), second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", recv_exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", recv_exactly(8))
        if length >> 63:
            raise ProtocolError("the most significant bit of a 64-bit length must be 0")
    if opcode not in Opcode._value2member_map_:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if Opcode(opcode).is_control and (not fin or length > MAX_CONTROL_PAYLOAD):
        raise ProtocolError("control frames are unfragmented, with at most 125 bytes")
    if length > max_payload:
        raise FrameTooLarge(length, max_payload)
    mask = recv_exactly(4) if masked else None
    payload = recv_exactly(length) if length else b""
    return Frame(opcode, _masked(payload, mask) if mask else payload, fin, mask, rsv)


def decode(data: bytes, max_payload: int = 1 << 63) -> tuple[Frame, int]:
    """The first frame in `data` and how many bytes it took (`read` over a buffer)."""
    offset = 0

    def take(count: int) -> bytes:
        nonlocal offset
        if offset + count > len(data):
            raise EOFError("incomplete frame")
        chunk = data[offset : offset + count]
        offset += count
        return chunk

    frame = read(take, max_payload)
    return frame, offset


def close_payload(code: int | None, reason: str = "") -> bytes:
    """A close frame's payload: no code at all, or the code and a UTF-8 reason."""
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode("utf-8")


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """The inverse of `close_payload`: (code or None, reason)."""
    if not payload:
        return None, ""
    if len(payload) == 1:
        raise ProtocolError("a close payload has no code or at least two bytes")
    (code,) = struct.unpack("!H", payload[:2])
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        raise ProtocolError(f"close code {code} may not be sent")
    try:
        return code, payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the close reason is not UTF-8", Close.INVALID_DATA) from None
