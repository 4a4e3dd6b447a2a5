"""Provider tokens and service tokens (reference §1, §3.1, §3.12a, §6).

A Oneprovider's temporary tokens - its identity token is what Onepanel presents as its service
token - and named tokens; then what a service token changes: `service` caveats are checked
against the service it proves, a user must be a member of that provider's cluster
(`tokenServiceForbidden`), and a token meant only for a Onepanel may only read users, clusters
and providers. The `opp-`/`opw-` marks are understood wherever a token is read.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib import context
from tests.conftest import Api, error_of
from tests.provider_helpers import Registered, register_provider
from tests.token_helpers import identifier_of


def until(seconds: int) -> dict[str, Any]:
    """A time caveat ending `seconds` from now."""
    return {"type": "time", "validUntil": int(time.time()) + seconds}


def identity_body() -> dict[str, Any]:
    """Onepanel's call D: an identity token for 60 s."""
    return {"type": {"identityToken": {}}, "caveats": [until(60)]}


def temporary(api: Api, headers: dict[str, str], *caveats: dict[str, Any], path: str = "/user/tokens/temporary") -> Any:
    body = {"caveats": [until(600), *caveats]}
    return api.call("POST", path, body, headers=headers)


def user_token(api: Api, username: str, *caveats: dict[str, Any]) -> str:
    response = temporary(api, api.basic(username, "user-secret-1"), *caveats)
    assert response.status_code == 201, response.body
    return str(response.json_body["token"])


def identity_of(api: Api, provider: Registered) -> str:
    response = api.call("POST", "/provider/tokens/temporary", identity_body(), headers=provider.headers)
    assert response.status_code == 201, response.body
    return str(response.json_body["token"])


def auth_error(response: Any) -> tuple[int, str | None]:
    error = error_of(response)
    return response.status_code, error.get("details", {}).get("authError", {}).get("id")


def service(provider_id: str) -> dict[str, Any]:
    return {"type": "service", "whitelist": [f"opp-{provider_id}"]}


def test_onepanels_identity_token_over_rest(api: Api, krk: Registered) -> None:
    """Call D: Onepanel's fallback when op-worker cannot give it its identity token."""
    response = api.call(
        "POST", "/provider/tokens/temporary", identity_body(), headers={"X-Auth-Token": f"opp-{krk.root_token}"}
    )
    assert (response.status_code, set(response.json_body)) == (201, {"token"})
    assert "Location" not in response.headers
    identifier = identifier_of(response.json_body["token"])
    assert identifier.serialize().startswith(f"2/tmp-1/prv-{krk.id}/idn/")
    verified = api.call("POST", "/tokens/verify_identity_token", {"token": response.json_body["token"]})
    assert verified.json_body["subject"] == {"type": "oneprovider", "id": krk.id}
    assert 0 < verified.json_body["ttl"] <= 60
    # Without a type, an access token: it authenticates the provider.
    access = api.call(
        "POST", "/provider/tokens/temporary", {"caveats": identity_body()["caveats"]}, headers=krk.headers
    )
    assert api.call("GET", "/provider", headers={"X-Auth-Token": access.json_body["token"]}).status_code == 200


