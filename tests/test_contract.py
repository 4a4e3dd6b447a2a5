"""Contract fuzzing: schemathesis drives every operation of the app's own OpenAPI document.

The document is loaded from the app itself (`GET /api/v3/onezone/openapi.json`, in process through
`tests/wsgi_adapter.py`) with moto and the infra stack live for the whole module. Every generated
case - valid and invalid bodies, parameters, headers and credentials (schemathesis' positive and
negative modes, its coverage phase included) - is sent twice:

1. as generated: mostly no or made-up credentials;
2. as a real client would send it: valid credentials (Basic, `X-Auth-Token` and `Authorization:
   Bearer` in turn, or the root token of a live provider on `/provider...`), path parameters
   pointing at things that exist (a user, the provider and its cluster, a fresh named token),
   and on `POST /providers` and `POST /tokens/examine` a fresh registration token in the body (a
   fresh invite on `POST /user/clusters/join`, sent by a user of no cluster yet), and now and then
   a documented valid body instead of the generated one - so the fuzzed bodies get past
   authentication and token checks and reach DynamoDB and Route 53. A fuzzed case that deleted
   the live provider's named tokens (its root token among them) or one of its members has the
   state put back for the next.

Every response must be documented (status code, content type, body schema), never a 5xx, and
every error must have the Onedata shape. Deterministic (`derandomize`) and bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from moto import mock_aws
from schemathesis import checks

import app
from chalicelib import context
from chalicelib.models import OZ_PRIVILEGES
from tests.conftest import USER_PASSWORD, Api, deploy_stack, isolate_aws
from tests.token_helpers import access_token
from tests.wsgi_adapter import ChaliceWsgi

API = "/api/v3/onezone"
schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", ChaliceWsgi(app.app))
GATEWAY_METHODS = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}
CREDENTIAL_HEADERS = {"authorization", "x-auth-token"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass
class Live:
    """Things that exist in the backend, for the second sending of each case."""

    api: Api
    user_token: str
    admin_id: str
    other_user_id: str
    provider: tuple[str, str] | None = None  # (id, root token); None once deregistered
    sent: int = 0
    answers: dict[str, set[int]] = field(default_factory=dict)  # "METHOD path" -> statuses seen

    def user_credentials(self) -> dict[str, str]:
        return [
            self.api.basic("admin", USER_PASSWORD),
            {"X-Auth-Token": self.user_token},
            {"Authorization": f"Bearer {self.user_token}"},
        ][self.sent % 3]

    def registration_token(self) -> str:
        return self.api.registration_token("admin")

    def live_provider(self) -> tuple[str, str]:
        """A registered provider (registered again after a fuzzed case deregistered it)."""
        if self.provider is None:
            body = {
                "token": self.registration_token(),
                "name": "Fuzzed provider",
                "adminEmail": "ops@example.com",
                "subdomainDelegation": True,  # so its TXT records can be set
                "subdomain": "fuzz",
                "ipList": ["192.0.2.1"],
            }
            registered = self.api.call("POST", "/providers", body=body)
            assert registered.status_code == 200, registered.body
            self.provider = (registered.json_body["providerId"], registered.json_body["providerRootToken"])
            self.restore_member(self.other_user_id)  # a second member, beside the admin who registered it
        return self.provider

    def restore_member(self, user_id: str) -> None:
        """Make `user_id` a member of the live cluster again (after a fuzzed case removed them)."""
        provider_id, root_token = self.live_provider()
        added = self.api.call("PUT", f"/clusters/{provider_id}/users/{user_id}", {}, {"X-Auth-Token": root_token})
        assert added.status_code in (201, 409), added.body

    def retire_provider(self) -> None:
        """Deregister the live provider whose root token a fuzzed case deleted."""
        if self.provider is not None:
            removed = self.api.call(
                "DELETE", f"/providers/{self.provider[0]}", headers=self.api.basic("admin", USER_PASSWORD)
            )
            assert removed.status_code in (204, 404), removed.body
            self.provider = None

    def invite(self) -> str:
        """A fresh single-use invite to the live cluster, issued by its provider."""
        provider_id, root_token = self.live_provider()
        body = {
            "name": f"fuzz invite {self.sent}",
            "type": {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": provider_id}},
            "usageLimit": 1,
        }
        created = self.api.call("POST", "/provider/tokens/named", body=body, headers={"X-Auth-Token": root_token})
        assert created.status_code == 201, created.body
        return str(created.json_body["token"])

    def newcomer(self) -> dict[str, str]:
        """Credentials of a user of no cluster yet."""
        return {"X-Auth-Token": access_token(self.api.create_user(f"newcomer{self.sent}"), None)}

    def named_token_id(self) -> str:
        body = {"name": f"fuzz {self.sent}", "type": {"accessToken": {}}}
        created = self.api.call("POST", "/user/tokens/named", body=body, headers={"X-Auth-Token": self.user_token})
        assert created.status_code == 201, created.body
        return created.json_body["tokenId"]

    def existing(self, name: str) -> str:
        if name == "user_id":  # a member of the live cluster: the admin who registered it, or another
            return self.admin_id if self.sent % 4 == 1 else self.other_user_id
        if name == "name":
            return "root token"  # every provider's first named token
        if name in ("provider_id", "cluster_id"):
            return self.live_provider()[0]  # a provider's cluster has the provider's id
        if name == "record_name":
            return "_acme-challenge"
        assert name == "token_id", name
        return self.named_token_id()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """A moto backend with the infra stack for the whole module, an admin holding every
    privilege (its access token), another user, and a provider registered through the API."""
    with pytest.MonkeyPatch.context() as env:
        isolate_aws(env)
        with mock_aws():
            api = Api(client=Client(app.app, stage_name="local"), env=deploy_stack(env))
            admin_id = api.create_user("admin", OZ_PRIVILEGES)
            yield Live(
                api=api,
                user_token=access_token(admin_id, None),
                admin_id=admin_id,
                other_user_id=api.create_user("bob"),
            )
            context.reset()


def answered_by_gateway(response: Any) -> bool:
    """A path the gateway could not route (e.g. a path parameter of "?" or "/"): API Gateway answers
    that itself - with a Onedata 404 on AWS (infra/chalice-merge.yaml), with its default JSON 403
    in chalice's local emulation - and the app never sees it."""
    return response.status_code == 403 and "message" in json.loads(response.content or b"{}")


