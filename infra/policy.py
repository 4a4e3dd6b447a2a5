"""The functions' IAM policies, `.chalice/policy-<stage>.json`, and what a deployment fills in.

The files name the infra stack's resources by its naming pattern (`onezone-registry-<stage>-*`,
see `infra/template.yaml`). Two cannot be known before they exist: the hosted zone, whose id and
domain are placeholders until `scripts/stage_env.py` writes the deployed stack's values in
(`with_zone`), and the WebSocket API `chalice deploy` creates, whose `@connections` routes the
functions may use (`execute-api:ManageConnections`: `POST`, to send, and `DELETE`, to close)
once `scripts/deploy.py` has written its id in (`with_websocket_api`) and deployed again. For the
single-stack deployment, `for_template` turns every resource of the policy into a reference to
the template's own resource instead (`infra/single_stack.py`).
`tests/test_iam_policy.py` holds every AWS call the test suite makes against these files.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHALICE = ROOT / ".chalice"

ZONE_STATEMENT = "SubdomainDelegation"
ZONE_ARN = "arn:aws:route53:::hostedzone/"
RECORD_NAMES = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
NAMES_OPERATOR = "ForAllValues:StringLike"
CONNECTIONS_STATEMENT = "Connections"
CONNECTIONS_ARN = "arn:aws:execute-api:*:*:"
WEBSOCKET_API = "WebsocketAPI"  # Chalice's logical id for the WebSocket API in its template
LOGS_STATEMENT = "Logs"
# X-Ray: the Lambda runtime sends trace segments for the function; X-Ray has no resource-level
# permissions, hence its one `*` resource. Like the logs, used by the runtime, not the app.
TRACING_STATEMENT = "Tracing"
TRACING_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
# DynamoDB Streams: Lambda's event source mappings read the tables' streams with the push
# functions' role, for them; the app itself never calls these.
STREAMS_STATEMENT = "Streams"
RUNTIME_STATEMENTS = (LOGS_STATEMENT, TRACING_STATEMENT, STREAMS_STATEMENT)
# SAM names the functions <stack name>-<logical id>-<suffix>, hence their log groups.
LOG_GROUPS = "log-group:/aws/lambda/${AWS::StackName}-*"


def stack_name(stage: str) -> str:
    return f"onezone-registry-{stage}"


def path(stage: str, chalice_dir: Path = CHALICE) -> Path:
    return chalice_dir / f"policy-{stage}.json"


def load(stage: str, chalice_dir: Path = CHALICE) -> dict[str, Any]:
    return json.loads(path(stage, chalice_dir).read_text())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def zone_statement(policy: dict[str, Any]) -> dict[str, Any]:
    matches = [s for s in policy["Statement"] if s.get("Sid") == ZONE_STATEMENT]
    if len(matches) != 1:
        raise ValueError(f"the policy needs exactly one statement with Sid {ZONE_STATEMENT!r}")
    return matches[0]


def with_zone(policy: dict[str, Any], zone_id: str, zone_domain: str) -> dict[str, Any]:
    """The policy allowing record changes in this hosted zone only, below its apex only (and
    reading it, for the reconciler)."""
    policy = copy.deepcopy(policy)
    for statement in policy["Statement"]:
        if str(statement["Resource"]).startswith(ZONE_ARN):
            statement["Resource"] = ZONE_ARN + zone_id.removeprefix("/hostedzone/")
    statement = zone_statement(policy)
    # Route 53 matches normalized names: lower case, no trailing dot.
    statement["Condition"][NAMES_OPERATOR][RECORD_NAMES] = ["*." + zone_domain.lower().rstrip(".")]
    return policy


def connections_statement(policy: dict[str, Any]) -> dict[str, Any]:
    matches = [s for s in policy["Statement"] if s.get("Sid") == CONNECTIONS_STATEMENT]
    if len(matches) != 1:
        raise ValueError(f"the policy needs exactly one statement with Sid {CONNECTIONS_STATEMENT!r}")
    return matches[0]


def websocket_api_of(policy: dict[str, Any]) -> str:
    """The WebSocket API id the policy's `@connections` routes name (a placeholder until set)."""
    ids = {
        arn.removeprefix(CONNECTIONS_ARN).split("/")[0] for arn in as_list(connections_statement(policy)["Resource"])
    }
    if len(ids) != 1:
        raise ValueError(f"the {CONNECTIONS_STATEMENT} statement names several APIs: {sorted(ids)}")
    return ids.pop()


