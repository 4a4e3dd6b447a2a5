"""Contract fuzzing: schemathesis drives every operation of the app's own OpenAPI document.

Valid and invalid bodies, parameters and headers (schemathesis' positive and negative modes),
each sent twice: as generated (usually without credentials) and with real credentials - an
admin's access token, or a provider's root token on `/provider...`. Every response must be
documented (status, content type, schema), never a 5xx, and every error must have the Onedata
shape. Deterministic (`derandomize`) and bounded, so CI stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, settings
from moto import mock_aws
from schemathesis import checks

import app
from chalicelib import context, tokens
from chalicelib.models import OZ_PRIVILEGES
from chalicelib.store.tokens import SubjectType
from tests.conftest import Api, deploy_stack, isolate_aws
from tests.wsgi_adapter import ChaliceWsgi

schema = schemathesis.openapi.from_wsgi("/api/v3/onezone/openapi.json", ChaliceWsgi(app.app))
GATEWAY_METHODS = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def credentials() -> Iterator[dict[str, str]]:
    """A moto backend with the stack, an admin access token and a provider root token."""
    with pytest.MonkeyPatch.context() as env:
        isolate_aws(env)
        with mock_aws():
            yield _credentials(deploy_stack(env))
            context.reset()


def _credentials(outputs: dict[str, str]) -> dict[str, str]:
    """An admin access token, and the root token of a provider registered through the API."""
    api = Api(client=Client(app.app, stage_name="local"), env=outputs)
    admin_id = api.create_user("admin", OZ_PRIVILEGES)
    user_token = tokens.issue(context.current(), tokens.new_record(SubjectType.USER, admin_id, int(time.time())))
    body = {
        "token": api.registration_token("admin"),
        "name": "Fuzzed provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": False,
        "domain": "fuzz.example.com",
    }
    registered = api.call("POST", "/providers", body=body)
    assert registered.status_code == 200, registered.body
    return {"user": user_token, "provider": registered.json_body["providerRootToken"]}


def answered_by_gateway(response: Any) -> bool:
    """A path the gateway could not route (e.g. a path parameter of "?" or "/"): API Gateway answers
    that itself - with a Onedata 404 on AWS (infra/chalice-merge.yaml), with its default JSON 403
    in chalice's local emulation - and the app never sees it."""
    return response.status_code == 403 and "message" in json.loads(response.content or b"{}")


def onedata_error(body: bytes) -> None:
    error = json.loads(body)["error"]
    assert isinstance(error["id"], str)
    assert isinstance(error["description"], str)
    assert set(error) <= {"id", "description", "details"}


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_the_contract(case: Any, credentials: dict[str, str]) -> None:
    if case.method.upper() not in GATEWAY_METHODS:
        return  # API Gateway itself refuses the method: it never reaches the app
    path = case.operation.path
    own = "provider" if path == "/api/v3/onezone/provider" or path.startswith("/api/v3/onezone/provider/") else "user"
    for headers in ({}, {"X-Auth-Token": credentials[own]}):
        response = case.call(headers={**(case.headers or {}), **headers})
        if answered_by_gateway(response):
            continue
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            onedata_error(response.content)
