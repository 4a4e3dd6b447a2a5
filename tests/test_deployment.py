"""The deployment helpers: gateway responses, `scripts/stage_env.py`, the single-stack template.

What needs AWS runs against moto; `make package-check` builds and lints the real packages.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib import errors
from infra import policy as policies
from infra import single_stack, stack
from scripts import gateway_responses, stage_env

PSEUDO_PARAMETERS = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::URLSuffix"}


def gateway_bodies() -> dict[str, tuple[str | None, dict[str, Any]]]:
    resources = yaml.safe_load(gateway_responses.MERGE_TEMPLATE.read_text())["Resources"]
    return {
        r["Properties"]["ResponseType"]: (
            r["Properties"].get("StatusCode"),
            json.loads(
                r["Properties"]["ResponseTemplates"]["application/json"].replace("$context.requestId", "REQUEST-ID")
            ),
        )
        for r in resources.values()
    }


def test_gateway_responses_speak_onedata() -> None:
    """API Gateway's own answers are the app's own errors, with the app's wording."""
    bodies = gateway_bodies()
    assert bodies["MISSING_AUTHENTICATION_TOKEN"] == ("404", {"error": errors.OnedataError("notFound").body()})
    assert bodies["DEFAULT_4XX"] == (None, {"error": errors.OnedataError("badMessage").body()})
    assert bodies["DEFAULT_5XX"] == (None, {"error": errors.internal("REQUEST-ID").body()})


