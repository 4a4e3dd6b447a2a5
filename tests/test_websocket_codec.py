"""The local server's RFC 6455 codec (`scripts/websocket_codec.py`): RFC 6455's own examples,
each encoder against its inverse, and what must be refused from the header alone."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scripts import websocket_codec as codec

OPCODES = [op.value for op in codec.Opcode]


def test_accept_key_of_rfc_6455_section_1_3() -> None:
    assert codec.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_keys_are_the_base64_of_16_bytes() -> None:
    assert codec.valid_key("dGhlIHNhbXBsZSBub25jZQ==")
    for bad in ("", "dGhlIHNhbXBsZQ==", "not base64 at all!!", "dGhlIHNhbXBsZSBub25jZQ", "zażółć"):
        assert not codec.valid_key(bad), bad


def test_the_examples_of_rfc_6455_section_5_7() -> None:
    unmasked = bytes([0x81, 0x05]) + b"Hello"
    masked = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    assert codec.encode(codec.Frame(codec.Opcode.TEXT, b"Hello")) == unmasked
    assert codec.encode(codec.Frame(codec.Opcode.TEXT, b"Hello", mask=bytes([0x37, 0xFA, 0x21, 0x3D]))) == masked
    assert codec.decode(masked) == (codec.Frame(codec.Opcode.TEXT, b"Hello", mask=masked[2:6]), len(masked))
    first = bytes([0x01, 0x03]) + b"Hel"  # a fragmented unmasked text message
    assert codec.decode(first)[0] == codec.Frame(codec.Opcode.TEXT, b"Hel", fin=False)
    ping = bytes([0x89, 0x05]) + b"Hello"
    assert codec.decode(ping)[0] == codec.Frame(codec.Opcode.PING, b"Hello")
    assert codec.encode(codec.Frame(codec.Opcode.BINARY, b"\x00" * 256))[:4] == bytes([0x82, 0x7E, 0x01, 0x00])
    assert codec.encode(codec.Frame(codec.Opcode.BINARY, b"\x00" * 65536))[:10] == bytes(
        [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
    )


@given(
    opcode=st.sampled_from([codec.Opcode.TEXT, codec.Opcode.BINARY, codec.Opcode.CONTINUATION]),
    payload=st.one_of(st.binary(max_size=300), st.sampled_from([b"x" * 125, b"x" * 126, b"x" * 65535, b"x" * 65536])),
    fin=st.booleans(),
    mask=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
    rsv=st.integers(0, 7),
)
def test_decode_is_the_inverse_of_encode(opcode: int, payload: bytes, fin: bool, mask: bytes | None, rsv: int) -> None:
    frame = codec.Frame(opcode, payload, fin, mask, rsv)
    data = codec.encode(frame)
    assert codec.decode(data + b"next frame") == (frame, len(data))
    with pytest.raises(EOFError):
        codec.decode(data[:-1])


@given(code=st.sampled_from([1000, 1001, 1002, 1003, 1007, 1009, 1011, 3000, 4999]), reason=st.text(max_size=40))
def test_parse_close_is_the_inverse_of_close_payload(code: int, reason: str) -> None:
    assert codec.parse_close(codec.close_payload(code, reason)) == (code, reason)
    assert codec.parse_close(codec.close_payload(None)) == (None, "")


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"\x03", 1002), (struct.pack("!H", 1005), 1002), (struct.pack("!H", 999), 1002), (b"\x03\xe8\xff", 1007)],
)
def test_bad_close_payloads_are_refused(payload: bytes, code: int) -> None:
    with pytest.raises(codec.ProtocolError) as refused:
        codec.parse_close(payload)
    assert refused.value.code == code


def test_a_frame_over_the_limit_is_refused_from_its_header_alone() -> None:
    header = bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 40)  # a terabyte announced, nothing sent
    with pytest.raises(codec.FrameTooLarge) as refused:
        codec.decode(header, max_payload=32 * 1024)
    assert refused.value.code == codec.Close.TOO_BIG
    exact = codec.encode(codec.Frame(codec.Opcode.TEXT, b"x" * 32 * 1024))
    assert codec.decode(exact, max_payload=32 * 1024)[1] == len(exact)


@pytest.mark.parametrize(
    "data",
    [
        bytes([0x83, 0x00]),  # opcode 3 is reserved
        bytes([0x8B, 0x00]),  # so is 0xB
        bytes([0x09, 0x00]),  # a fragmented ping
        bytes([0x89, 0x7E, 0x00, 0x7E]) + b"x" * 126,  # a ping over 125 bytes
        bytes([0x81, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),  # a 64-bit length with its top bit set
    ],
)
def test_frames_rfc_6455_forbids_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(codec.ProtocolError) as refused:
        codec.decode(data)
    assert refused.value.code == codec.Close.PROTOCOL_ERROR


def test_a_mask_has_four_bytes() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        codec.encode(codec.Frame(codec.Opcode.TEXT, b"x", mask=b"abc"))
