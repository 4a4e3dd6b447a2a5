"""The stage IAM policies allow exactly what the app calls.

`tests/aws_calls.py` records every AWS call the app's own clients make during the suite and runs
these tests after all the others. Two directions:
- every recorded call must be allowed by each stage's policy, on the resource it named and under
  the policy's conditions - so new code making an AWS call the policy lacks fails here, in any
  run that exercises that code;
- when the whole suite ran to a clean end, every action of every statement must have been used
  by some call that statement allows - so a permission nobody needs fails too. A partial run
  skips this direction (it cannot know what the skipped tests would have called).

The tests deploy the infra stack as `onezone-registry-local`; a call's resource is judged as the
same resource of the stage's stack. A call on another stage's resources is not the stage's. The
hosted zone is filled in as `scripts/stage_env.py` would fill it in for a deployment
(`infra.policy.with_zone`), with the test's own zone, and the WebSocket API as `scripts/deploy.py`
would (`infra.policy.with_websocket_api`), with the API of the `@connections` call.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest

from infra import policy as policies
from tests.aws_calls import RECORDED, Call, full_run_problem
from tests.conftest import TABLES

STAGES = ("dev", "prod")
LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]  # Lambda's own logging
TEST_STACK = policies.stack_name("local")
CONDITION_VALUES = {
    "route53:ChangeResourceRecordSetsActions": lambda call: call.change_actions,
    "route53:ChangeResourceRecordSetsRecordTypes": lambda call: call.record_types,
    "route53:ChangeResourceRecordSetsNormalizedRecordNames": lambda call: call.record_names,
}


def in_stage(name: str, stage: str) -> str:
    """The name a resource of the test stack has in the stage's stack (others keep theirs)."""
    if not name.startswith(TEST_STACK + "-"):
        return name
    return policies.stack_name(stage) + name.removeprefix(TEST_STACK)


def resource_arn(call: Call, stage: str) -> str:
    if call.table:
        return f"arn:aws:dynamodb:eu-central-1:123456789012:table/{in_stage(call.table, stage)}"
    if call.secret:
        # IAM judges the secret's full ARN, which ends in `-` and six random characters.
        name = call.secret.split(":secret:")[-1] if ":secret:" in call.secret else call.secret + "-AbC123"
        return f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:{in_stage(name, stage)}"
    if call.zone_id:
        return f"arn:aws:route53:::hostedzone/{call.zone_id}"
    if call.api_route:
        return f"arn:aws:execute-api:eu-central-1:123456789012:{call.api_route}"
    raise AssertionError(f"no resource recorded for {call}")


