"""Black-box: the README's run command (`make run`), then real HTTP with curl and boto3.

Uses the session's running stack (`tests/localrun.py`) - moto server, infra stack, bootstrap
admin, `chalice local` on free ports, exactly as a newcomer would start it - from outside; or,
with `ONEZONE_BASE_URL` set, a deployed stage (`make deploy-check` runs this module against the
stage it deployed into the emulator).
"""

from __future__ import annotations

import json

import pytest

from tests.localrun import ADMIN_PASSWORD, LocalRun

pytestmark = pytest.mark.blackbox


def test_the_run_prints_how_to_log_in(local: LocalRun) -> None:
    assert any("curl -u admin:$ONEZONE_ADMIN_PASSWORD" in line for line in local.output), "".join(local.output)


def token(local: LocalRun) -> str:
    status, body = local.curl(
        "-u", f"admin:{ADMIN_PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 200, body
    return body["token"]


def examine(local: LocalRun, token: str, *flags: str) -> tuple[int, dict]:
    return local.curl("-X", "POST", *flags, "-d", json.dumps({"token": token}), f"{local.base}/tokens/examine")


def test_seed_curl_gets_a_registration_token(local: LocalRun) -> None:
    examined = examine(local, token(local), "-H", "Content-Type: application/json")
    assert examined[0] == 200
    assert examined[1]["onezoneDomain"] == "onezone.test"
    assert examined[1]["caveats"][0]["type"] == "time"


def test_a_json_body_sent_as_a_form_is_read_as_json(local: LocalRun) -> None:
    """`curl -d` without `-H` declares a form; the body is JSON all the same."""
    local.not_on_emulator(
        "its API Gateway parses a form-typed body and re-encodes it before the function sees it "
        "(AWS passes it through byte for byte)"
    )
    status, body = examine(local, token(local))
    assert (status, body["onezoneDomain"]) == (200, "onezone.test")


def test_unknown_paths_are_onedata_404s(local: LocalRun) -> None:
    """As the deployed gateway answers them (not chalice local's own 403)."""
    local.not_on_emulator(
        "answers unknown paths with its own 404 NotFoundException and ignores the API's gateway "
        "responses (make deploy-check checks that answer, and that the responses are set)"
    )
    for path in ("/api/v3/onezone/no/such/path", "/nothing-here", "/api/v3/onezone/providers/a/b"):
        for method in ("GET", "POST"):
            status, body = local.curl("-X", method, f"{local.host}{path}")
            assert (status, body) == (
                404,
                {"error": {"id": "notFound", "description": "The resource could not be found."}},
            )


def test_wrong_password_is_401_onedata_error(local: LocalRun) -> None:
    status, body = local.curl(
        "-u", "admin:wrong", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 401
    assert body["error"]["id"] == "unauthorized"
    assert body["error"]["details"]["authError"]["id"] == "badBasicCredentials"


def test_register_with_subdomain_then_reuse_and_collide(local: LocalRun) -> None:
    first = token(local)
    request = {
        "token": first,
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": "krakow",
        "opWorkerIpAddresses": ["192.0.2.1", "192.0.2.2"],
    }
    url = f"{local.base}/providers"
    headers = ["-H", "Content-Type: application/json", "-X", "POST", url]
    status, body = local.curl(*headers, "-d", json.dumps(request))
    assert status == 200, body
    assert set(body) == {"providerId", "providerRootToken", "macaroon", "adminUserId"}

    assert local.a_record("krakow.onezone.test") == ["192.0.2.1", "192.0.2.2"]

    status, body = local.curl(*headers, "-d", json.dumps({**request, "subdomain": "other"}))
    assert (status, body["error"]["id"]) == (400, "inviteTokenUsageLimitReached")

    status, body = local.curl(*headers, "-d", json.dumps({**request, "token": token(local)}))
    assert (status, body["error"]["id"], body["error"]["details"]) == (
        400,
        "badValueIdentifierOccupied",
        {"key": "subdomain"},
    )


def test_seed_register_example_verbatim(local: LocalRun) -> None:
    seed_body = (
        f'{{\n  "token" : "{token(local)}",\n  "name" : "My provider",\n  "adminEmail" : "person@example.com",\n'
        '  "subdomainDelegation" : "false",\n  "domain" : "my-provider.example.com",\n'
        '  "latitude" : "50.0647",\n  "longitude" : "19.9450",\n}'
    )
    status, body = local.curl(
        "-H", "Content-type: application/json", "-X", "POST", "-d", seed_body, f"{local.base}/providers"
    )
    assert status == 200, body