def test_gateway_responses_script_applies_the_merge_template(stack_env: dict[str, str]) -> None:
    client = boto3.client("apigateway")
    api = client.create_rest_api(name="onezone-registry")["id"]
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")

    applied = gateway_responses.apply(client, api, "api")

    assert sorted(applied) == ["DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"]
    missing = client.get_gateway_response(restApiId=api, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert missing["statusCode"] == "404"
    assert missing["responseParameters"] == {"gatewayresponse.header.Content-Type": "'application/json'"}
    assert json.loads(missing["responseTemplates"]["application/json"])["error"]["id"] == "notFound"
    assert [s["stageName"] for s in client.get_stages(restApiId=api)["item"]] == ["api"]


def test_stage_env_points_a_stage_at_a_deployed_stack(stack_env: dict[str, str], tmp_path: Path) -> None:
    """From `aws cloudformation describe-stacks` output to the stage's variables and policy."""
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(policies.CHALICE, chalice_dir, ignore=shutil.ignore_patterns("deployments", "deployed"))
    described = {
        "Stacks": [
            {
                "StackName": policies.stack_name("local"),
                "Outputs": [{"OutputKey": k, "OutputValue": stack_env[env]} for k, env in stack.OUTPUT_ENV.items()],
            }
        ]
    }
    moto_outputs = boto3.client("cloudformation").describe_stacks(StackName=policies.stack_name("local"))
    assert set(stack.OUTPUT_ENV) <= {o["OutputKey"] for o in moto_outputs["Stacks"][0]["Outputs"]}

    stage_env.apply("prod", stage_env.outputs_of(described), chalice_dir)

    variables = json.loads((chalice_dir / "config.json").read_text())["stages"]["prod"]["environment_variables"]
    assert {name: variables[name] for name in stack.OUTPUT_ENV.values()} == stack_env
    assert variables["LOG_LEVEL"] == "INFO"  # the rest of the stage is left alone
    zone = policies.zone_statement(policies.load("prod", chalice_dir))
    assert zone["Resource"] == f"arn:aws:route53:::hostedzone/{stack_env['HOSTED_ZONE_ID']}"
    assert zone["Condition"][policies.NAMES_OPERATOR][policies.RECORD_NAMES] == ["*.onezone.test"]
    # Idempotent: a second run changes nothing.
    before = {p.name: p.read_text() for p in chalice_dir.glob("*.json")}
    stage_env.apply("prod", stage_env.outputs_of(described), chalice_dir)
    assert {p.name: p.read_text() for p in chalice_dir.glob("*.json")} == before
    assert (
        json.loads((chalice_dir / "config.json").read_text())["stages"]["dev"]
        == json.loads((policies.CHALICE / "config.json").read_text())["stages"]["dev"]
    )


def _references(value: Any) -> set[str]:
    """Every name a template value refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0])
            elif key == "Fn::Sub":
                text, variables = (item, {}) if isinstance(item, str) else item
                names = {part.split("}")[0] for part in text.split("${")[1:]}
                found |= {n.split(".")[0] for n in names - set(variables)} | _references(variables)
            else:
                found |= _references(item)
    return found


FUNCTIONS = {
    "APIHandler": "ApiHandlerRole",
    "BootstrapAdmin": "BootstrapAdminRole",
    "ReconcileDns": "ReconcileDnsRole",
    "WebsocketConnect": "WebsocketConnectRole",
    "WebsocketMessage": "WebsocketMessageRole",
    "WebsocketDisconnect": "WebsocketDisconnectRole",
    "ProviderPushes": "ProviderPushesRole",
    "ClusterPushes": "ClusterPushesRole",
    "StoragePushes": "StoragePushesRole",
    "GraphsyncKeepalive": "GraphsyncKeepaliveRole",
}
STREAM_OF = {
    "ProviderPushes": "PROVIDERS_STREAM_ARN",
    "ClusterPushes": "CLUSTERS_STREAM_ARN",
    "StoragePushes": "STORAGES_STREAM_ARN",
}
# The parts of `chalice package`'s template the single stack relies on (as chalice 1.34 names them).
CHALICE_TEMPLATE = {
    "Resources": {
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "api"}},
        "WebsocketAPI": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}},
        "WebsocketAPIStage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": "WebsocketAPI"}, "StageName": "api"},
        },
        **{
            function: {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Role": {"Fn::GetAtt": [role, "Arn"]}, "Environment": {"Variables": {}}},
            }
            for function, role in FUNCTIONS.items()
        },
        **{
            role: {
                "Type": "AWS::IAM::Role",
                "Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": {}}]},
            }
            for role in FUNCTIONS.values()
        },
    }
}


def chalice_template(stage: str) -> dict[str, Any]:
    """`CHALICE_TEMPLATE` as `chalice package` makes it for `stage`: the push functions' events
    name the stage's streams."""
    variables = json.loads((policies.CHALICE / "config.json").read_text())["stages"][stage]["environment_variables"]
    template = copy.deepcopy(CHALICE_TEMPLATE)
    for function, variable in STREAM_OF.items():
        stream = {"Stream": variables[variable], "BatchSize": 100, "StartingPosition": "LATEST"}
        events = {f"{function}DynamodbEventSource": {"Type": "DynamoDB", "Properties": stream}}
        template["Resources"][function]["Properties"]["Events"] = events
    return template


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_single_stack_wires_the_functions_to_the_stack_resources(stage: str) -> None:
    template = chalice_template(stage)
    merge = single_stack.build(stage, template)
    infra = stack.load_template()

    gateway = yaml.safe_load(gateway_responses.MERGE_TEMPLATE.read_text())["Resources"]
    assert set(infra["Resources"]) | set(gateway) <= set(merge["Resources"])
    assert merge["Parameters"]["Stage"]["Default"] == stage
    for function in FUNCTIONS:
        variables = merge["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables == {env: infra["Outputs"][out]["Value"] for out, env in stack.OUTPUT_ENV.items()}
        assert merge["Outputs"][f"{function}Name"] == {"Value": {"Ref": function}}
    for function, variable in STREAM_OF.items():  # each reads its own table's stream
        [event] = merge["Resources"][function]["Properties"]["Events"].values()
        output = next(out for out, env in stack.OUTPUT_ENV.items() if env == variable)
        assert event["Properties"]["Stream"] == infra["Outputs"][output]["Value"]
    for role in FUNCTIONS.values():
        (policy,) = merge["Resources"][role]["Properties"]["Policies"]
        assert policy["PolicyName"] == f"{role}Policy"
        document = policy["PolicyDocument"]
        assert [s["Action"] for s in document["Statement"]] == [s["Action"] for s in policies.load(stage)["Statement"]]
        for statement in document["Statement"]:  # every resource is the stack's own, none a name
            if statement["Sid"] != policies.TRACING_STATEMENT:  # X-Ray has only `*`
                assert all(isinstance(r, dict) for r in policies.as_list(statement["Resource"])), statement
    # What watches the functions follows them; the API stage is throttled as the parameters say.
    resources = merge["Resources"]
    assert resources["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${APIHandler}"}
    assert resources["BootstrapAdminLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${BootstrapAdmin}"
    }
    assert resources["ReconcileDnsLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ReconcileDns}"}
    for function in ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"):
        group = resources[f"{function}LogGroup"]["Properties"]["LogGroupName"]
        assert group == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    for alarm, function in [
        ("LambdaErrorsAlarm", "APIHandler"),
        ("LambdaThrottlesAlarm", "APIHandler"),
        ("ReconcilerErrorsAlarm", "ReconcileDns"),
    ]:
        assert resources[alarm]["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    [throttling] = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert (throttling["ThrottlingRateLimit"], throttling["ThrottlingBurstLimit"]) == (
        {"Ref": "ApiThrottleRate"},
        {"Ref": "ApiThrottleBurst"},
    )
    assert infra["Resources"]["LambdaErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"] == {"Ref": "AWS::StackName"}
    # Every reference resolves within the merged template.
    known = set(merge["Resources"]) | set(template["Resources"]) | set(merge["Parameters"]) | PSEUDO_PARAMETERS
    assert _references(merge) <= known


def test_single_stack_refuses_a_policy_resource_the_template_lacks() -> None:
    policy = policies.load("prod")
    [tables] = [statement for statement in policy["Statement"] if statement["Sid"] == "Tables"]
    tables["Resource"].append("arn:aws:dynamodb:*:*:table/somewhere-else")
    with pytest.raises(ValueError, match="somewhere-else"):
        policies.for_template(policy, "prod", stack.load_template())


def test_the_alarms_watch_what_the_functions_emit_and_notify_the_topic() -> None:
    """The template's alarms and log groups name what Chalice and the code actually produce."""
    from chalicelib import observability

    template = stack.load_template()
    resources = template["Resources"]
    config = json.loads((policies.CHALICE / "config.json").read_text())
    app_name = config["app_name"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "ApiErrorRateAlarm",
        "LambdaErrorsAlarm",
        "LambdaThrottlesAlarm",
        "DnsLeftInconsistentAlarm",
        "ReconcilerErrorsAlarm",
        "DynamoDbThrottlesAlarm",
    }
    for properties in alarms.values():
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    dns = alarms["DnsLeftInconsistentAlarm"]
    assert (dns["Namespace"], dns["MetricName"]) == (observability.NAMESPACE, "DnsLeftInconsistent")
    assert dns["Dimensions"] == [{"Name": "service", "Value": observability.SERVICE}]
    # `chalice deploy` names the API function <app_name>-<stage>: the stack's own name.
    assert policies.stack_name("prod") == f"{app_name}-prod"
    for name in ("LambdaErrorsAlarm", "LambdaThrottlesAlarm"):
        assert alarms[name]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "AWS::StackName"}}]
    # ... and other functions <app_name>-<stage>-<name>, the name the app gives them.
    import app

    schedule = next(source for source in app.app.event_sources if source.name == "reconcile_dns")
    assert alarms["ReconcilerErrorsAlarm"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Fn::Sub": f"${{AWS::StackName}}-{schedule.name}"}}
    ]
    assert template["Parameters"]["ApiName"]["Default"] == app_name
    api_stage = {config["stages"][stage]["api_gateway_stage"] for stage in ("dev", "prod")}
    assert api_stage == {alarms["ApiErrorRateAlarm"]["Dimensions"][1]["Value"]}
    throttled = alarms["DynamoDbThrottlesAlarm"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in throttled if "MetricStat" in m}
    assert watched == {name for name, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    groups = {
        r["Properties"]["LogGroupName"]["Fn::Sub"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"
    }
    assert groups == {
        "/aws/lambda/${AWS::StackName}",
        "/aws/lambda/${AWS::StackName}-bootstrap_admin",
        *(f"/aws/lambda/${{AWS::StackName}}-{source.name}" for source in app.app.event_sources),
        # Chalice names the WebSocket API's functions by route, whatever the handlers' names.
        *(f"/aws/lambda/${{AWS::StackName}}-websocket_{route}" for route in ("connect", "message", "disconnect")),
    }
    assert set(app.app.websocket_handlers) == {"$connect", "$default", "$disconnect"}
    for stage, reserved in (("dev", 10), ("prod", 50)):
        assert config["stages"][stage]["xray"] is True
        assert config["stages"][stage]["lambda_functions"]["api_handler"]["reserved_concurrency"] == reserved


FRONT = yaml.safe_load(single_stack.FRONT.read_text())


def test_the_front_routes_the_channel_to_the_websocket_api_and_the_rest_to_the_rest_api() -> None:
    config = FRONT["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    default = config["DefaultCacheBehavior"]
    [channel] = config["CacheBehaviors"]
    assert (default["TargetOriginId"], channel["TargetOriginId"]) == ("RestApi", "WebsocketApi")
    assert fnmatch.fnmatch(FRONT["Parameters"]["ChannelPath"]["Default"], channel["PathPattern"])
    assert origins["RestApi"]["OriginPath"] == {"Fn::Sub": "/${RestApiStage}"}  # the stage before the path
    assert set(default["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    for behaviour in (default, channel):
        assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
        # Managed-AllViewerExceptHostHeader: API Gateway answers only for its own Host.
        assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert config["Aliases"] == [{"Ref": "ZoneDomain"}]
    records = [r["Properties"] for r in FRONT["Resources"].values() if r["Type"] == "AWS::Route53::RecordSet"]
    assert sorted(r["Type"] for r in records) == ["A", "AAAA"]
    assert all(r["Name"] == {"Ref": "ZoneDomain"} for r in records)


def test_the_fronts_own_answer_is_the_apps_not_found() -> None:
    code, variables = FRONT["Resources"]["ChannelPathFunction"]["Properties"]["FunctionCode"]["Fn::Sub"]
    assert json.loads(variables["NotFound"]) == {"error": errors.OnedataError("notFound").body()}
    assert "statusCode: 404" in code
    assert "request.uri = '/${WebsocketApiStage}'" in code


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_single_stack_holds_the_front_on_its_own_apis_and_zone(stage: str) -> None:
    merge = single_stack.build(stage, chalice_template(stage))
    infra = stack.load_template()
    assert set(FRONT["Resources"]) <= set(merge["Resources"])
    given = {"RestApiDomain", "RestApiStage", "WebsocketApiDomain", "WebsocketApiStage", "HostedZoneId"}
    assert not given & set(merge["Parameters"])
    origins = merge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
    assert [o["DomainName"] for o in origins] == [
        {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        {"Fn::Sub": "${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
    ]
    assert origins[0]["OriginPath"] == {"Fn::Sub": ["/${RestApiStage}", {"RestApiStage": "api"}]}
    apex = merge["Resources"]["ApexRecord"]["Properties"]
    assert apex["HostedZoneId"] == infra["Outputs"]["HostedZoneId"]["Value"]
    code = merge["Resources"]["ChannelPathFunction"]["Properties"]["FunctionCode"]["Fn::Sub"]
    assert code[1]["WebsocketApiStage"] == "api"
    # The functions may manage the connections of this stack's WebSocket API only.
    statement = policies.connections_statement(
        merge["Resources"]["WebsocketMessageRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    )
    assert all("${WebsocketAPI}/api/" in r["Fn::Sub"] for r in statement["Resource"])
