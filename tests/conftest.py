"""Fixtures: a moto backend holding the infra stack, and the app behind `chalice.test.Client`.

Each test module gets a `mock_aws` backend with `infra/template.yaml` deployed into it, so the
tables and zone under test are the ones AWS would get, and every test starts from that stack as
deployed: `stack_env` deletes whatever items, records and secret versions the previous test left
(deploying anew for every test cost most of the suite's time). Settings are plain environment
variables; the `local` stage of `.chalice/config.json` sets none of them, so what a test sets
holds.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import context, passwords
from chalicelib.models import OZ_PRIVILEGES
from chalicelib.store import users as user_store
from chalicelib.users import accounts
from infra import stack

pytest_plugins = ["tests.aws_calls", "tests.localrun", "tests.graphsync_helpers", "tests.cluster_fixtures"]

USER_PASSWORD = "user-secret-1"
# The app's tables, by the setting that names them.
TABLES = (
    "USERS_TABLE",
    "TOKENS_TABLE",
    "PROVIDERS_TABLE",
    "CLUSTERS_TABLE",
    "MEMBERSHIPS_TABLE",
    "IDENTIFIERS_TABLE",
    "CONNECTIONS_TABLE",
    "STORAGES_TABLE",
)
# Tests create many users; a cheap KDF keeps them fast. Hashes carry their parameters, so the
# service verifies these exactly as it verifies production-strength ones.
FAST_KDF = passwords.KdfParams(log2_n=4, r=1, p=1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each of schemathesis' operation items (tests/test_contract.py) its own node id.

    Schemathesis 4.32.5 names them `test[GET /path]`, but pytest 9.2 builds a node id from the
    function's name and a parametrization's id, which those items lack: every operation had the
    same id, and pytest-xdist, which hands out work by node id, ran only a few of them."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and isinstance(item, pytest.Function) and item.nodeid.endswith(f"::{item.originalname}"):
            item._id = item.parent.id.child(item.originalname).with_params(label)  # type: ignore[union-attr]


def isolate_aws(env: pytest.MonkeyPatch) -> None:
    """Fake credentials, and nothing that could point boto3 at a real endpoint."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            env.delenv(name)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")


def deploy_stack(env: pytest.MonkeyPatch) -> dict[str, str]:
    """The infra stack in the active moto backend, its outputs set as the app's settings.
    Call inside `mock_aws()`."""
    outputs = stack.deploy(boto3.session.Session(), parameters={"Stage": "local", "ZoneDomain": "onezone.test"})
    for name, value in outputs.items():
        env.setenv(name, value)
    env.setenv("REGISTRATION_POLICY", "open")
    env.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "true")
    context.reset()
    return outputs


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws(monkeypatch)


@dataclass
class Backend:
    """A module's moto backend: the deployed stack's outputs and its secrets' first values, and
    what `restore` needs every test (clients, each table's key), made once."""

    env: dict[str, str]
    secrets: dict[str, str]
    clients: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, list[str]] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service)
        return self.clients[service]

    def key(self, table: str) -> list[str]:
        if table not in self.keys:
            schema = self.client("dynamodb").describe_table(TableName=self.env[table])["Table"]["KeySchema"]
            self.keys[table] = [k["AttributeName"] for k in schema]
        return self.keys[table]


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    with pytest.MonkeyPatch.context() as env, mock_aws():
        isolate_aws(env)
        outputs = deploy_stack(env)
        secretsmanager = boto3.client("secretsmanager")
        secrets = {
            outputs[name]: secretsmanager.get_secret_value(SecretId=outputs[name])["SecretString"]
            for name in ("TOKEN_KEY_SECRET_ID", "ADMIN_PASSWORD_SECRET_ID")
        }
        yield Backend(env=outputs, secrets=secrets)
        context.reset()


def restore(backend: Backend) -> None:
    """The stack as deployed: no item in any table, no record but the zone's own (NS, SOA), every
    secret at its first value."""
    env = backend.env
    dynamodb = backend.client("dynamodb")
    for table in TABLES:
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=env[table], ProjectionExpression=", ".join(backend.key(table))
        )
        for item in [item for page in pages for item in page["Items"]]:
            dynamodb.delete_item(TableName=env[table], Key=item)
    route53 = backend.client("route53")
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=env["HOSTED_ZONE_ID"])
    sets = [s for page in pages for s in page["ResourceRecordSets"] if s["Type"] not in ("NS", "SOA")]
    for start in range(0, len(sets), 500):
        changes = [{"Action": "DELETE", "ResourceRecordSet": s} for s in sets[start : start + 500]]
        route53.change_resource_record_sets(HostedZoneId=env["HOSTED_ZONE_ID"], ChangeBatch={"Changes": changes})
    _forget_route53_history(env["HOSTED_ZONE_ID"])
    secretsmanager = backend.client("secretsmanager")
    for secret_id, value in backend.secrets.items():
        if secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"] != value:
            secretsmanager.put_secret_value(SecretId=secret_id, SecretString=value)


