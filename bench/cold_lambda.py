"""A cold Lambda container serving one request: run by bench/cold.py in a fresh interpreter.

    python bench/cold_lambda.py EVENT_JSON [--dry-record CALLS_PICKLE]

Imports the handler module as the Lambda runtime does, calls it once with the API Gateway event in
EVENT_JSON, and prints `RESULT {"status", "body", "import_ms", "peak_rss_kb"}`. With
`--dry-record`, every AWS call the request makes is written to CALLS_PICKLE as (service, method,
parameters), and its writes are answered as successes instead of being sent: the exact calls of a
request, with its own fresh ids, that the floor (bench/cold_floor.py) can then make for real.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "ChangeResourceRecordSets"}


class LambdaContext:
    """The attributes of the Lambda runtime's context object that the app reads."""

    function_name = "onezone-registry-prod"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:onezone-registry-prod"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def dry_record(calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Record every call made through botocore, and send only the reads."""
    import copy

    import botocore.client
    from botocore import xform_name

    send = botocore.client.BaseClient._make_api_call

    def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append((client.meta.service_model.service_name, xform_name(operation), copy.deepcopy(params)))
        return {} if operation in WRITES else send(client, operation, params)

    botocore.client.BaseClient._make_api_call = record  # type: ignore[method-assign]


def main() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    if "--dry-record" in sys.argv:
        dry_record(calls)
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    import app

    imported = time.perf_counter() - started
    event = json.loads(Path(sys.argv[1]).read_text())
    answer = app.app(event, LambdaContext())
    if "--dry-record" in sys.argv:
        import pickle

        Path(sys.argv[sys.argv.index("--dry-record") + 1]).write_bytes(pickle.dumps(calls))
    peak = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    result = {
        "status": answer["statusCode"],
        "body": answer["body"],
        "import_ms": round(imported * 1000, 2),
        "peak_rss_kb": int(peak[1]) if peak else None,
    }
    print("RESULT " + json.dumps(result), flush=True)
    os._exit(0)  # the answer is out; Lambda freezes the container, it never tears it down


if __name__ == "__main__":
    main()