def check(case: Any, response: Any, live: Live) -> None:
    if answered_by_gateway(response):
        return
    case.validate_response(response, checks=CHECKS)
    live.answers.setdefault(f"{case.method.upper()} {case.operation.path}", set()).add(response.status_code)
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error["id"], str), error
        assert isinstance(error["description"], str), error
        assert set(error) <= {"id", "description", "details"}, error
        assert isinstance(error.get("details", {}), dict), error


def as_a_client_would(case: Any, live: Live) -> dict[str, str]:
    """Point every other `case` at things that exist (the rest keep their generated ids: a 404
    for a valid caller) and put a real token in its body; the credentials to send it with."""
    path = case.operation.path
    live.sent += 1  # alternates what is sent: the credentials, existing or generated path parameters
    if path == f"{API}/provider" or path.startswith(f"{API}/provider/"):
        credentials = {"X-Auth-Token": live.live_provider()[1]}
    elif path == f"{API}/user/clusters/join":
        credentials = live.newcomer()
    else:
        credentials = live.user_credentials()
    for name in case.path_parameters or {}:
        if live.sent % 2:
            case.path_parameters[name] = live.existing(name)
    if isinstance(case.body, dict) and case.method == "POST":
        if path in (
            f"{API}/providers",
            f"{API}/tokens/examine",
            f"{API}/tokens/confine",
            f"{API}/tokens/verify_invite_token",
        ):
            case.body = {**case.body, "token": live.registration_token()}
        elif path == f"{API}/tokens/verify_access_token":
            case.body = {**case.body, "token": live.user_token}
        elif path == f"{API}/tokens/verify_identity_token":
            case.body = {**case.body, "token": live.live_provider()[1]}  # a provider's root token proves it
        elif path == f"{API}/user/clusters/join":
            case.body = {**case.body, "token": live.invite()}
    if case.method == "POST" and live.sent % 5 == 0 and path in VALID_BODIES:
        case.body = VALID_BODIES[path](live)  # now and then, what a client that knows the API sends
    return credentials


# Bodies a client that read the documentation sends, beside the generated ones, so that each run
# surely gets past validation once: the fuzzer rarely writes a whole valid registration, or a
# time caveat within the limit of a temporary token.
def _registration(live: Live) -> dict[str, Any]:
    return {
        "token": live.registration_token(),
        "name": "Documented provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": False,
        "domain": "documented.example.com",
    }


def _temporary(_live: Live) -> dict[str, Any]:
    return {"caveats": [{"type": "time", "validUntil": int(time.time()) + 60}]}