def test_temporary_tokens_need_a_time_caveat_within_the_limit(
    api: Api, alice: str, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    for headers, path in (
        (krk.headers, "/provider/tokens/temporary"),
        (api.basic("alice", "user-secret-1"), "/user/tokens/temporary"),
    ):
        for caveats in ([], [until(2592000 + 60)]):
            refused = api.call("POST", path, {"caveats": caveats}, headers=headers)
            assert (refused.status_code, error_of(refused)["details"]) == (400, {"maxTtl": 2592000}), path
        monkeypatch.setenv("MAX_TEMPORARY_TOKEN_TTL", "120")
        context.reset()
        refused = temporary(api, headers, path=path)  # 600 s
        assert (error_of(refused)["id"], error_of(refused)["details"]) == ("tokenTimeCaveatRequired", {"maxTtl": 120})
        monkeypatch.delenv("MAX_TEMPORARY_TOKEN_TTL")
        context.reset()


def test_revoking_a_providers_temporary_tokens(api: Api, krk: Registered) -> None:
    token = identity_of(api, krk)
    assert api.call("GET", "/provider/tokens/temporary", headers=krk.headers).json_body == {"generation": 1}
    assert api.call("DELETE", "/provider/tokens/temporary", headers=krk.headers).status_code == 204
    assert api.call("GET", "/provider/tokens/temporary", headers=krk.headers).json_body == {"generation": 2}
    revoked = api.call("POST", "/tokens/verify_identity_token", {"token": token})
    assert error_of(revoked)["id"] == "tokenRevoked"
    fresh = identity_of(api, krk)
    assert api.call("POST", "/tokens/verify_identity_token", {"token": fresh}).status_code == 200


def test_who_manages_a_providers_tokens(api: Api, alice: str, krk: Registered) -> None:
    bob = api.create_user("bob")
    api.create_user("manager", ("oz_tokens_manage",))
    join = api.call("PUT", f"/clusters/{krk.id}/users/{bob}", {}, headers=krk.headers)  # cluster_view only
    assert join.status_code == 201
    other = register_provider(api, "alice", subdomain="gdn")
    base = f"/providers/{krk.id}/tokens"
    alices, bobs = api.basic("alice", "user-secret-1"), api.basic("bob", "user-secret-1")
    assert temporary(api, alices, path=f"{base}/temporary").status_code == 201  # cluster_update
    assert temporary(api, api.basic("manager", "user-secret-1"), path=f"{base}/temporary").status_code == 201
    for headers in (bobs, other.headers):
        assert temporary(api, headers, path=f"{base}/temporary").status_code == 403
        assert api.call("GET", f"{base}/named", headers=headers).status_code == 403
    assert api.call("GET", f"{base}/temporary", headers=bobs).json_body == {"generation": 1}  # members read it
    assert api.call("GET", f"{base}/temporary", headers=other.headers).status_code == 403
    gone = api.call("GET", "/providers/nosuchprovider/tokens/named", headers=api.basic("manager", "user-secret-1"))
    assert (gone.status_code, error_of(gone)["id"]) == (404, "notFound")


def test_named_tokens_of_a_provider(api: Api, alice: str, krk: Registered) -> None:
    root_id = identifier_of(krk.root_token).id
    assert api.call("GET", "/provider/tokens/named", headers=krk.headers).json_body == {"tokens": [root_id]}
    root = api.call("GET", "/provider/tokens/named/name/root%20token", headers=krk.headers).json_body
    assert (root["id"], root["subject"], root["token"]) == (
        root_id,
        {"type": "oneprovider", "id": krk.id},
        krk.root_token,
    )
    body = {"name": "my access (1)", "type": {"accessToken": {}}}
    created = api.call("POST", f"/providers/{krk.id}/tokens/named", body, headers=api.basic("alice", "user-secret-1"))
    assert created.status_code == 201
    listed = api.call("GET", "/provider/tokens/named", headers=krk.headers).json_body["tokens"]
    assert sorted(listed) == sorted([root_id, created.json_body["tokenId"]])
    by_name = api.call("GET", f"/providers/{krk.id}/tokens/named/name/my%20access%20(1)", headers=krk.headers)
    assert by_name.json_body["id"] == created.json_body["tokenId"]
    assert api.call("GET", "/provider/tokens/named/name/nothing", headers=krk.headers).status_code == 404
    # Deleting them all deletes the root token too, as in Onezone.
    assert api.call("DELETE", "/provider/tokens/named", headers=krk.headers).status_code == 204
    assert auth_error(api.call("GET", "/provider", headers=krk.headers)) == (401, "tokenInvalid")
    api.create_user("manager", ("oz_tokens_manage",))
    manage = api.basic("manager", "user-secret-1")
    assert api.call("GET", f"/providers/{krk.id}/tokens/named", headers=manage).json_body == {"tokens": []}
    # Deregistering it afterwards still works.
    api.create_user("remover", ("oz_providers_delete",))
    assert api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("remover", "user-secret-1")).status_code == 204


def test_a_service_token_makes_onepanel_the_service(api: Api, alice: str, krk: Registered) -> None:
    api.create_user("carol")
    panel = {"x-onedata-service-token": f"opp-{identity_of(api, krk)}"}
    mine = {"X-Auth-Token": user_token(api, "alice"), **panel}
    assert api.call("GET", "/user", headers=mine).json_body["userId"] == alice
    refused = api.call("GET", "/user", headers={"X-Auth-Token": user_token(api, "carol"), **panel})
    error = error_of(refused)
    assert auth_error(refused) == (401, "tokenServiceForbidden")
    assert error["details"]["authError"]["details"] == {"service": {"type": "op_panel", "id": krk.id}}
    # Without its mark the service token means op-worker: the same membership is required.
    worker = {"X-Auth-Token": user_token(api, "carol"), "x-onedata-service-token": identity_of(api, krk)}
    assert auth_error(api.call("GET", "/user", headers=worker)) == (401, "tokenServiceForbidden")
    identity = api.call("POST", "/user/tokens/temporary", identity_body(), headers=api.basic("alice", "user-secret-1"))
    for token, reason in (
        ("garbage", "badToken"),
        (identity.json_body["token"], "tokenInvalid"),  # a user's identity proves no service
        (user_token(api, "alice"), "notAnIdentityToken"),
    ):
        bad = api.call(
            "GET", "/user", headers={"X-Auth-Token": user_token(api, "alice"), "x-onedata-service-token": token}
        )
        assert auth_error(bad) == (401, "badServiceToken")
        assert error_of(bad)["details"]["authError"]["details"]["tokenError"]["id"] == reason


