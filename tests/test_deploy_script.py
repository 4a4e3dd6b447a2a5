"""`make deploy` / `make undeploy` (scripts/deploy.py) against a moto server.

Only `chalice deploy` itself and the front stack's CloudFormation are replaced: moto's API Gateway
cannot import Chalice's Swagger 2.0 document, and moto's CloudFormation has no CloudFront. The
stand-ins do what they would - a REST API with its `api` stage and a WebSocket API, recorded in
`.chalice/deployed/<stage>.json`; the front's outputs for the parameters it was given - and every
other step runs for real against moto: the infra stack, the stage settings and policy (naming
the WebSocket API), the gateway responses and throttling, the bootstrap admin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import boto3
import pytest

from infra import policy as policies
from infra import stack
from scripts import deploy
from tests.localrun import ROOT

ZONE = "deploy.example.com"


class FakeChalice:
    """`chalice deploy`/`delete` as far as the script relies on them."""

    def __init__(self, session: boto3.session.Session, chalice_dir: Path) -> None:
        self.session, self.chalice_dir, self.commands = session, chalice_dir, []

    def __call__(self, args: Sequence[str]) -> None:
        self.commands.append(list(args))
        command, _, stage = args
        deployed = self.chalice_dir / "deployed" / f"{stage}.json"
        if command == "delete":
            deployed.unlink()
            return
        if deployed.exists():
            return  # an update: same API
        client = self.session.client("apigateway")
        api = client.create_rest_api(name="onezone-registry")["id"]
        root = client.get_resources(restApiId=api)["items"][0]["id"]
        client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        client.create_deployment(restApiId=api, stageName="api")
        websocket = self.session.client("apigatewayv2").create_api(
            Name="onezone-registry-prod-websocket-api",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
        )["ApiId"]
        deployed.parent.mkdir(exist_ok=True)
        url = f"https://{api}.execute-api.us-east-1.amazonaws.com/api/"
        resources = [
            {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api, "rest_api_url": url},
            {
                "name": "websocket_api",
                "resource_type": "websocket_api",
                "websocket_api_id": websocket,
                "websocket_api_url": f"wss://{websocket}.execute-api.us-east-1.amazonaws.com/api/",
            },
        ]
        deployed.write_text(json.dumps({"resources": resources, "schema_version": "2.0", "backend": "api"}))


@pytest.fixture
def deployment(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> deploy.Deployment:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "deployer",
        "AWS_SECRET_ACCESS_KEY": "deployer",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(policies.CHALICE, chalice_dir, ignore=shutil.ignore_patterns("deployments", "deployed"))
    session = boto3.session.Session()
    # moto's CloudFormation skips Secrets Manager resources: here they are, as AWS would create them.
    if not session.client("secretsmanager").list_secrets()["SecretList"]:
        stack.create_secrets(session, policies.stack_name("prod"))
    deployment = deploy.Deployment(
        stage="prod", session=session, chalice_dir=chalice_dir, chalice=FakeChalice(session, chalice_dir)
    )
    fronts: list[dict[str, str]] = []

    def front_stack(parameters: dict[str, str]) -> dict[str, str]:
        fronts.append(parameters)
        zone = parameters["ZoneDomain"]
        return {
            "DistributionId": "E2EXAMPLE",
            "DistributionDomainName": "d111111abcdef8.cloudfront.net",
            "ZoneUrl": f"https://{zone}/api/v3/onezone",
            "ChannelUrl": f"wss://{zone}/graph_sync/provider",
        }

    monkeypatch.setattr(deployment, "front_stack", front_stack)
    deployment.fronts = fronts  # type: ignore[attr-defined]
    return deployment


def files(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*.json"))}


def test_deploy_creates_everything_and_a_second_run_changes_nothing(deployment: deploy.Deployment) -> None:
    parameters = {"Stage": "prod", "ZoneDomain": ZONE, "ApiThrottleRate": "7", "ApiThrottleBurst": "9"}
    deployment.deploy(parameters)
    session = deployment.session

    # The infra stack, with the stage's names.
    cloudformation = session.client("cloudformation")
    [described] = cloudformation.describe_stacks(StackName="onezone-registry-prod")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    tables = session.client("dynamodb").list_tables()["TableNames"]
    assert {outputs[name] for name in ("UsersTableName", "TokensTableName", "IdentifiersTableName")} <= set(tables)

    # The stage's settings and policy name those resources.
    config = json.loads((deployment.chalice_dir / "config.json").read_text())["stages"]["prod"]
    variables = config["environment_variables"]
    assert {variables[env] for env in stack.OUTPUT_ENV.values()} == {outputs[o] for o in stack.OUTPUT_ENV}
    assert variables["ZONE_DOMAIN"] == ZONE
    policy = policies.load("prod", deployment.chalice_dir)
    zone_statement = policies.zone_statement(policy)
    assert zone_statement["Resource"] == f"arn:aws:route53:::hostedzone/{outputs['HostedZoneId'].split('/')[-1]}"
    assert f"table/{outputs['UsersTableName']}" in json.dumps(policy)

    # chalice deploy ran, and again once the policy named the WebSocket API it made.
    assert deployment.chalice.commands == [["deploy", "--stage", "prod"]] * 2  # type: ignore[attr-defined]
    [websocket] = session.client("apigatewayv2").get_apis()["Items"]
    connections = policies.connections_statement(policies.load("prod", deployment.chalice_dir))
    assert connections["Resource"] == [
        f"arn:aws:execute-api:*:*:{websocket['ApiId']}/api/{method}/@connections/*" for method in ("POST", "DELETE")
    ]
    # The API got the gateway responses and the throttling.
    apigateway = session.client("apigateway")
    [api] = apigateway.get_rest_apis()["items"]
    responses = {r["responseType"]: r for r in apigateway.get_gateway_responses(restApiId=api["id"])["items"]}
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    settings = apigateway.get_stage(restApiId=api["id"], stageName="api")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (7.0, 9)

    # The admin exists, with the generated password.
    password = deployment.admin_password()
    assert len(password) == 32
    users = session.client("dynamodb").scan(TableName=outputs["UsersTableName"])["Items"]
    assert [u["username"]["S"] for u in users] == ["admin"]

    # The front: both APIs' hosts and stages, the zone.
    [front] = deployment.fronts  # type: ignore[attr-defined]
    assert front == {
        "ZoneDomain": ZONE,
        "HostedZoneId": outputs["HostedZoneId"].split("/")[-1],
        "RestApiDomain": f"{api['id']}.execute-api.us-east-1.amazonaws.com",
        "RestApiStage": "api",
        "WebsocketApiDomain": f"{websocket['ApiId']}.execute-api.us-east-1.amazonaws.com",
        "WebsocketApiStage": "api",
    }

    # What the operator is told.
    said = "\n".join(deployment.said)
    assert f"is up: https://{ZONE}/api/v3/onezone" in said
    assert f"wss://{ZONE}/graph_sync/provider" in said
    assert f"{api['id']}.execute-api.us-east-1.amazonaws.com/api/api/v3/onezone" in said
    name_servers = session.client("route53").get_hosted_zone(Id=outputs["HostedZoneId"])["DelegationSet"]["NameServers"]
    assert name_servers
    assert all(server in said for server in name_servers)
    assert "make admin-password STAGE=prod" in said
    assert password not in said

    # Again: nothing changes.
    before = (files(deployment.chalice_dir), outputs, len(users))
    deployment.said.clear()
    deployment.deploy(parameters)
    [again] = cloudformation.describe_stacks(StackName="onezone-registry-prod")["Stacks"]
    users_again = session.client("dynamodb").scan(TableName=outputs["UsersTableName"])["Items"]
    after = (
        files(deployment.chalice_dir),
        {o["OutputKey"]: o["OutputValue"] for o in again["Outputs"]},
        len(users_again),
    )
    assert after == before
    assert len(apigateway.get_rest_apis()["items"]) == 1
    assert deployment.chalice.commands == [["deploy", "--stage", "prod"]] * 3  # type: ignore[attr-defined]
    assert deployment.fronts == [front, front]  # type: ignore[attr-defined]
    assert "bootstrap admin: already there" in deployment.said
    assert deployment.admin_password() == password


def test_deploy_without_the_front_makes_no_front_stack_and_says_where_the_apis_are(
    deployment: deploy.Deployment,
) -> None:
    """`make deploy FRONT=none`: for an operator routing the zone's host with a proxy of their own
    (and the emulator, which has no CloudFront)."""
    deployment.deploy({"Stage": "prod", "ZoneDomain": ZONE}, with_front=False)
    assert deployment.fronts == []  # type: ignore[attr-defined]
    recorded = json.loads((deployment.chalice_dir / "deployed" / "prod.json").read_text())["resources"]
    [rest_api] = [r["rest_api_url"] for r in recorded if r.get("resource_type") == "rest_api"]
    [websocket_api] = [r["websocket_api_url"] for r in recorded if r.get("resource_type") == "websocket_api"]
    said = "\n".join(deployment.said)
    assert f"without its front: {rest_api}api/v3/onezone" in said
    assert websocket_api.startswith("wss://")
    assert websocket_api in said
    assert f"https://{ZONE}/api/v3/onezone" not in said


def test_undeploy_removes_the_functions_and_keeps_the_data(deployment: deploy.Deployment) -> None:
    deployment.deploy({"Stage": "prod", "ZoneDomain": ZONE})
    deployment.said.clear()
    deployment.undeploy()
    assert deployment.chalice.commands[-1] == ["delete", "--stage", "prod"]  # type: ignore[attr-defined]
    said = " ".join(deployment.said)
    assert "Kept" in said
    assert "Retain" in said
    stacks = deployment.session.client("cloudformation").describe_stacks(StackName="onezone-registry-prod")["Stacks"]
    assert stacks[0]["StackStatus"].endswith("COMPLETE")


def test_the_make_targets_need_their_settings() -> None:
    missing = subprocess.run(
        ["make", "-s", "deploy", "STAGE=prod"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert missing.returncode != 0
    assert "ZONE_DOMAIN" in missing.stderr
    nothing = subprocess.run(["make", "-s", "undeploy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert "STAGE" in nothing.stderr


def test_arguments_become_stack_parameters() -> None:
    argv = ["deploy", "--stage", "dev", "--zone-domain", ZONE, "--alarm-email", "ops@example.com"]
    args = deploy.build_parser().parse_args([*argv, "--log-retention-days", "30", "--certificate-arn", "arn:c"])
    assert args.certificate_arn == "arn:c"
    assert deploy.parameters_of(args) == {
        "Stage": "dev",
        "ZoneDomain": ZONE,
        "AlarmEmail": "ops@example.com",
        "LogRetentionDays": "30",
    }