def with_websocket_api(policy: dict[str, Any], api_id: str) -> dict[str, Any]:
    """The policy allowing the `@connections` routes of this WebSocket API only."""
    policy = copy.deepcopy(policy)
    statement = connections_statement(policy)
    statement["Resource"] = [
        CONNECTIONS_ARN + "/".join([api_id, *arn.removeprefix(CONNECTIONS_ARN).split("/")[1:]])
        for arn in as_list(statement["Resource"])
    ]
    return policy


def _sub_name(value: Any, stack: str) -> str | None:
    """A resource name of the form `{"Fn::Sub": "${AWS::StackName}-..."}`, for `stack`."""
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return value["Fn::Sub"].replace("${AWS::StackName}", stack)
    return None


def for_template(policy: dict[str, Any], stage: str, template: dict[str, Any]) -> dict[str, Any]:
    """The policy with each resource replaced by a reference to `template`'s own resource, for a
    stack that holds the infra resources and the functions together. Every resource the policy
    names must be found in the template (by the name it gets in stack `onezone-registry-<stage>`)."""
    stack = stack_name(stage)
    tables, secrets = {}, {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            tables[_sub_name(props.get("TableName"), stack)] = {"Fn::GetAtt": [logical_id, "Arn"]}
        elif resource["Type"] == "AWS::SecretsManager::Secret":
            secrets[_sub_name(props.get("Name"), stack)] = {"Ref": logical_id}  # Ref of a secret: its ARN
    zone_id = template["Outputs"]["HostedZoneId"]["Value"]
    zone_domain = template["Outputs"]["ZoneDomain"]["Value"]

    def reference(arn: str) -> Any:
        if arn == "*":
            return arn
        service, resource = arn.split(":")[2], arn.split(":", 5)[5]
        if service == "logs" and resource == f"log-group:/aws/lambda/{stack}*":
            return {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:" + LOG_GROUPS}
        if service == "dynamodb" and resource.removeprefix("table/") in tables:
            return tables[resource.removeprefix("table/")]
        table, _, stream = resource.removeprefix("table/").partition("/stream/")
        if service == "dynamodb" and stream == "*" and table in tables:
            return {"Fn::GetAtt": [tables[table]["Fn::GetAtt"][0], "StreamArn"]}
        if service == "secretsmanager" and resource.removeprefix("secret:").removesuffix("-??????") in secrets:
            return secrets[resource.removeprefix("secret:").removesuffix("-??????")]
        if service == "execute-api":  # `{api id}/{stage}/{method}/@connections/*`
            route = resource.split("/", 1)[1]
            api = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${" + WEBSOCKET_API + "}"
            return {"Fn::Sub": f"{api}/{route}"}
        if service == "route53" and resource.startswith("hostedzone/"):
            return {"Fn::Sub": ["arn:${AWS::Partition}:route53:::hostedzone/${Zone}", {"Zone": zone_id}]}
        raise ValueError(f"policy resource {arn} is not a resource of the template")

    policy = copy.deepcopy(policy)
    for statement in policy["Statement"]:
        resources = [reference(arn) for arn in as_list(statement["Resource"])]
        statement["Resource"] = resources if isinstance(statement["Resource"], list) else resources[0]
    zone_statement(policy)["Condition"][NAMES_OPERATOR][RECORD_NAMES] = [
        {"Fn::Sub": ["*.${Zone}", {"Zone": zone_domain}]}
    ]
    return policy