def test_a_token_meant_for_a_onepanel(api: Api, alice: str, krk: Registered) -> None:
    """`service = opp-<id>`: usable only with that Onepanel's service token, and only to read
    users, clusters and providers there."""
    other = register_provider(api, "alice", subdomain="gdn")
    token = user_token(api, "alice", service(krk.id))
    panel = {"X-Auth-Token": token, "x-onedata-service-token": f"opp-{identity_of(api, krk)}"}
    for path in (
        "/user",
        "/user/effective_clusters/",
        f"/clusters/{krk.id}",
        f"/clusters/{krk.id}/users",
        f"/providers/{krk.id}",
    ):
        assert api.call("GET", path, headers=panel).status_code == 200, path
    confined = api.call("POST", "/user/tokens/named", {"name": "more"}, headers=panel)
    assert auth_error(confined) == (401, "tokenCaveatUnverified")
    assert error_of(confined)["details"]["authError"]["details"]["caveat"] == service(krk.id)
    assert auth_error(api.call("GET", "/user", headers={"X-Auth-Token": token})) == (401, "tokenCaveatUnverified")
    elsewhere = {"X-Auth-Token": token, "x-onedata-service-token": f"opp-{identity_of(api, other)}"}
    assert auth_error(api.call("GET", "/user", headers=elsewhere)) == (401, "tokenCaveatUnverified")
    any_panel = user_token(api, "alice", {"type": "service", "whitelist": ["opp-*"]})
    assert api.call("GET", "/user", headers={**elsewhere, "X-Auth-Token": any_panel}).status_code == 200


def test_issuing_a_token_for_a_service_that_may_not_serve_the_user(api: Api, alice: str, krk: Registered) -> None:
    api.create_user("carol")
    refused = temporary(api, api.basic("carol", "user-secret-1"), service(krk.id))
    assert (refused.status_code, error_of(refused)["id"]) == (400, "tokenServiceForbidden")
    named = api.call(
        "POST",
        "/user/tokens/named",
        {"name": "panel", "caveats": [service(krk.id)]},
        headers=api.basic("carol", "user-secret-1"),
    )
    assert error_of(named)["id"] == "tokenServiceForbidden"
    assert temporary(api, api.basic("alice", "user-secret-1"), service(krk.id)).status_code == 201
    own = temporary(
        api, krk.headers, {"type": "service", "whitelist": [f"opw-{krk.id}"]}, path="/provider/tokens/temporary"
    )
    assert error_of(own)["id"] == "tokenServiceForbidden"  # a provider's tokens are Onezone's to serve


def test_verify_access_token_with_onepanels_service_token(api: Api, alice: str, krk: Registered) -> None:
    """Call A, as Onepanel sends it: `opp-` on its own credentials and on its service token."""
    api.create_user("carol")
    body = {"peerIp": "192.0.2.7", "serviceToken": f"opp-{identity_of(api, krk)}"}
    onepanel = {"X-Auth-Token": f"opp-{krk.root_token}"}
    token = user_token(api, "alice", service(krk.id))
    verified = api.call("POST", "/tokens/verify_access_token", {**body, "token": token}, headers=onepanel)
    assert verified.json_body["subject"] == {"type": "user", "id": alice}
    assert 0 < verified.json_body["ttl"] <= 600
    marked = api.call("POST", "/tokens/verify_access_token", {**body, "token": f"opp-{token}"}, headers=onepanel)
    assert marked.status_code == 200  # the mark is understood on the token field too
    refused = api.call("POST", "/tokens/verify_access_token", {**body, "token": user_token(api, "carol")})
    assert (refused.status_code, error_of(refused)["id"]) == (400, "tokenServiceForbidden")
    onezone_only = user_token(api, "alice", {"type": "service", "whitelist": ["ozw-onezone"]})
    refused = api.call("POST", "/tokens/verify_access_token", {**body, "token": onezone_only})
    assert error_of(refused)["id"] == "tokenCaveatUnverified"
    bad = api.call("POST", "/tokens/verify_access_token", {**body, "token": token, "serviceToken": "opx-abc"})
    assert (error_of(bad)["id"], error_of(bad)["details"]["tokenError"]["id"]) == ("badServiceToken", "badToken")
