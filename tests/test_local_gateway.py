"""Module tests of what the local server builds to play AWS for the app: API Gateway's WebSocket
events, the upgrade checks, Lambda's DynamoDB and scheduled events, the gateway responses."""

from __future__ import annotations

import datetime
import json
import re

import boto3
import pytest
from botocore.config import Config
from chalice.app import DynamoDBEvent, DynamoDBEventConfig, Rate
from moto import mock_aws

from chalicelib import errors
from scripts import event_sources, local_server, run_local
from scripts import websocket_events as events
from scripts.websocket_gateway import Limits, upgrade_problem

API = events.Api("abcde12345", "api")
ID = re.compile(r"^[A-Za-z0-9]{15}=$")


def client() -> events.Client:
    return events.Client(events.new_id(), "onezone.example.com", "192.0.2.7", None, connected_at=1_600_000_000_000)


def test_connect_event_has_the_upgrade_requests_headers_as_api_gateway_passes_them() -> None:
    headers = [
        ("Host", "onezone.example.com"),
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Protocol", ""),
        ("X-Twice", "1"),
        ("X-Twice", "2"),
    ]
    event = events.connect(API, client(), headers, "a=1&a=2&b=", 443, "https")
    assert event["headers"] == {
        "Host": "onezone.example.com",
        "Sec-WebSocket-Protocol": "",
        "X-Twice": "2",
        "X-Forwarded-For": "192.0.2.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    assert event["multiValueHeaders"]["X-Twice"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    context = event["requestContext"]
    assert (context["routeKey"], context["eventType"], context["messageId"]) == ("$connect", "CONNECT", None)
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (None, None)
    assert ID.match(context["connectionId"])
    assert ID.match(context["requestId"])
    assert context["extendedRequestId"] == context["requestId"]
    assert context["identity"]["sourceIp"] == "192.0.2.7"
    assert set(context["identity"]) == set(events.IDENTITY_FIELDS)
    assert (context["apiId"], context["stage"], context["domainName"]) == ("abcde12345", "api", "onezone.example.com")
    assert "queryStringParameters" not in events.connect(API, client(), headers, "", 443)


def test_message_and_disconnect_events() -> None:
    connection = client()
    message = events.message(API, connection, '{"x": 1}')
    assert set(message) == {"requestContext", "body", "isBase64Encoded"}
    assert message["body"] == '{"x": 1}'
    context = message["requestContext"]
    assert (context["routeKey"], context["eventType"], context["messageDirection"]) == ("$default", "MESSAGE", "IN")
    assert ID.match(context["messageId"])
    assert context["connectedAt"] == 1_600_000_000_000
    assert context["requestTimeEpoch"] >= context["connectedAt"]
    stamp = datetime.datetime.strptime(context["requestTime"], "%d/%b/%Y:%H:%M:%S %z")
    assert abs(stamp.timestamp() * 1000 - context["requestTimeEpoch"]) < 1000
    gone = events.disconnect(API, connection, 1001, "Going away")
    context = gone["requestContext"]
    assert (context["routeKey"], context["eventType"]) == ("$disconnect", "DISCONNECT")
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1001, "Going away")
    assert gone["headers"]["Host"] == "onezone.example.com"
    assert context["connectionId"] == connection.connection_id


def test_request_time_is_common_log_format() -> None:
    assert events.request_time(1607854667185) == "13/Dec/2020:10:17:47 +0000"


OP_WORKER = {
    "Host": "onezone.test",
    "Upgrade": "WebSocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Origin": "wss://onezone.test",
    "Sec-WebSocket-Protocol": "",
    "Sec-WebSocket-Version": "13",
}


@pytest.mark.parametrize(
    ("method", "version", "change", "status"),
    [
        ("GET", "HTTP/1.1", {}, None),
        ("GET", "HTTP/1.1", {"Connection": "keep-alive, Upgrade", "Upgrade": "websocket"}, None),
        ("POST", "HTTP/1.1", {}, 400),
        ("GET", "HTTP/1.0", {}, 400),
        ("GET", "HTTP/1.1", {"Upgrade": ""}, 426),
        ("GET", "HTTP/1.1", {"Connection": "keep-alive"}, 426),
        ("GET", "HTTP/1.1", {"Sec-WebSocket-Version": "8"}, 426),
        ("GET", "HTTP/1.1", {"Sec-WebSocket-Key": "short"}, 400),
    ],
)
def test_upgrade_requests(method: str, version: str, change: dict[str, str], status: int | None) -> None:
    problem = upgrade_problem(method, version, {**OP_WORKER, **change})
    assert (problem[0] if problem else None) == status


