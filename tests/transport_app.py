"""What `scripts/local_server.py --preload tests.transport_app` loads before the app: the test
double of the channel in place of `chalicelib.graphsync.channel`, and a test-only stream handler
on the real app for the table `TEST_STREAM_ARN` names (its records go to the double's listeners).
Everything else - `app.py`'s WebSocket functions, the transport, the local server's API Gateway
and Lambda event sources - is the real thing."""

from __future__ import annotations

import os
import sys

import chalicelib.graphsync
from tests import channel_double

sys.modules["chalicelib.graphsync.channel"] = channel_double
chalicelib.graphsync.channel = channel_double  # type: ignore[attr-defined]

import app  # noqa: E402 - after the double is in place

app.app.on_dynamodb_record(stream_arn=os.environ["TEST_STREAM_ARN"], name="test_stream_records")(channel_double.records)
