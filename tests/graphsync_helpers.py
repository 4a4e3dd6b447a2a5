"""An op-worker in the test process, speaking to the channel's handlers as API Gateway would.

`OpWorker` builds the events API Gateway hands the WebSocket functions (`$connect`, a message,
`$disconnect`) and passes them to `chalicelib.graphsync.channel`; its answers and pushes go out
through the transport (`chalicelib.graphsync.connections`, botocore's `@connections` client) into
moto, whose backend is watched (`Wire`): every message posted to a connection, every connection
closed, and connections made to be gone (`GoneException`). The messages are written out from the
reference here, not built with the app's codec.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from chalice.app import WebsocketEvent
from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend
from moto.core.exceptions import JsonRESTError

from chalicelib import context
from tests.token_helpers import resigned

API_ID = "gsapi01"
STAGE = "api"  # the WebSocket API's stage, as the stages' `api_gateway_stage`
REGION = "us-east-1"
ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"


class Gone(JsonRESTError):
    code = 410

    def __init__(self) -> None:
        super().__init__("GoneException", "the connection is gone")


@dataclass
class Wire:
    """What moto's `@connections` saw: messages posted (decoded), connections closed."""

    sent: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    closed: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def messages(self, connection_id: str) -> list[dict[str, Any]]:
        return self.sent[connection_id]


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    seen = Wire()

    # moto takes the connection id from the URL's path without unquoting it (`=` arrives as `%3D`).
    def post(backend: ApiGatewayManagementApiBackend, data: bytes, connection_id: str) -> None:
        connection_id = unquote(connection_id)
        if connection_id in seen.gone:
            raise Gone()
        seen.sent[connection_id].append(json.loads(data))

    def delete(backend: ApiGatewayManagementApiBackend, connection_id: str) -> None:
        connection_id = unquote(connection_id)
        if connection_id in seen.gone:
            raise Gone()
        seen.closed.append(connection_id)
        seen.gone.add(connection_id)  # API Gateway answers 410 for a closed connection

    monkeypatch.setattr(ApiGatewayManagementApiBackend, "post_to_connection", post)
    monkeypatch.setattr(ApiGatewayManagementApiBackend, "delete_connection", delete)
    return seen


def opw_token(root_token: str, valid_for: int = 900) -> str:
    """What op-worker presents: its root token confined with `time < now + 900`, marked `opw-`."""
    return "opw-" + resigned(root_token, [f"time < {int(time.time()) + valid_for}"])


_ids = itertools.count(1)