def _forget_route53_history(zone_id: str) -> None:
    """moto keeps a journal of every change of a zone and judges a change by it, not by what the
    zone holds: it refuses a `CREATE` identical to any earlier one, as long as some record sorts
    after it (Route 53 refuses a `CREATE` only of a record set that exists now). With the zone
    back to its NS and SOA, its journal goes too, so one test's history cannot fail the next."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.route53.models import route53_backends

    route53_backends[DEFAULT_ACCOUNT_ID]["aws"].zones[zone_id].rr_changes.clear()


@pytest.fixture
def stack_env(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The module's stack, as deployed, with its outputs as the app's settings (a test may
    change them with `monkeypatch`) and a fresh context (new clients: no event handler a test
    registered on the previous ones survives)."""
    for name, value in backend.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REGISTRATION_POLICY", "open")
    monkeypatch.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "true")
    restore(backend)
    context.reset()
    yield backend.env
    context.reset()


@dataclass
class Api:
    """The app over `chalice.test.Client`, with helpers that keep tests about behaviour."""

    client: Client
    env: dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ):
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        sent = {"Content-Type": "application/json", **(headers or {})}
        return getattr(self.client.http, method.lower())(f"/api/v3/onezone{path}", headers=sent, body=payload)

    @staticmethod
    def basic(username: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}

    def create_user(self, username: str, privileges: tuple[str, ...] = ()) -> str:
        """A user created straight in the users table (with a fast KDF); returns its id."""
        user = user_store.UserRecord(
            userId=accounts.new_id(),
            username=username,
            fullName=username.title(),
            passwordHash=passwords.hash_password(USER_PASSWORD, FAST_KDF),
            privileges=sorted(privileges),
            createdAt=0,
        )
        user_store.create(context.current(), user)
        return user.userId

    def registration_token(self, username: str) -> str:
        response = self.call(
            "POST", "/user/clusters/provider_registration_token", headers=self.basic(username, USER_PASSWORD)
        )
        assert response.status_code == 200, response.body
        return response.json_body["token"]

    def register_provider(self, token: str, **body: Any) -> dict[str, Any]:
        """Register a provider with its own domain (`body` overrides); its registration answer."""
        defaults = {"name": "Krakow", "adminEmail": "ops@example.com", "subdomainDelegation": False}
        response = self.call("POST", "/providers", {**defaults, "domain": "krk.example.com", **body, "token": token})
        assert response.status_code == 200, response.body
        return dict(response.json_body)

    def set_policy(self, monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
        monkeypatch.setenv("REGISTRATION_POLICY", policy)
        context.reset()


@pytest.fixture
def api(stack_env: dict[str, str]) -> Iterator[Api]:
    with Client(_app(), stage_name="local") as client:
        yield Api(client=client, env=stack_env)


@pytest.fixture
def admin(api: Api) -> str:
    """The bootstrap admin, holding every privilege (created with a fast KDF)."""
    return api.create_user("admin", OZ_PRIVILEGES)


def _app() -> Any:
    import app

    return app.app


def error_of(response: Any) -> dict[str, Any]:
    """The Onedata error object of a response, after checking its shape and content type."""
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert set(body) == {"error"}
    error = body["error"]
    assert {"id", "description"} <= set(error) <= {"id", "description", "details"}
    return error


def refused(response: Any, status: int, auth_error: str | None, case: str) -> dict[str, Any]:
    """Check a refusal: a 401 `unauthorized` whose `authError` is `auth_error`, or a 403
    `forbidden`. Returns the error object, for what a caller checks beyond that."""
    assert response.status_code == status, case
    error = error_of(response)
    if status == 401:
        assert error["id"] == "unauthorized", case
        assert error.get("details", {}).get("authError", {}).get("id") == auth_error, case
    else:
        assert error["id"] == "forbidden", case
    return error
