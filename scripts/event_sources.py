"""Lambda's event sources, played for the app's functions that are neither the REST API nor the
WebSocket API: schedules and DynamoDB streams.

What to play is read from the Chalice app object (`app.event_sources`), as `chalice deploy` reads
it, so a function the app declares is run locally without being named here:
- `@app.schedule(Rate(...))`: invoked every rate with the event EventBridge sends
  (`Scheduled Event`); the local run may shorten or turn off a schedule (`intervals`: function
  name -> seconds, 0 for never). Cron schedules are not played (the app declares none).
- `@app.on_dynamodb_record(stream_arn=...)`: the stream is read through the `dynamodbstreams` API
  (the moto server's, in the local run) from its `starting_position`, every half second, as
  Lambda's event source mapping polls it, and each batch of at most `batch_size` records is one
  invocation with Lambda's event shape (`Records`, each with `eventSourceARN`, `eventVersion`
  1.1, `dynamodb.ApproximateCreationDateTime` in epoch seconds, binary values in base64). A
  failed invocation is retried with the same batch, backing off to 30 s, and holds the shard
  until it succeeds: Lambda's behaviour without a retry limit, which is what Chalice configures.
Other event sources (S3, SNS, SQS, Kinesis, CloudWatch events) are reported and not played.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from typing import Any

from chalice.app import DynamoDBEventConfig, Rate, ScheduledEventConfig

from scripts.local_lambda import Functions

log = logging.getLogger("event_sources")

ACCOUNT = "123456789012"  # moto's account
POLL_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
UNIT_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: Any) -> float | None:
    """A schedule's period in seconds: a `Rate` or a `rate(...)` string; None for cron."""
    if isinstance(expression, Rate):
        return float(expression.value * UNIT_SECONDS[expression.unit.lower()])
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", str(expression).strip())
    return float(int(match[1]) * UNIT_SECONDS[match[2].lower()]) if match else None


def scheduled_event(rule: str, region: str) -> dict[str, Any]:
    """What EventBridge sends a scheduled function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def _base64_binaries(value: Any) -> Any:
    """Attribute values as Lambda's JSON has them: `B`/`BS` base64, not bytes."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _base64_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(item) for item in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record of `GetRecords` as Lambda hands it to the function."""
    dynamodb = _base64_binaries({k: v for k, v in record["dynamodb"].items() if k != "ApproximateCreationDateTime"})
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    stamp = created.timestamp() if hasattr(created, "timestamp") else float(created or time.time())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {"ApproximateCreationDateTime": int(stamp), **dynamodb},
        "eventSourceARN": stream_arn,
    }


class Schedule(threading.Thread):
    def __init__(self, functions: Functions, source: ScheduledEventConfig, seconds: float, region: str) -> None:
        super().__init__(name=f"schedule-{source.name}", daemon=True)
        self.functions, self.source, self.seconds, self.region = functions, source, seconds, region

    def run(self) -> None:
        rule = self.functions.deployed_name(self.source.name)
        while True:
            time.sleep(self.seconds)
            try:
                self.functions.invoke(self.source.name, self.source.name, scheduled_event(rule, self.region))
            except Exception:
                log.exception("scheduled function %s failed", self.source.name)


class StreamPoller(threading.Thread):
    """One event source mapping: a DynamoDB stream to one function.

    Each poll asks for a fresh iterator after the last record delivered (`AFTER_SEQUENCE_NUMBER`)
    rather than following `NextShardIterator`: moto's iterators stop seeing new records once a
    transaction on the table was cancelled (its rollback restores a copy of the table, stream
    shard included), and a cancelled transaction is an everyday event here (a taken subdomain, a
    used token). An iterator obtained anew reads the table's current shard. Starting at `LATEST`
    is starting after the last record the stream holds when the poller starts.
    """

    def __init__(self, functions: Functions, source: DynamoDBEventConfig, client: Any, region: str) -> None:
        super().__init__(name=f"stream-{source.name}", daemon=True)
        self.functions, self.source, self.client, self.region = functions, source, client, region
        self.after: dict[str, str | None] = {}  # shard -> the last sequence number delivered
        self.known: set[str] = set()
        self._discover(source.starting_position)

    def _discover(self, position: str) -> None:
        """The shards not read yet: the first ones from the starting position, those that appear
        later - children of a closed shard - from their start."""
        described = self.client.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in described["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self.known:
                continue
            self.known.add(shard_id)
            self.after[shard_id] = self._last_sequence(shard_id) if position == "LATEST" else None

    def _iterator(self, shard_id: str) -> str:
        after = self.after[shard_id]
        where: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if after is not None:
            where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        iterator = self.client.get_shard_iterator(StreamArn=self.source.stream_arn, ShardId=shard_id, **where)
        return str(iterator["ShardIterator"])

    def _last_sequence(self, shard_id: str) -> str | None:
        """The sequence number of the shard's last record now (None if it has none)."""
        last = None
        while True:
            where = (
                {"ShardIteratorType": "TRIM_HORIZON"}
                if last is None
                else {
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                    "SequenceNumber": last,
                }
            )
            iterator = self.client.get_shard_iterator(StreamArn=self.source.stream_arn, ShardId=shard_id, **where)
            records = self.client.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
            if not records:
                return last
            last = records[-1]["dynamodb"]["SequenceNumber"]

    def run(self) -> None:
        while True:
            try:
                self._poll()
            except Exception:
                log.exception("reading the stream of %s failed", self.source.name)
                time.sleep(MAX_BACKOFF_SECONDS)
            time.sleep(POLL_SECONDS)

    def _poll(self) -> None:
        for shard_id in list(self.after):
            answer = self.client.get_records(ShardIterator=self._iterator(shard_id), Limit=self.source.batch_size)
            if answer["Records"]:
                self._deliver(answer["Records"])
                self.after[shard_id] = answer["Records"][-1]["dynamodb"]["SequenceNumber"]
            if not answer.get("NextShardIterator"):  # the shard is closed: its children carry on
                del self.after[shard_id]
                self._discover("TRIM_HORIZON")

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        event = {"Records": [lambda_record(r, self.source.stream_arn, self.region) for r in records]}
        backoff = 1.0
        while True:
            try:
                self.functions.invoke(self.source.name, self.source.name, event)
                return
            except Exception:
                log.exception("stream function %s failed; retrying in %.0f s", self.source.name, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def start(functions: Functions, intervals: dict[str, float], region: str, streams: Any) -> list[threading.Thread]:
    """Start playing every event source of the app; `streams` is a `dynamodbstreams` client."""
    started: list[threading.Thread] = []
    for source in functions.app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            seconds = intervals.get(source.name, rate_seconds(source.schedule_expression))
            if not seconds:
                log.info("scheduled function %s: not run locally", source.name)
                continue
            started.append(Schedule(functions, source, seconds, region))
        elif isinstance(source, DynamoDBEventConfig):
            started.append(StreamPoller(functions, source, streams, region))
        else:
            log.warning("event source %s (%s) is not played locally", source.name, type(source).__name__)
    for thread in started:
        thread.start()
    return started
