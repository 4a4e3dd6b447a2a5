"""Black-box: the local server playing API Gateway's WebSocket API and Lambda's event sources.

The client is `tests/wsclient.py` (op-worker's handshake bytes, its own framing). Two servers:
- the session's `make run` (`local`): what it answers for bad upgrades, `@connections` of unknown
  connections, and every malformed HTTP request - always Onedata JSON;
- `gateway`: the same `scripts/local_server.py`, on the same moto server, serving the real app
  with a test double of the GraphSync channel (`tests/transport_app.py`, `tests/channel_double.py`)
  and short idle and maximum durations, so that messages go through `app.py`'s WebSocket
  functions and back through botocore's `@connections` client before the protocol exists.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from infra import stack
from scripts import run_local
from tests.localrun import ROOT, LocalRun, free_port
from tests.wsclient import BINARY, CHANNEL, CLOSE, CONTINUATION, PING, PONG, TEXT, Channel, client_frame

pytestmark = pytest.mark.blackbox

IDLE_SECONDS = 3
MAX_SECONDS = 6
FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024
TEST_TABLE = "transport-test-records"
MERGE = yaml.safe_load((ROOT / "infra" / "chalice-merge.yaml").read_text())["Resources"]
TEMPLATES = {
    r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"]["application/json"] for r in MERGE.values()
}


def client_of(service: str, endpoint: str) -> Any:
    """A boto3 client of the local run (its moto server, or the local server's `@connections`)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )


@dataclass
class Gateway:
    port: int
    moto: str
    stream_arn: str

    def connections(self) -> Any:
        """botocore's `@connections` client, pointed at the local server as the app's is."""
        return client_of("apigatewaymanagementapi", f"http://127.0.0.1:{self.port}/local")

    def channel(self, **kwargs: Any) -> Channel:
        channel = Channel(self.port, **kwargs)
        assert channel.accepted, (channel.status, channel.buffer)
        return channel


@pytest.fixture(scope="module")
def gateway(local: LocalRun) -> Iterator[Gateway]:
    moto = f"http://127.0.0.1:{local.moto_port}"
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    with pytest.MonkeyPatch.context() as patch:  # only while reading the stack and making the table
        patch.setenv("AWS_ENDPOINT_URL", moto)
        outputs = stack.environment(session)
        table = session.client("dynamodb").create_table(
            TableName=TEST_TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **outputs,
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CONNECTIONS_API_ENDPOINT": f"http://127.0.0.1:{port}/local",
        "WEBSOCKET_IDLE_TIMEOUT": str(IDLE_SECONDS),
        "WEBSOCKET_MAX_DURATION": str(MAX_SECONDS),
        "LOCAL_SCHEDULES": "reconcile_dns=0",  # the session's run reconciles the zone already
        "TEST_STREAM_ARN": table["LatestStreamArn"],
    }
    command = [sys.executable, str(ROOT / "scripts" / "local_server.py"), "127.0.0.1", str(port), "local"]
    server = run_local.start([*command, "--preload", "tests.transport_app"], env)  # its output: pytest's
    try:
        run_local.wait_for_port("127.0.0.1", port, server)
        yield Gateway(port, moto, table["LatestStreamArn"])
    finally:
        run_local.stop(server)


# ---- the upgrade ------------------------------------------------------------------------------


def test_op_workers_upgrade_is_accepted_with_an_empty_subprotocol(gateway: Gateway) -> None:
    channel = Channel(gateway.port)
    assert channel.accepted
    assert channel.headers["upgrade"].lower() == "websocket"
    assert "sec-websocket-protocol" not in channel.headers  # none chosen: op-worker expects none
    assert "sec-websocket-extensions" not in channel.headers
    assert channel.close() == (1000, "")


def test_the_app_gets_api_gateways_events(gateway: Gateway) -> None:
    channel = gateway.channel()
    sent = {"test": "events", "text": "zażółć"}
    answer = channel.call(sent)
    connect, message = answer["connect"], answer["message"]
    context = connect["requestContext"]
    assert (context["routeKey"], context["eventType"], context["messageId"]) == ("$connect", "CONNECT", None)
    assert context["domainName"] == "onezone.test"
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] is None  # op-worker sends none
    assert len(context["apiId"]) == 10
    assert isinstance(context["connectedAt"], int)
    assert isinstance(context["requestTimeEpoch"], int)
    headers = connect["headers"]
    assert headers["Origin"] == "wss://onezone.test"
    assert headers["Sec-WebSocket-Protocol"] == ""
    assert headers["Sec-WebSocket-Key"] == channel.key
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert "Upgrade" not in headers
    assert "Connection" not in headers
    assert connect["multiValueHeaders"]["Origin"] == ["wss://onezone.test"]
    assert connect["isBase64Encoded"] is False

    request = message["requestContext"]
    assert (request["routeKey"], request["eventType"]) == ("$default", "MESSAGE")
    assert request["messageId"]
    assert request["messageDirection"] == "IN"
    assert request["connectionId"] == context["connectionId"]
    assert request["connectedAt"] == context["connectedAt"]
    assert request["requestId"] != context["requestId"]
    assert json.loads(message["body"]) == sent
    assert message["isBase64Encoded"] is False
    assert "headers" not in message
    channel.close()


