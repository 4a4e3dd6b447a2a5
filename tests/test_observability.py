"""What an operator sees: JSON log lines with the request's keys, one access line per request,
embedded-format metrics - and never a secret, after a whole scenario."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import app
from chalicelib import context
from tests.conftest import USER_PASSWORD, Api
from tests.localrun import LocalRun


def lines(text: str) -> list[dict[str, Any]]:
    """Every JSON object printed, one per line (anything else printed is not a log line)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def access_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in lines(text) if line.get("message") == "request"]


def metrics(text: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, dimensions) of every embedded-format metric printed."""
    found = []
    for line in lines(text):
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "OnezoneRegistry"
            dimensions = {name: line[name] for name in directive["Dimensions"][0]}
            found += [(metric["Name"], dimensions) for metric in directive["Metrics"]]
    return found


def registration(token: str, subdomain: str) -> dict[str, Any]:
    return {
        "token": token,
        "name": "Krakow",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": ["192.0.2.1"],
    }


def test_a_whole_scenario_logs_every_request_and_no_secret(
    api: Api, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    secrets: list[str] = []
    admin_password = "admin-pass-1"
    admin = api.create_user("admin", ("oz_users_create", "oz_providers_invite"))
    secrets.append(USER_PASSWORD)
    capsys.readouterr()

    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        for value in (headers or {}).values():
            secrets.append(value)
            secrets.append(value.split(" ", 1)[-1])
        response = api.call(method, path, body, headers=headers)
        if response.body:
            for key in ("token", "providerRootToken", "macaroon"):
                if isinstance(response.json_body, dict) and isinstance(response.json_body.get(key), str):
                    secrets.append(response.json_body[key])
        return response

    basic = api.basic("admin", USER_PASSWORD)
    created = call("POST", "/users", {"username": "alice", "password": admin_password}, basic)
    assert created.status_code == 201
    secrets.append(admin_password)
    token = call("POST", "/user/clusters/provider_registration_token", headers=basic).json_body["token"]
    named = call("POST", "/user/tokens/named", {"name": "mine"}, basic).json_body["token"]
    registered = call("POST", "/providers", registration(token, "krk"))
    assert registered.status_code == 200
    root = registered.json_body["providerRootToken"]
    refused = call("POST", "/providers", registration(token, "waw"))  # used up
    assert refused.status_code == 400
    assert call("GET", "/provider", headers={"X-Auth-Token": root}).status_code == 200
    assert call("GET", "/user", headers={"Authorization": f"Bearer {named}"}).status_code == 200
    assert call("GET", "/user", headers=api.basic("admin", "wrong-password")).status_code == 401
    call("POST", "/tokens/examine", {"token": named})
    call("POST", "/tokens/verify_access_token", {"token": named})
    assert call("DELETE", "/provider", headers={"Macaroon": root}).status_code == 204
    captured = capsys.readouterr()
    printed = captured.out + captured.err + caplog.text

    root_key = boto3.client("secretsmanager").get_secret_value(SecretId=api.env["TOKEN_KEY_SECRET_ID"])["SecretString"]
    for secret in {*secrets, root_key, base64.b64encode(root_key.encode()).decode()}:
        assert secret not in printed, f"a secret was logged: {secret[:12]}..."
    assert "Authorization" not in printed
    assert "authorization" not in printed

    # One access line per request, with the request's keys.
    requests = access_lines(printed)
    assert len(requests) == 11
    for line in requests:
        assert {
            "level",
            "message",
            "timestamp",
            "service",
            "lambdaRequestId",
            "route",
            "method",
            "status",
            "latencyMs",
        } <= set(line)
        assert line["level"] == "INFO"
        assert line["route"].startswith("/api/v3/onezone/")
        assert isinstance(line["latencyMs"], float)
    by_route = {(line["method"], line["route"], line["status"]): line for line in requests}
    assert by_route[("GET", "/api/v3/onezone/provider", 200)]["subject"] == f"prv-{registered.json_body['providerId']}"
    assert by_route[("GET", "/api/v3/onezone/user", 200)]["subject"] == f"usr-{admin}"
    assert by_route[("POST", "/api/v3/onezone/providers", 400)]["errorId"] == "inviteTokenUsageLimitReached"
    assert by_route[("GET", "/api/v3/onezone/user", 401)]["errorId"] == "unauthorized"
    assert "subject" not in by_route[("GET", "/api/v3/onezone/user", 401)]
    assert "errorId" not in by_route[("POST", "/api/v3/onezone/providers", 200)]  # keys do not leak across requests

    assert sorted(metrics(printed)) == sorted(
        [
            ("TokenIssued", {"service": "onezone-registry"}),
            ("TokenIssued", {"service": "onezone-registry"}),
            ("ProviderRegistered", {"service": "onezone-registry"}),
            ("RegistrationRejected", {"service": "onezone-registry", "errorId": "inviteTokenUsageLimitReached"}),
        ]
    )


def test_api_gateways_request_id_is_on_every_line(
    stack_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Invoked as API Gateway invokes it: `requestId` is API Gateway's, `lambdaRequestId` Lambda's."""
    event = {
        "resource": "/api/v3/onezone/configuration",
        "path": "/api/v3/onezone/configuration",
        "httpMethod": "GET",
        "headers": {"Host": "zone.example.com"},
        "multiValueHeaders": {"Host": ["zone.example.com"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/v3/onezone/configuration",
            "httpMethod": "GET",
            "requestId": "gateway-request-1",
            "identity": {"sourceIp": "192.0.2.9"},
            "path": "/api/api/v3/onezone/configuration",
            "stage": "api",
        },
        "body": None,
        "isBase64Encoded": False,
    }

    class LambdaContext:
        aws_request_id = "lambda-request-1"
        function_name = "onezone-registry-prod"
        memory_limit_in_mb = 512

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 20_000

    capsys.readouterr()
    response = app.app(event, LambdaContext())
    assert response["statusCode"] == 200
    [line] = access_lines(capsys.readouterr().out)
    assert (line["requestId"], line["lambdaRequestId"], line["status"]) == (
        "gateway-request-1",
        "lambda-request-1",
        200,
    )
    unknown = {**event, "requestContext": {**event["requestContext"], "resourcePath": "/api/v3/onezone/nothing"}}
    answered = app.app(unknown, LambdaContext())
    assert (answered["statusCode"], json.loads(answered["body"])["error"]["id"]) == (404, "notFound")


def test_dns_failures_are_counted(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    route53 = context.current().aws.route53

    def down(**_request: Any) -> Any:
        raise ClientError({"Error": {"Code": "InvalidInput", "Message": "down"}}, "ChangeResourceRecordSets")

    monkeypatch.setattr(route53, "change_resource_record_sets", down)
    capsys.readouterr()
    assert api.call("POST", "/providers", registration(token, "krk")).status_code >= 400
    assert ("DnsChangeFailed", {"service": "onezone-registry"}) in metrics(capsys.readouterr().out)


def test_dns_left_inconsistent_is_counted(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registration's transaction fails and so does taking the records back."""
    api.create_user("alice")
    token = api.registration_token("alice")
    ctx = context.current()
    route53, dynamodb = ctx.aws.route53, ctx.aws.dynamodb
    real_change = route53.change_resource_record_sets
    changes: list[Any] = []

    def first_only(**request: Any) -> Any:
        changes.append(request)
        if len(changes) > 1:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "later"}}, "ChangeResourceRecordSets")
        return real_change(**request)

    def failing_commit(**_request: Any) -> Any:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "TransactWriteItems")

    monkeypatch.setattr(route53, "change_resource_record_sets", first_only)
    monkeypatch.setattr(dynamodb, "transact_write_items", failing_commit)
    capsys.readouterr()
    assert api.call("POST", "/providers", registration(token, "krk")).status_code == 500
    printed = capsys.readouterr().out
    counted = [name for name, _ in metrics(printed)]
    assert "DnsLeftInconsistent" in counted
    [inconsistent] = [line for line in lines(printed) if "DNS LEFT INCONSISTENT" in line.get("message", "")]
    assert (inconsistent["level"], inconsistent["name"]) == ("ERROR", "chalicelib.dns.transitions")


def test_the_local_run_logs_json_lines_for_every_request(local: LocalRun) -> None:
    before = len(local.output)
    marker = f"/api/v3/onezone/provider/public/get_current_time?probe={time.time_ns()}"
    status, _ = local.curl(f"{local.host}{marker}")
    assert status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = access_lines("".join(local.output[before:]))
        if logged:
            break
        time.sleep(0.1)
    [line] = [entry for entry in logged if entry["route"] == "/api/v3/onezone/provider/public/get_current_time"]
    assert {"requestId", "lambdaRequestId", "method", "status", "latencyMs"} <= set(line)
    assert line["status"] == 200
