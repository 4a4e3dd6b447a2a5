"""A pytest plugin recording every AWS operation the app's own boto3 clients perform.

The app makes its clients in exactly one place, `chalicelib.aws.new_client`; a session-wide
fixture wraps it so each new client reports its calls through botocore's event system
(`before-parameter-build`, which fires before any `before-call` hook a fault-injection test
adds, so a call that a test makes fail is still recorded). Only calls made by the app's code
count: a call is recorded when the code calling the client method is in `app.py` or
`chalicelib/`, so a test that seeds state through the app's clients (`ctx.aws.route53...`)
does not pass for the app. Calls of the fixtures' own clients (deploying the infra stack into
moto) are not seen at all, nor are those of the `chalice local` subprocess of the black-box tests.

`tests/test_iam_policy.py` holds the recorded calls against the stage policies. This plugin
also runs those tests last, wherever they were collected, and tells them whether the whole
suite ran (`full_run_problem`): only then is "a permission nobody used" meaningful.

Split over processes (`make test` runs the suite on pytest-xdist's workers), no process sees
every call. Then `--aws-calls-out FILE` leaves the policy tests out, gathers each worker's calls
and whether the whole suite ran to a clean end, and writes them to FILE; a second session,
`pytest tests/test_iam_policy.py --aws-calls-in FILE`, judges those.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore
import pytest

from chalicelib import aws

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
POLICY_TESTS = TESTS / "test_iam_policy.py"
APP_CODE = (str(ROOT / "app.py"), str(ROOT / "chalicelib") + os.sep)
LIBRARIES = (*(str(Path(m.__file__).resolve().parent) + os.sep for m in (botocore, boto3)), __file__)


def called_by_app() -> bool:
    """Whether the code that called the client method (the first frame outside botocore, boto3
    and this file) is the app's."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(LIBRARIES):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(APP_CODE)


@dataclass(frozen=True)
class Call:
    """One IAM-authorized action of a recorded call, with what its authorization depends on."""

    action: str  # e.g. dynamodb:PutItem
    table: str | None = None
    secret: str | None = None
    zone_id: str | None = None
    zone_domain: str | None = None  # the app's ZONE_DOMAIN when it made the call
    api_route: str | None = None  # execute-api: `{api id}/{stage}/{method}/@connections/{id}`
    record_names: tuple[str, ...] = ()  # Route 53 normalized: lower case, no trailing dot
    record_types: tuple[str, ...] = ()
    change_actions: tuple[str, ...] = ()

    @classmethod
    def of(cls, service: str, operation: str, params: dict[str, Any], endpoint: str = "") -> list[Call]:
        """A transaction is authorized item by item (`dynamodb:PutItem`, `dynamodb:UpdateItem`,
        `dynamodb:DeleteItem`, `dynamodb:ConditionCheckItem` on each item's table), as IAM does.
        Every `@connections` call is `execute-api:ManageConnections` on the route it takes, in the
        WebSocket API stage its client's endpoint names."""
        if service == "dynamodb" and operation == "TransactWriteItems":
            return [
                cls(f"dynamodb:{kind}Item", table=body.get("TableName"))
                for item in params.get("TransactItems", [])
                for kind, body in item.items()
            ]
        if service == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem", "TransactGetItems"):
            raise AssertionError(f"dynamodb:{operation}: teach tests/aws_calls.py its per-table IAM actions")
        if service == "execute-api":
            url = urlsplit(endpoint)
            api_id, stage = url.hostname.split(".")[0] if url.hostname else "", url.path.strip("/")
            method = CONNECTION_METHODS[operation]
            return [
                cls(
                    "execute-api:ManageConnections",
                    api_route=f"{api_id}/{stage}/{method}/@connections/{params['ConnectionId']}",
                )
            ]
        if service == "route53" and operation == "ChangeResourceRecordSets":
            changes = params.get("ChangeBatch", {}).get("Changes", [])
            return [
                cls(
                    "route53:ChangeResourceRecordSets",
                    zone_id=str(params.get("HostedZoneId", "")).removeprefix("/hostedzone/"),
                    zone_domain=os.environ.get("ZONE_DOMAIN"),
                    record_names=tuple(sorted({c["ResourceRecordSet"]["Name"].lower().rstrip(".") for c in changes})),
                    record_types=tuple(sorted({c["ResourceRecordSet"]["Type"] for c in changes})),
                    change_actions=tuple(sorted({c["Action"] for c in changes})),
                )
            ]
        return [
            cls(
                f"{service}:{operation}",
                table=params.get("TableName"),
                secret=params.get("SecretId"),
                zone_id=str(params["HostedZoneId"]).removeprefix("/hostedzone/") if "HostedZoneId" in params else None,
            )
        ]