def test_text_frames_both_ways_and_pings_get_pongs(gateway: Gateway) -> None:
    channel = gateway.channel()
    assert channel.call({"test": "echo", "n": 1}) == {"echo": {"test": "echo", "n": 1}}
    channel.send(PING, b"are you there")
    assert channel.message() == (PONG, b"are you there")
    channel.send(PING, b"")
    assert channel.message() == (PONG, b"")
    assert channel.call({"test": "echo", "n": 2}) == {"echo": {"test": "echo", "n": 2}}
    assert all(opcode in (TEXT, PONG) for _, opcode, _ in channel.frames)
    channel.close()


def test_a_refused_connect_refuses_the_upgrade_in_onedata_json(gateway: Gateway) -> None:
    refused = Channel(gateway.port, path=CHANNEL + "?refuse=1")
    assert refused.status == 500
    assert refused.headers["content-type"] == "application/json"
    body = json.loads(refused.body())
    assert body["error"]["id"] == "internalServerError"
    refused.shut()


# ---- messages and their limits ----------------------------------------------------------------


def message_of(size: int, **fields: Any) -> bytes:
    """A JSON message of exactly `size` bytes."""
    base = json.dumps({**fields, "pad": ""}).encode()
    return json.dumps({**fields, "pad": "x" * (size - len(base))}).encode()


def test_fragmented_messages_up_to_the_limit_are_one_message(gateway: Gateway) -> None:
    channel = gateway.channel()
    data = message_of(MESSAGE_LIMIT, test="size", bytes=40)
    sizes = [7] * 10 + [FRAME_LIMIT] * 4  # small frames, then full ones
    frames, start = [], 0
    for size in sizes:
        if start < len(data):
            frames.append(data[start : start + size])
            start += size
    assert start >= len(data)
    assert max(map(len, frames)) <= FRAME_LIMIT
    for index, chunk in enumerate(frames):
        channel.send(TEXT if index == 0 else CONTINUATION, chunk, fin=index == len(frames) - 1)
        if index == 3:
            channel.send(PING, b"between")  # control frames may come between fragments
    assert channel.message() == (PONG, b"between")
    assert len(json.dumps(channel.receive_json(), separators=(",", ":"))) == 40
    channel.close()


def test_server_messages_over_a_frame_come_in_frames_of_32_kb(gateway: Gateway) -> None:
    channel = gateway.channel()
    channel.send_json({"test": "size", "bytes": 100_000})
    answer = channel.receive_json()
    assert len(json.dumps(answer, separators=(",", ":"))) == 100_000
    frames = channel.frames
    assert [opcode for _, opcode, _ in frames] == [TEXT, CONTINUATION, CONTINUATION, CONTINUATION]
    assert [fin for fin, _, _ in frames] == [False, False, False, True]
    assert max(len(payload) for _, _, payload in frames) == FRAME_LIMIT
    channel.close()


def test_a_message_the_app_cannot_send_is_reported_as_api_gateway_does(gateway: Gateway) -> None:
    channel = gateway.channel()
    channel.send_json({"test": "size", "bytes": MESSAGE_LIMIT})
    assert len(json.dumps(channel.receive_json(), separators=(",", ":"))) == MESSAGE_LIMIT
    channel.send_json({"test": "size", "bytes": MESSAGE_LIMIT + 1})  # PayloadTooLargeException
    failed = channel.receive_json()
    assert set(failed) == {"message", "connectionId", "requestId"}
    assert failed["message"] == "Internal server error"
    channel.send_json({"test": "fail"})
    assert channel.receive_json()["message"] == "Internal server error"
    assert channel.call({"test": "echo"}) == {"echo": {"test": "echo"}}  # still open
    channel.close()