VALID_BODIES = {
    f"{API}/providers": _registration,
    f"{API}/provider/tokens/temporary": _temporary,
    f"{API}/providers/{{provider_id}}/tokens/temporary": _temporary,
    f"{API}/user/tokens/temporary": _temporary,
}


def _aliases() -> list[str]:
    """The operations served by the view of an operation before them (`/providers/{id}/tokens/...`
    by `/provider/tokens/...`'s, `/effective_users` by `/users`'...): the same code and bodies
    behind another path, fuzzed with fewer examples."""
    from chalicelib.api.routing import OPERATIONS

    ids = {(op.method, op.path): op.operation_id for op in OPERATIONS}
    seen, aliases = set(), []
    for path, views in app.app.routes.items():
        for method, entry in views.items():
            view = getattr(entry.view_function, "__wrapped__", entry.view_function)
            if view in seen and (method, path) in ids:
                aliases.append(ids[(method, path)])
            seen.add(view)
    return aliases


ALIASES = _aliases()
SETTINGS = {"deadline": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}


@schema.exclude(operation_id=ALIASES).parametrize()
@settings(max_examples=6, **SETTINGS)
def test_every_operation_keeps_the_contract(case: Any, live: Live) -> None:
    fuzz(case, live)


@schema.include(operation_id=ALIASES).parametrize()
@settings(max_examples=3, **SETTINGS)
def test_every_alias_keeps_the_contract(case: Any, live: Live) -> None:
    fuzz(case, live)


def fuzz(case: Any, live: Live) -> None:
    if case.method.upper() not in GATEWAY_METHODS:
        return  # API Gateway itself refuses the method: it never reaches the app
    check(case, case.call(), live)

    credentials = as_a_client_would(case, live)
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
    response = case.call(headers={**generated, **credentials})
    check(case, response, live)
    if case.operation.path == f"{API}/provider" and case.method.upper() == "DELETE" and response.status_code == 204:
        live.provider = None
    if case.method.upper() == "DELETE" and response.status_code == 204:
        restore_after_deletion(case, live)


def restore_after_deletion(case: Any, live: Live) -> None:
    """What a successful fuzzed deletion took from the live state, put back for the next cases."""
    path, params = case.operation.path, case.path_parameters or {}
    if path.endswith("/tokens/named"):  # every named token of a provider went: its root token too
        live.retire_provider()
    elif path == f"{API}/providers/{{provider_id}}" and live.provider and params.get("provider_id") == live.provider[0]:
        live.provider = None
    elif path == f"{API}/clusters/{{cluster_id}}/users/{{user_id}}" and params.get("user_id") in (
        live.admin_id,
        live.other_user_id,
    ):
        live.restore_member(params["user_id"])
    elif path == f"{API}/user/clusters/{{cluster_id}}":
        live.restore_member(live.admin_id)


