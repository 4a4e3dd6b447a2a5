"""The merge template for a single-stack deployment: infra resources and functions together.

    python -m infra.single_stack --stage prod --sam out/sam.yaml --output out/single-stack-merge.json
    chalice package --stage prod --merge-template out/single-stack-merge.json out/single/

It is built from the other files rather than written by hand, so nothing is defined twice:
- `infra/template.yaml`: parameters, conditions, resources and outputs, as they are;
- `infra/chalice-merge.yaml`: the API Gateway responses;
- `infra/front.yaml`: the CloudFront front, its certificate and the apex records, with the APIs'
  hosts and stages and the hosted zone taken from the template itself instead of parameters;
- each function's environment: for every variable of `infra.stack.OUTPUT_ENV`, the expression
  of the template output it comes from (`{"Ref": "UsersTable"}`, ...), so the functions read
  the stack's own resources and `scripts/stage_env.py` is not needed;
- each push function's stream: the table's own (`Fn::GetAtt: [<Table>, StreamArn]`), in place
  of the stage's stream ARN that `chalice package` read (its variable names the template output);
- each function role's policy: `.chalice/policy-<stage>.json` with every resource replaced by
  a reference to the template's resource (`infra.policy.for_template`). Chalice gives the
  role its policy as a list, and the merge replaces lists, so the whole list is given here.

The function and role names are read from a template Chalice already generated (`--sam`), as
Chalice names them (`APIHandler`, `BootstrapAdmin`, `ApiHandlerRole`, ...). What watches the
functions follows them: the log groups and the function alarms, written in the infra template for
the names `chalice deploy` gives (`onezone-registry-<stage>`), are pointed at these functions, and
the API stage gets the template's throttling (`chalice deploy`'s path sets it with boto3).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from chalicelib.config import STREAMS as STREAM_TABLES
from infra import policy as policies
from infra.stack import OUTPUT_ENV, load_template

STREAMS = set(STREAM_TABLES.values())

GATEWAY_RESPONSES = Path(__file__).with_name("chalice-merge.yaml")
FRONT = Path(__file__).with_name("front.yaml")
FUNCTION = "AWS::Serverless::Function"
API_FUNCTION = "APIHandler"
RECONCILER_FUNCTION = "ReconcileDns"
LOG_GROUPS = {
    "ApiHandlerLogGroup": API_FUNCTION,
    "BootstrapAdminLogGroup": "BootstrapAdmin",
    "ReconcileDnsLogGroup": RECONCILER_FUNCTION,
    "WebsocketConnectLogGroup": "WebsocketConnect",
    "WebsocketMessageLogGroup": "WebsocketMessage",
    "WebsocketDisconnectLogGroup": "WebsocketDisconnect",
    "ProviderPushesLogGroup": "ProviderPushes",
    "ClusterPushesLogGroup": "ClusterPushes",
    "StoragePushesLogGroup": "StoragePushes",
    "GraphsyncKeepaliveLogGroup": "GraphsyncKeepalive",
}
FUNCTION_ALARMS = {
    "LambdaErrorsAlarm": API_FUNCTION,
    "LambdaThrottlesAlarm": API_FUNCTION,
    "ReconcilerErrorsAlarm": RECONCILER_FUNCTION,
}
THROTTLING = [
    {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
    }
]


def build(stage: str, sam: dict[str, Any]) -> dict[str, Any]:
    infra = load_template()
    responses = yaml.safe_load(GATEWAY_RESPONSES.read_text())
    policy = policies.for_template(policies.load(stage), stage, infra)
    environment = {env: infra["Outputs"][output]["Value"] for output, env in OUTPUT_ENV.items()}

    parameters = json.loads(json.dumps(infra["Parameters"]))
    parameters["Stage"]["Default"] = stage
    front = _front(sam, infra)
    resources: dict[str, Any] = {**infra["Resources"], **responses["Resources"]}
    for name, resource in front["Resources"].items():
        if name in resources:
            raise ValueError(f"resource name {name} is both the front's and the infra's")
        resources[name] = resource
    parameters.update(front["Parameters"])
    conditions = {**infra["Conditions"], **front["Conditions"]}
    outputs: dict[str, Any] = {**infra["Outputs"], **front["Outputs"]}
    functions = {name: r for name, r in sam["Resources"].items() if r["Type"] == FUNCTION}
    if not functions:
        raise ValueError("the Chalice template has no functions")
    for name, function in functions.items():
        if name in resources:
            raise ValueError(f"resource name {name} is both the infra's and Chalice's")
        resources[name] = {"Properties": {"Environment": {"Variables": environment}}}
        events = _own_streams(function, stage, infra)
        if events:
            resources[name]["Properties"]["Events"] = events
        outputs.setdefault(f"{name}Name", {"Value": {"Ref": name}})
        role = function["Properties"].get("Role")
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            raise ValueError(f"function {name} has no role of its own in the template")
        role_name = role["Fn::GetAtt"][0]
        generated = sam["Resources"][role_name]["Properties"]["Policies"]
        resources[role_name] = {
            "Properties": {"Policies": [{"PolicyName": generated[0]["PolicyName"], "PolicyDocument": policy}]}
        }
    _watch(resources, functions)
    return {"Parameters": parameters, "Conditions": conditions, "Resources": resources, "Outputs": outputs}


def _front(sam: dict[str, Any], infra: dict[str, Any]) -> dict[str, Any]:
    """`infra/front.yaml` for this stack: the parameters a separate front stack is given become
    the stack's own resources (the APIs' hosts and stages, the hosted zone)."""
    front = yaml.safe_load(FRONT.read_text())
    chalice = sam["Resources"]
    given = {
        "RestApiDomain": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        "RestApiStage": chalice["RestAPI"]["Properties"]["StageName"],
        "WebsocketApiDomain": {
            "Fn::Sub": f"${{{policies.WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        },
        "WebsocketApiStage": chalice["WebsocketAPIStage"]["Properties"]["StageName"],
        "HostedZoneId": infra["Outputs"]["HostedZoneId"]["Value"],
    }
    shared = set(infra["Parameters"]) & set(front["Parameters"])  # ZoneDomain: the same in both
    return {
        "Parameters": {k: v for k, v in front["Parameters"].items() if k not in given and k not in shared},
        "Conditions": front["Conditions"],
        "Resources": substitute(front["Resources"], given),
        "Outputs": substitute(front["Outputs"], given),
    }


def substitute(value: Any, given: dict[str, Any]) -> Any:
    """`value` with each reference to a parameter of `given` (`Ref`, `${...}` in `Fn::Sub`)
    replaced by its value."""
    if isinstance(value, list):
        return [substitute(item, given) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in given:
        return given[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        named = {part.split("}")[0] for part in text.split("${")[1:]}
        variables = {
            **substitute(variables, given),
            **{n: given[n] for n in named if n in given and n not in variables},
        }
        return {"Fn::Sub": [text, variables] if variables else text}
    return {key: substitute(item, given) for key, item in value.items()}


def _own_streams(function: dict[str, Any], stage: str, infra: dict[str, Any]) -> dict[str, Any]:
    """The function's DynamoDB stream events, pointed at the template's tables' streams: the
    stream `chalice package` wrote is the stage's (or a placeholder), named by a variable whose
    template output is the stream's `GetAtt`."""
    variables = json.loads((policies.CHALICE / "config.json").read_text())["stages"][stage]["environment_variables"]
    by_arn = {variables[env]: infra["Outputs"][output]["Value"] for output, env in OUTPUT_ENV.items() if env in STREAMS}
    events = {}
    for event_name, event in function["Properties"].get("Events", {}).items():
        if event.get("Type") == "DynamoDB":
            stream = event["Properties"]["Stream"]
            if stream not in by_arn:
                raise ValueError(f"stream {stream} of {event_name} is none of the stage's streams")
            events[event_name] = {"Properties": {"Stream": by_arn[stream]}}
    return events


def _watch(resources: dict[str, Any], functions: dict[str, Any]) -> None:
    """Point the log groups and function alarms at Chalice's functions; throttle the API stage."""
    for log_group, function in LOG_GROUPS.items():
        if function not in functions:
            raise ValueError(f"the Chalice template has no function {function}")
        resources[log_group] = copy.deepcopy(resources[log_group])
        resources[log_group]["Properties"]["LogGroupName"] = {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    for alarm, function in FUNCTION_ALARMS.items():
        resources[alarm] = copy.deepcopy(resources[alarm])
        resources[alarm]["Properties"]["Dimensions"] = [{"Name": "FunctionName", "Value": {"Ref": function}}]
    resources["RestAPI"] = {"Properties": {"MethodSettings": THROTTLING}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--sam", required=True, type=Path, help="a template `chalice package` generated")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    merge = build(args.stage, yaml.safe_load(args.sam.read_text()))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(merge, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
