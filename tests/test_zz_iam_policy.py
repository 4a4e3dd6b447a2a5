"""The stage IAM policies allow exactly what the app calls (runs last: see `tests/aws_calls.py`).

Every AWS operation the suite made through the app's clients must be allowed by each stage's
policy on the resource it named; and, when the whole suite ran, every action a policy allows
must have been used - so adding an AWS call without updating the policy fails, and so does a
permission nobody needs.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from tests.aws_calls import RECORDED, Call

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}  # Lambda's own logging


def policy(stage: str) -> list[dict[str, Any]]:
    return json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def resource_arn(call: Call, stage: str) -> str:
    """The ARN the call would touch in `stage`: the tests' `-local` names mapped to the stage's."""
    names = dict(call.params)
    if "TableName" in names:
        return "arn:aws:dynamodb:eu-central-1:123456789012:table/" + names["TableName"].replace("-local-", f"-{stage}-")
    if "SecretId" in names:
        name = names["SecretId"].split(":secret:")[-1].replace("-local-", f"-{stage}-")
        return f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:{name}"
    if "HostedZoneId" in names:
        return "arn:aws:route53:::hostedzone/SET_BY_scripts/stage_env.py"
    raise AssertionError(f"no resource parameter recorded for {call}")


def allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and action in as_list(s["Action"])
        and any(fnmatch.fnmatchcase(arn, pattern) for pattern in as_list(s["Resource"]))
        for s in statements
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_recorded_call_is_allowed(stage: str) -> None:
    assert RECORDED, "no AWS call was recorded: is tests/aws_calls.py loaded?"
    refused = sorted(
        f"{call.service}:{call.operation} on {resource_arn(call, stage)}"
        for call in RECORDED
        if not allowed(policy(stage), f"{call.service}:{call.operation}", resource_arn(call, stage))
    )
    assert refused == []


@pytest.mark.parametrize("stage", STAGES)
def test_nothing_is_allowed_that_is_never_called(stage: str, request: pytest.FixtureRequest) -> None:
    test_files = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    ran = {Path(str(item.fspath)).name for item in request.session.items}
    if not test_files <= ran:
        pytest.skip("only meaningful when the whole suite ran")
    granted = {action for s in policy(stage) for action in as_list(s["Action"])} - LOGS
    used = {f"{call.service}:{call.operation}" for call in RECORDED}
    assert granted == used


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcards(stage: str) -> None:
    for statement in policy(stage):
        assert all("*" not in action for action in as_list(statement["Action"]))
        if statement["Sid"] != "Logs":
            assert all(not resource.endswith(":*") for resource in as_list(statement["Resource"]))