CONNECTION_METHODS = {"PostToConnection": "POST", "GetConnection": "GET", "DeleteConnection": "DELETE"}
RECORDED: set[Call] = set()


@dataclass
class _Run:
    deselected: int = 0
    # Read from `--aws-calls-in`: why the session that recorded the calls was not the whole suite
    # run to a clean end (None: it was), and that they were read at all.
    loaded: bool = False
    loaded_problem: str | None = None
    # Gathered from xdist's workers, for `--aws-calls-out`.
    worker_problems: list[str] = dataclasses.field(default_factory=list)


_RUN = _Run()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aws calls", "the app's AWS calls, for tests/test_iam_policy.py")
    group.addoption("--aws-calls-out", metavar="FILE", help="leave the policy tests out; write the calls to FILE")
    group.addoption("--aws-calls-in", metavar="FILE", help="judge the calls a --aws-calls-out session wrote")


def _encode(calls: set[Call]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(call) for call in sorted(calls, key=repr)]


def _decode(rows: list[dict[str, Any]]) -> set[Call]:
    """The exact inverse of `_encode` (JSON has lists where the calls have tuples)."""
    return {Call(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}) for row in rows}


def pytest_configure(config: pytest.Config) -> None:
    source = config.getoption("aws_calls_in", None)
    if source:
        recorded = json.loads(Path(source).read_text())
        RECORDED.update(_decode(recorded["calls"]))
        _RUN.loaded, _RUN.loaded_problem = True, recorded["problem"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = session.config.getoption("aws_calls_out", None)
    if not target:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand its share to the controller
        workeroutput["aws_calls"] = _encode(RECORDED)
        workeroutput["aws_calls_problem"] = _session_problem(session)
        return
    problems = [problem for problem in (_session_problem(session), *_RUN.worker_problems) if problem]
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps({"calls": _encode(RECORDED), "problem": problems[0] if problems else None}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller, as each worker ends: its calls, and whether its share ran cleanly."""
    output = getattr(node, "workeroutput", {})
    if error or "aws_calls" not in output:
        _RUN.worker_problems.append(f"a worker ended abnormally ({error})")
        return
    RECORDED.update(_decode(output["aws_calls"]))
    if output["aws_calls_problem"]:
        _RUN.worker_problems.append(output["aws_calls_problem"])


@pytest.fixture(autouse=True, scope="session")
def record_app_aws_calls() -> Iterator[set[Call]]:
    original = aws.new_client

    def new_client(service_name: str, endpoint_url: str | None = None) -> Any:
        client = original(service_name, endpoint_url)
        # The IAM service prefix; for these four it is the endpoint prefix too.
        service = client.meta.service_model.endpoint_prefix

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            if called_by_app():
                RECORDED.update(Call.of(service, model.name, params, client.meta.endpoint_url))

        client.meta.events.register("before-parameter-build.*.*", record)
        return client

    aws.new_client = new_client
    try:
        yield RECORDED
    finally:
        aws.new_client = original


def pytest_deselected(items: list[pytest.Item]) -> None:
    _RUN.deselected += len(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The policy tests judge what every other test recorded: they run after all of them - or,
    with `--aws-calls-out`, in the session that reads the calls."""
    if config.getoption("aws_calls_out", None):
        items[:] = [item for item in items if Path(str(item.path)) != POLICY_TESTS]
    items.sort(key=lambda item: Path(str(item.path)) == POLICY_TESTS)  # stable: keeps the rest in order


def full_run_problem(session: pytest.Session) -> str | None:
    """Why the calls judged are not those of the whole suite run to a clean end (None when they
    are): this session's, or that of the session which recorded them (`--aws-calls-in`)."""
    if _RUN.loaded:
        return _RUN.loaded_problem
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return "each xdist worker sees only its share of the calls (make test: --aws-calls-out)"
    return _session_problem(session)


def _session_problem(session: pytest.Session) -> str | None:
    """Why this session (or this worker's share of it) is not the whole suite run cleanly."""
    config = session.config
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        if "::" in arg:
            return f"only some tests were selected ({arg})"
        if not TESTS.is_relative_to((base / arg).resolve()):
            return f"only part of tests/ was collected ({arg})"
    if _RUN.deselected:
        return f"{_RUN.deselected} tests were deselected"
    if config.getoption("ignore", None) or config.getoption("ignore_glob", None):
        return "tests were --ignore'd"
    if session.testsfailed:
        return "other tests failed, so some of their calls may be missing"
    return None