class OpWorker:
    """One connection of an op-worker, its events handed to the channel's handlers."""

    def __init__(self, wire: Wire, root_token: str | None = None, source_ip: str = "192.0.2.77") -> None:
        self.wire = wire
        self.root_token = root_token
        self.id = uuid.uuid4().hex[:14] + "="
        self.source_ip = source_ip
        self.connected_at = int(time.time() * 1000)

    def event(self, event_type: str, body: str | None = None) -> WebsocketEvent:
        route = {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}.get(event_type, "$default")
        raw = {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": self.id,
                "connectedAt": self.connected_at,
                "requestTimeEpoch": int(time.time() * 1000),
                "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
                "stage": STAGE,
                "apiId": API_ID,
                "identity": {"sourceIp": self.source_ip},
                "requestId": uuid.uuid4().hex,
                "messageDirection": "IN",
            },
            "isBase64Encoded": False,
        }
        if body is not None:
            raw["body"] = body
        return WebsocketEvent(raw, None)

    def connect(self) -> None:
        from chalicelib.graphsync import channel

        channel.connect(context.current(), self.event("CONNECT"))

    def disconnect(self) -> None:
        from chalicelib.graphsync import channel

        channel.disconnect(context.current(), self.event("DISCONNECT"))

    def send_text(self, text: str) -> list[dict[str, Any]]:
        """Send one message; what came back while it was handled."""
        from chalicelib.graphsync import channel

        before = len(self.wire.messages(self.id))
        channel.receive(context.current(), self.event("MESSAGE", text))
        return self.wire.messages(self.id)[before:]

    def request(self, subtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One request; its response's payload (`success`, `error`, `data`)."""
        request_id = f"{next(_ids):x}"
        message = {"id": request_id, "type": "request", "subtype": subtype, "authOverride": None, "payload": payload}
        answers = [m for m in self.send_text(json.dumps(message)) if m.get("id") == request_id]
        assert len(answers) == 1, answers
        assert (answers[0]["type"], answers[0]["subtype"]) == ("response", subtype)
        return answers[0]["payload"]

    def handshake(self, token: str | None = None, versions: list[int] | None = None) -> dict[str, Any]:
        token = token if token is not None else opw_token(self.root_token or "")
        auth = {"token": token, "macaroon": token}
        return self.request("handshake", {"supportedVersions": versions or [4], "auth": auth, "sessionId": None})

    def graph(self, gri: str, operation: str = "get", data: Any = None, subscribe: bool = False) -> dict[str, Any]:
        payload = {"gri": gri, "operation": operation, "data": data, "subscribe": subscribe, "authHint": None}
        return self.request("graph", payload)

    def ok(self, gri: str, operation: str = "get", data: Any = None, subscribe: bool = False) -> Any:
        """A graph request that must succeed; its `data`."""
        payload = self.graph(gri, operation, data, subscribe)
        assert payload["success"] is True, payload
        assert payload["error"] is None
        return payload["data"]

    def refused(self, gri: str, operation: str = "get", data: Any = None, subscribe: bool = False) -> dict[str, Any]:
        """A graph request that must fail; its error."""
        payload = self.graph(gri, operation, data, subscribe)
        assert payload["success"] is False, payload
        assert payload["data"] == {}
        return payload["error"]

    def pushes(self) -> list[dict[str, Any]]:
        return [m for m in self.wire.messages(self.id) if m["type"] == "push"]


STREAM_FUNCTIONS = {
    "PROVIDERS_TABLE": "provider_pushes",
    "CLUSTERS_TABLE": "cluster_pushes",
    "STORAGES_TABLE": "storage_pushes",
}


class Streams:
    """What Lambda's event source mappings do on AWS, in the test: read the tables' DynamoDB
    streams (moto's) from now on, and hand the app's push functions their records, as the
    events Lambda sends. Each read takes a fresh iterator after the last record seen (moto's
    iterators go stale once a transaction on the table was cancelled, as
    `scripts/event_sources.py` says)."""

    def __init__(self, env: dict[str, str]) -> None:
        import boto3
        from botocore.config import Config

        # botocore's account-based endpoints for DynamoDB Streams are not moto's.
        self.streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        dynamodb = boto3.client("dynamodb")
        self.shards: dict[str, tuple[str, str, str | None]] = {}  # function -> (stream, shard, last seen)
        for table, function in STREAM_FUNCTIONS.items():
            arn = dynamodb.describe_table(TableName=env[table])["Table"]["LatestStreamArn"]
            [shard] = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            records = self._read(arn, shard["ShardId"], None)
            self.shards[function] = (
                arn,
                shard["ShardId"],
                records[-1]["dynamodb"]["SequenceNumber"] if records else None,
            )

    def _read(self, arn: str, shard: str, after: str | None) -> list[dict[str, Any]]:
        where = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **where)["ShardIterator"]
        return list(self.streams.get_records(ShardIterator=iterator)["Records"])

    def deliver(self) -> int:
        """Every record written since the last delivery, to its function; how many."""
        import app

        delivered = 0
        for function, (arn, shard, after) in self.shards.items():
            records = self._read(arn, shard, after)
            if records:
                getattr(app, function)({"Records": [self._as_lambda(r, arn) for r in records]}, None)
                self.shards[function] = (arn, shard, records[-1]["dynamodb"]["SequenceNumber"])
                delivered += len(records)
        return delivered

    @staticmethod
    def _as_lambda(record: dict[str, Any], arn: str) -> dict[str, Any]:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        dynamodb["ApproximateCreationDateTime"] = created.timestamp() if hasattr(created, "timestamp") else time.time()
        return {**record, "dynamodb": dynamodb, "eventSourceARN": arn}


@pytest.fixture
def streams(stack_env: dict[str, str]) -> Streams:
    return Streams(stack_env)