@pytest.mark.parametrize(
    ("case", "frames", "code"),
    [
        ("a frame over 32 KB", [client_frame(TEXT, message_of(FRAME_LIMIT + 1, test="echo"))], 1009),
        (
            "a message over 128 KB",
            [
                *(client_frame(TEXT if i == 0 else CONTINUATION, b"x" * FRAME_LIMIT, fin=False) for i in range(4)),
                client_frame(CONTINUATION, b"x"),
            ],
            1009,
        ),
        ("a binary frame", [client_frame(BINARY, b"\x00\x01")], 1003),
        ("an unmasked frame", [client_frame(TEXT, b'{"test": "echo"}', mask=False)], 1002),
        ("a continuation of nothing", [client_frame(CONTINUATION, b"x")], 1002),
        ("invalid UTF-8", [client_frame(TEXT, b'{"test": "\xff"}')], 1007),
        ("a fragmented ping", [client_frame(PING, b"x", fin=False)], 1002),
    ],
)
def test_what_api_gateway_refuses_closes_the_connection(
    gateway: Gateway, case: str, frames: list[bytes], code: int
) -> None:
    channel = gateway.channel()
    channel.sock.sendall(b"".join(frames))
    assert channel.closed_with()[0] == code, case


# ---- @connections and $disconnect -------------------------------------------------------------


def connection_id(channel: Channel) -> str:
    return str(channel.call({"test": "events"})["message"]["requestContext"]["connectionId"])


def test_connections_api_describes_closes_and_reports_gone(gateway: Gateway) -> None:
    client = gateway.connections()
    channel = gateway.channel()
    conn_id = connection_id(channel)
    described = client.get_connection(ConnectionId=conn_id)
    assert described["Identity"]["SourceIp"] == "127.0.0.1"
    assert described["ConnectedAt"] <= described["LastActiveAt"]

    client.post_to_connection(ConnectionId=conn_id, Data=b'{"from": "outside"}')
    assert channel.receive_json() == {"from": "outside"}

    client.delete_connection(ConnectionId=conn_id)
    assert channel.closed_with()[0] == 1000
    for call in (
        lambda: client.get_connection(ConnectionId=conn_id),
        lambda: client.post_to_connection(ConnectionId=conn_id, Data=b"{}"),
        lambda: client.delete_connection(ConnectionId=conn_id),
    ):
        with pytest.raises(ClientError) as gone:
            call()
        assert gone.value.response["Error"]["Code"] == "GoneException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_the_app_closes_and_is_told_of_gone_connections(gateway: Gateway) -> None:
    first, second = gateway.channel(), gateway.channel()
    second_id = connection_id(second)
    assert first.call({"test": "send", "to": second_id}) == {"sent": True}
    assert second.receive_json() == {"hello": True}
    second.send_json({"test": "close"})
    assert second.closed_with()[0] == 1000
    assert first.call({"test": "send", "to": second_id}) == {"sent": False}
    first.close()


def test_every_close_becomes_a_disconnect_event(gateway: Gateway) -> None:
    listener = gateway.channel()
    assert listener.call({"test": "listen"}) == {"listening": True}
    for how, code in (("close", 4000), ("drop", 1006)):
        other = gateway.channel()
        other_id = connection_id(other)
        if how == "close":
            assert other.close(4000) == (4000, "")
        else:
            other.shut()
        event = listener.receive_json()["disconnected"]
        context = event["requestContext"]
        assert (context["connectionId"], context["disconnectStatusCode"]) == (other_id, code)
        assert (context["routeKey"], context["eventType"]) == ("$disconnect", "DISCONNECT")
        assert context["domainName"] == "onezone.test"
        assert event["headers"]["Host"] == "onezone.test"
    listener.close()


def test_idle_connections_are_closed_after_the_idle_timeout(gateway: Gateway) -> None:
    channel = gateway.channel()
    channel.send(PING, b"")  # a ping is no message: it does not count as activity
    assert channel.message() == (PONG, b"")
    assert channel.closed_with() == (1001, "Going away")


def test_connections_end_at_the_maximum_duration_however_busy(gateway: Gateway) -> None:
    channel = gateway.channel()
    started = time.monotonic()
    while True:
        channel.send_json({"test": "echo"})
        opcode, payload = channel.message()
        if opcode == CLOSE:
            break
        assert time.monotonic() - started < MAX_SECONDS + IDLE_SECONDS, "never closed"
        time.sleep(IDLE_SECONDS / 4)
    assert struct.unpack(">H", payload[:2])[0] == 1001


# ---- Lambda's event sources -------------------------------------------------------------------