def test_limits_default_to_aws_quotas_and_the_timers_are_settings() -> None:
    assert Limits.from_env({}) == Limits(32 * 1024, 128 * 1024, 600.0, 7200.0)
    shortened = Limits.from_env({"WEBSOCKET_IDLE_TIMEOUT": "2", "WEBSOCKET_MAX_DURATION": "5.5"})
    assert (shortened.idle_seconds, shortened.max_seconds) == (2.0, 5.5)


def test_stream_records_become_lambdas_dynamodb_records() -> None:
    created = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    record = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"id": {"S": "p1"}},
            "NewImage": {"id": {"S": "p1"}, "b": {"B": b"\x01"}, "bs": {"BS": [b"\x02"]}, "l": {"L": [{"B": b"\x03"}]}},
            "SequenceNumber": "11",
            "SizeBytes": 30,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    arn = "arn:aws:dynamodb:eu-central-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
    converted = event_sources.lambda_record(record, arn, "eu-central-1")
    assert converted["eventSourceARN"] == arn
    assert (converted["eventVersion"], converted["awsRegion"]) == ("1.1", "eu-central-1")
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == int(created.timestamp())
    assert converted["dynamodb"]["NewImage"] == {
        "id": {"S": "p1"},
        "b": {"B": "AQ=="},
        "bs": {"BS": ["Ag=="]},
        "l": {"L": [{"B": "Aw=="}]},
    }
    json.dumps(converted)  # what Lambda hands the function is JSON
    [parsed] = DynamoDBEvent({"Records": [converted]}, None)  # and Chalice reads it
    assert parsed.timestamp == datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert parsed.sequence_number == "11"


def test_schedules_run_at_their_rate_unless_the_local_run_says_otherwise() -> None:
    assert event_sources.rate_seconds(Rate(5, unit=Rate.MINUTES)) == 300
    assert event_sources.rate_seconds(Rate(1, unit=Rate.HOURS)) == 3600
    assert event_sources.rate_seconds("rate(2 days)") == 172800
    assert event_sources.rate_seconds("cron(0 12 * * ? *)") is None
    event = event_sources.scheduled_event("onezone-registry-local-reconcile_dns", "us-east-1")
    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/onezone-registry-local-reconcile_dns"]
    assert local_server.intervals({"LOCAL_SCHEDULES": "reconcile_dns=2.5, keepalive=0"}) == {
        "reconcile_dns": 2.5,
        "keepalive": 0.0,
    }
    env = run_local.local_server_env({"DNS_RECONCILE_INTERVAL": "0", "LOCAL_SCHEDULES": "x=1"}, "127.0.0.1", 8000)
    assert env == {"CONNECTIONS_API_ENDPOINT": "http://127.0.0.1:8000", "LOCAL_SCHEDULES": "reconcile_dns=0.0,x=1"}


def test_the_servers_own_answers_are_the_gateway_responses() -> None:
    assert local_server.gateway_answer(404) == (
        404,
        {"Content-Type": "application/json"},
        json.dumps({"error": errors.OnedataError("notFound").body()}).encode(),
    )
    status, _, body = local_server.gateway_answer(431)
    assert (status, json.loads(body)) == (431, {"error": errors.OnedataError("badMessage").body()})
    status, _, body = local_server.gateway_answer(502, "ref-1")
    assert (status, json.loads(body)) == (502, {"error": errors.internal("ref-1").body()})


def test_the_channel_path_is_the_fronts() -> None:
    assert local_server.CHANNEL_PATH == "/graph_sync/provider"


def test_a_stream_is_read_on_after_a_cancelled_transaction() -> None:
    """moto's shard iterators go stale once a transaction on the table was cancelled (its
    rollback restores a copy of the table); the poller takes a fresh iterator each time."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="polled",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        arn = dynamodb.describe_table(TableName="polled")["Table"]["LatestStreamArn"]
        dynamodb.put_item(TableName="polled", Item={"k": {"S": "before"}})  # LATEST: not delivered
        delivered: list[str] = []

        class Functions:
            def invoke(self, _handler: str, _function: str, event: dict) -> None:
                delivered.extend(r["dynamodb"]["Keys"]["k"]["S"] for r in event["Records"])

        streams = boto3.client(
            "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
        )
        source = DynamoDBEventConfig("f", "app.f", arn, 100, "LATEST", 0)
        poller = event_sources.StreamPoller(Functions(), source, streams, "us-east-1")  # type: ignore[arg-type]
        dynamodb.put_item(TableName="polled", Item={"k": {"S": "a"}})
        poller._poll()
        taken = {
            "Put": {"TableName": "polled", "Item": {"k": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(k)"}
        }
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[taken])
        dynamodb.put_item(TableName="polled", Item={"k": {"S": "b"}})
        poller._poll()
        poller._poll()
        assert delivered == ["a", "b"]