# What the second sending must have reached across the run: each operation's success status, and
# the errors a valid caller can get (so the fuzzing got past authentication, ids and tokens).
REACHED = {
    "POST /providers": {200, 400},
    "GET /provider": {200},
    "PATCH /provider": {204, 400},
    "DELETE /provider": {204},
    "GET /provider/domain_config": {200},
    "PUT /provider/dns_txt_record/{record_name}": {204, 400},
    "DELETE /provider/dns_txt_record/{record_name}": {204},
    "GET /providers": {200},
    "GET /providers/{provider_id}": {200, 404},
    "DELETE /providers/{provider_id}": {204, 404},
    "GET /clusters/{cluster_id}": {200, 404},
    "PATCH /clusters/{cluster_id}": {204, 400, 404},
    "GET /provider/public/get_current_time": {200},
    "GET /provider/public/check_my_ip": {200},
    "GET /user": {200},
    "GET /user/clusters": {200},
    "POST /user/clusters/provider_registration_token": {200},
    "POST /user/tokens/named": {201, 400},
    "POST /user/tokens/temporary": {201, 400},
    "DELETE /user/tokens/temporary": {204},
    "GET /user/tokens/named": {200},
    "GET /tokens/named/{token_id}": {200, 404},
    "PATCH /tokens/named/{token_id}": {204, 400, 404},
    "DELETE /tokens/named/{token_id}": {204, 404},
    "POST /tokens/examine": {200, 400},
    "POST /tokens/confine": {200, 400},
    "POST /tokens/verify_invite_token": {200, 400},
    "POST /tokens/verify_access_token": {200, 400},
    "POST /tokens/verify_identity_token": {200, 400},
    "GET /users/{user_id}/privileges": {200, 404},
    "GET /configuration": {200},
    "GET /users/{user_id}": {200, 404},
    "POST /users/{user_id}/clusters/provider_registration_token": {200, 404},
    "GET /user/effective_clusters": {200},
    "GET /user/clusters/{cluster_id}": {200, 404},
    "GET /user/effective_clusters/{cluster_id}": {200, 404},
    "DELETE /user/clusters/{cluster_id}": {204, 404},
    "POST /user/clusters/join": {201, 400},
    "GET /clusters": {200},
    "GET /clusters/privileges": {200},
    "GET /clusters/{cluster_id}/users": {200, 404},
    "GET /clusters/{cluster_id}/effective_users": {200, 404},
    "GET /clusters/{cluster_id}/groups": {200, 404},
    "GET /clusters/{cluster_id}/effective_groups": {200, 404},
    "GET /clusters/{cluster_id}/users/{user_id}": {200, 404},
    "GET /clusters/{cluster_id}/effective_users/{user_id}": {200, 404},
    "GET /clusters/{cluster_id}/users/{user_id}/privileges": {200, 404},
    "GET /clusters/{cluster_id}/effective_users/{user_id}/privileges": {200, 404},
    "PATCH /clusters/{cluster_id}/users/{user_id}/privileges": {204, 400, 404},
    "PUT /clusters/{cluster_id}/users/{user_id}": {409, 400, 404},
    "DELETE /clusters/{cluster_id}/users/{user_id}": {204, 404},
    "POST /clusters/{cluster_id}/users/token": {200, 404},
    "POST /provider/tokens/temporary": {201, 400},
    "GET /provider/tokens/temporary": {200},
    "DELETE /provider/tokens/temporary": {204},
    "POST /provider/tokens/named": {201, 400},
    "GET /provider/tokens/named": {200},
    "DELETE /provider/tokens/named": {204},
    "GET /provider/tokens/named/name/{name}": {200, 404},
    "POST /providers/{provider_id}/tokens/temporary": {201, 404},
    "GET /providers/{provider_id}/tokens/temporary": {200, 404},
    "DELETE /providers/{provider_id}/tokens/temporary": {204, 404},
    "POST /providers/{provider_id}/tokens/named": {201, 404},
    "GET /providers/{provider_id}/tokens/named": {200, 404},
    "DELETE /providers/{provider_id}/tokens/named": {204, 404},
    "GET /providers/{provider_id}/tokens/named/name/{name}": {200, 404},
}


def test_the_fuzzing_reached_every_operation(live: Live) -> None:
    """Runs after the fuzzing (pytest keeps file order): every documented operation was answered
    by the app, and deep enough to succeed."""
    if not live.answers:
        pytest.skip("runs after test_every_operation_keeps_the_contract in the same session")
    document = live.api.call("GET", "/openapi.json").json_body
    documented = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
    # Schemathesis leaves out the document's own URL (tests/test_openapi.py checks that one).
    assert documented - set(live.answers) == {f"GET {API}/openapi.json"}
    missing = {
        operation: expected - live.answers[f"{operation.split()[0]} {API}{operation.split()[1]}"]
        for operation, expected in REACHED.items()
    }
    assert {operation: statuses for operation, statuses in missing.items() if statuses} == {}


def test_the_document_states_what_each_delegation_mode_requires(live: Live) -> None:
    """What `required_keys` demands is in the document (JSON Schema `if`/`then`), so bodies the
    document calls valid are the ones the app can accept."""
    document = live.api.call("GET", "/openapi.json").json_body
    registration = {"token": "t", "name": "My provider", "adminEmail": "ops@example.com"}
    for name, base in [("RegisterProviderRequest", registration), ("UpdateDomainConfigRequest", {})]:
        schema_of = {**document["components"]["schemas"][name], "components": document["components"]}
        valid = Draft202012Validator(schema_of).is_valid
        assert valid({**base, "subdomainDelegation": False, "domain": "p.example.com"})
        assert not valid({**base, "subdomainDelegation": "false"})
        assert valid({**base, "subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": []})
        assert valid({**base, "subdomainDelegation": "true", "subdomain": "krk", "ipList": ["192.0.2.1"]})
        assert not valid({**base, "subdomainDelegation": True, "subdomain": "krk"})
        assert not valid({**base, "subdomainDelegation": True, "opWorkerIpAddresses": []})