def test_stream_records_reach_the_apps_stream_handler(gateway: Gateway) -> None:
    listener = gateway.channel()
    assert listener.call({"test": "listen"}) == {"listening": True}
    dynamodb = client_of("dynamodb", gateway.moto)
    item = {"id": {"S": os.urandom(4).hex()}, "blob": {"B": b"\x00\xff"}, "n": {"N": "7"}}
    dynamodb.put_item(TableName=TEST_TABLE, Item=item)
    [record] = listener.receive_json()["records"]["Records"]
    assert record["eventName"] == "INSERT"
    assert (record["eventSource"], record["eventVersion"]) == ("aws:dynamodb", "1.1")
    assert record["eventSourceARN"] == gateway.stream_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["dynamodb"]["Keys"] == {"id": item["id"]}
    assert record["dynamodb"]["NewImage"] == {**item, "blob": {"B": "AP8="}}  # base64, as Lambda sends it
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    dynamodb.delete_item(TableName=TEST_TABLE, Key={"id": item["id"]})
    [removed] = listener.receive_json()["records"]["Records"]
    assert removed["eventName"] == "REMOVE"
    assert removed["dynamodb"]["OldImage"]["n"] == {"N": "7"}
    listener.close()


# ---- `make run` itself ------------------------------------------------------------------------


def raw(local: LocalRun, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to `make run`; the status, headers and body it answers."""
    with socket.create_connection(("127.0.0.1", urlsplit(local.host).port or 80), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
            head, _, body = received.partition(b"\r\n\r\n")
            lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if lengths and len(body) >= int(lengths[0].split(b":")[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def gateway_body(kind: str) -> dict[str, Any]:
    return json.loads(TEMPLATES[kind].replace("$context.requestId", "REFERENCE"))


MALFORMED = {
    "TRACE": (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 404, "MISSING_AUTHENTICATION_TOKEN"),
    "CONNECT": (b"CONNECT onezone.test:443 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "MISSING_AUTHENTICATION_TOKEN"),
    "an unknown method": (b"BREW /api/v3/onezone/configuration HTTP/1.1\r\n\r\n", 404, "MISSING_AUTHENTICATION_TOKEN"),
    "a 70 KB header": (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "DEFAULT_4XX"),
    "101 headers": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
        431,
        "DEFAULT_4XX",
    ),
    "a 70 KB request line": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "DEFAULT_4XX"),
    "a request line of four words": (b"GET / x HTTP/1.1\r\n\r\n", 400, "DEFAULT_4XX"),
    "a bad version": (b"GET / HTTP/one\r\n\r\n", 400, "DEFAULT_4XX"),
    "HTTP/2 in the clear": (b"GET / HTTP/2.0\r\n\r\n", 505, "DEFAULT_5XX"),
    "HTTP/0.9": (b"GET /nagios\r\n", 400, "DEFAULT_4XX"),
    "TLS to the plain port": (
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32 + b"\r\n\r\n",
        400,
        "DEFAULT_4XX",
    ),
    "a bad Content-Length": (
        b"POST /api/v3/onezone/providers HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
        400,
        "DEFAULT_4XX",
    ),
    "a body over 10 MB": (
        b"POST /api/v3/onezone/providers HTTP/1.1\r\nContent-Length: 10485761\r\n\r\n",
        413,
        "DEFAULT_4XX",
    ),
    "a plain GET of the channel": (b"GET /graph_sync/provider HTTP/1.1\r\nHost: x\r\n\r\n", 426, "DEFAULT_4XX"),
    "a POST to the channel": (b"POST /graph_sync/provider HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400, "DEFAULT_4XX"),
    "an upgrade of version 8": (
        b"GET /graph_sync/provider HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        426,
        "DEFAULT_4XX",
    ),
    "an upgrade without a key": (
        b"GET /graph_sync/provider HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
        400,
        "DEFAULT_4XX",
    ),
    "an upgrade of HTTP/1.0": (
        b"GET /graph_sync/provider HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        400,
        "DEFAULT_4XX",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_every_answer_of_make_run_is_onedata_json(local: LocalRun, case: str) -> None:
    request, status, kind = MALFORMED[case]
    answered, headers, body = raw(local, request)
    assert answered == status, case
    assert headers["content-type"] == "application/json", case
    error = json.loads(body)
    expected = gateway_body(kind)
    if kind == "DEFAULT_5XX":
        reference = error["error"]["details"]["reference"]
        expected = json.loads(json.dumps(expected).replace("REFERENCE", reference))
    assert error == expected, case
    if status == 426 and "upgrade" in case:
        assert headers["sec-websocket-version"] == "13"


def test_make_runs_connections_api_knows_no_stranger(local: LocalRun) -> None:
    client = client_of("apigatewaymanagementapi", local.host)
    for call in (client.get_connection, client.delete_connection):
        with pytest.raises(ClientError) as gone:
            call(ConnectionId="NoSuchOne123456=")
        assert gone.value.response["Error"]["Code"] == "GoneException"
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId="NoSuchOne123456=", Data=b"{}")
    assert gone.value.response["Error"]["Code"] == "GoneException"