def like(pattern: str, value: str) -> bool:
    """IAM wildcard matching: `*` any run of characters, `?` one character, case-sensitive."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def conditions_hold(condition: dict[str, Any], call: Call) -> bool:
    for operator, keys in condition.items():
        for key, allowed in keys.items():
            if key not in CONDITION_VALUES:
                raise AssertionError(f"condition key {key}: teach tests/test_iam_policy.py to evaluate it")
            values = CONDITION_VALUES[key](call)
            allowed = policies.as_list(allowed)
            if operator == "ForAllValues:StringEquals":
                ok = all(value in allowed for value in values)
            elif operator == "ForAllValues:StringLike":
                ok = all(any(like(pattern, value) for pattern in allowed) for value in values)
            else:
                raise AssertionError(f"condition operator {operator}: teach tests/test_iam_policy.py")
            if not ok:
                return False
    return True


def applies(statement: dict[str, Any], call: Call, stage: str) -> bool:
    return (
        call.action in policies.as_list(statement["Action"])
        and any(like(pattern, resource_arn(call, stage)) for pattern in policies.as_list(statement["Resource"]))
        and conditions_hold(statement.get("Condition", {}), call)
    )


@functools.cache
def stage_policy(stage: str, zone_id: str | None, zone_domain: str | None, api_id: str | None) -> dict[str, Any]:
    """The stage's policy as deployed next to the zone or WebSocket API a call used (read-only:
    it is shared)."""
    policy = policies.load(stage)
    policy = policies.with_zone(policy, zone_id, zone_domain or "") if zone_id else policy
    return policies.with_websocket_api(policy, api_id) if api_id else policy


def effective_policy(stage: str, call: Call) -> dict[str, Any]:
    api_id = call.api_route.split("/")[0] if call.api_route else None
    return stage_policy(stage, call.zone_id, call.zone_domain, api_id)


def allowed(stage: str, call: Call) -> bool:
    statements = effective_policy(stage, call)["Statement"]
    if any(s["Effect"] == "Deny" and applies(s, call, stage) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and applies(s, call, stage) for s in statements)


def concerns(call: Call, stage: str) -> bool:
    """Whether the call could come from the stage's functions: it names the test stack's resources
    (judged as the stage's) or the stage's own - not another stage's (`make deploy`, tested
    against moto, bootstraps a `prod` admin: the dev functions never touch prod's tables)."""
    name = call.table or call.secret or ""
    others = [policies.stack_name(other) + "-" for other in STAGES if other != stage]
    return not any(prefix in name for prefix in others)


def describe(call: Call, stage: str) -> str:
    extra = f" {call.change_actions} {call.record_types} {call.record_names}" if call.record_types else ""
    return f"{call.action} on {resource_arn(call, stage)}{extra}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_recorded_call_is_allowed(stage: str) -> None:
    if not RECORDED:
        pytest.skip("no test that ran made an AWS call through the app")
    refused = sorted({describe(call, stage) for call in RECORDED if concerns(call, stage) and not allowed(stage, call)})
    assert refused == [], f".chalice/policy-{stage}.json does not allow what the app does"


@pytest.mark.parametrize("stage", STAGES)
def test_nothing_is_allowed_that_is_never_used(stage: str, request: pytest.FixtureRequest) -> None:
    problem = full_run_problem(request.session)
    if problem:
        pytest.skip(f"needs the whole suite to have run: {problem}")
    unused = []
    for index, statement in enumerate(policies.load(stage)["Statement"]):
        if statement.get("Sid") in policies.RUNTIME_STATEMENTS:
            continue
        for action in policies.as_list(statement["Action"]):
            used = any(
                call.action == action and applies(effective_policy(stage, call)["Statement"][index], call, stage)
                for call in RECORDED
            )
            if not used:
                unused.append(f"{statement.get('Sid')}: {action}")
    assert unused == [], f".chalice/policy-{stage}.json allows what the app never does"


@pytest.mark.parametrize("stage", STAGES)
def test_policy_is_narrow(stage: str) -> None:
    """No wildcard actions, no `*` resources (but X-Ray's, which has no other); everything in the
    stage's own stack or zone."""
    prefix = policies.stack_name(stage)
    api_stage = json.loads((policies.CHALICE / "config.json").read_text())["stages"][stage]["api_gateway_stage"]
    placeholder = policies.websocket_api_of(policies.load(stage))
    for statement in policies.load(stage)["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in policies.as_list(statement["Action"]):
            assert not set("*?") & set(action), action
        if statement["Sid"] == policies.TRACING_STATEMENT:
            assert (statement["Action"], statement["Resource"]) == (policies.TRACING_ACTIONS, "*")
            continue
        for resource in policies.as_list(statement["Resource"]):
            name = resource.split(":", 5)[5]
            assert (
                name.startswith(("table/" + prefix + "-", "secret:" + prefix + "-", "hostedzone/"))
                or (statement["Sid"] == policies.LOGS_STATEMENT and name == f"log-group:/aws/lambda/{prefix}*")
                or (
                    statement["Sid"] == policies.CONNECTIONS_STATEMENT
                    and re.fullmatch(f"{re.escape(placeholder)}/{api_stage}/(POST|DELETE)/@connections/\\*", name)
                )
            ), resource
        if statement["Sid"] == policies.LOGS_STATEMENT:
            assert sorted(policies.as_list(statement["Action"])) == LOGS


def test_stages_differ_only_in_names() -> None:
    dev, prod = (
        json.dumps(policies.with_zone(policies.load(stage), "Z1", "example.org")).replace(
            policies.stack_name(stage), "S"
        )
        for stage in STAGES
    )
    assert dev == prod


@pytest.mark.parametrize("stage", STAGES)
def test_stage_config_uses_the_policy_and_its_resources(stage: str) -> None:
    config = json.loads((policies.CHALICE / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    assert config["iam_policy_file"] == policies.path(stage).name
    granted = json.dumps(policies.load(stage))
    for variable in TABLES:
        assert f'table/{config["environment_variables"][variable]}"' in granted, variable
    for variable in ("TOKEN_KEY_SECRET_ID", "ADMIN_PASSWORD_SECRET_ID"):
        assert f'secret:{config["environment_variables"][variable]}-??????"' in granted, variable


def test_a_call_the_policy_lacks_is_refused() -> None:
    """The checker itself: what the policy does not grant is refused."""
    stack = TEST_STACK
    assert allowed("prod", Call("dynamodb:GetItem", table=f"{stack}-users"))
    assert not allowed("prod", Call("dynamodb:Scan", table=f"{stack}-users"))
    assert not allowed("prod", Call("dynamodb:DeleteTable", table=f"{stack}-users"))
    assert not allowed("prod", Call("dynamodb:GetItem", table="someone-elses-table"))
    assert allowed("prod", Call("route53:ListResourceRecordSets", zone_id="Z1"))
    assert not allowed("prod", Call("route53:DeleteHostedZone", zone_id="Z1"))
    change = {
        "action": "route53:ChangeResourceRecordSets",
        "zone_id": "Z1",
        "zone_domain": "onezone.example.org",
        "record_types": ("A",),
        "change_actions": ("UPSERT",),
    }
    assert allowed("prod", Call(**change, record_names=("krk.onezone.example.org",)))
    assert not allowed("prod", Call(**change, record_names=("onezone.example.org",)))  # the apex
    assert not allowed("prod", Call(**{**change, "record_types": ("NS",)}, record_names=("a.onezone.example.org",)))
    manage = "execute-api:ManageConnections"
    assert allowed("prod", Call(manage, api_route="abc123defg/api/POST/@connections/AbC="))
    assert allowed("prod", Call(manage, api_route="abc123defg/api/DELETE/@connections/AbC="))
    assert not allowed("prod", Call(manage, api_route="abc123defg/api/GET/@connections/AbC="))  # never needed
    assert not allowed("prod", Call(manage, api_route="abc123defg/other/POST/@connections/AbC="))
    assert not allowed("prod", Call("execute-api:Invoke", api_route="abc123defg/api/POST/@connections/AbC="))
    assert allowed("prod", Call("secretsmanager:GetSecretValue", secret=f"{stack}-token-root-key"))
    assert not allowed("prod", Call("secretsmanager:GetSecretValue", secret=f"{stack}-other"))
