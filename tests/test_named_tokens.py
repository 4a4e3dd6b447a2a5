"""Named and temporary tokens, their management and examination, through the HTTP surface:
POST /user/tokens/named, POST /user/tokens/temporary, GET /user/tokens/named,
GET/PATCH/DELETE /tokens/named/{id}, POST /tokens/examine - and what the tokens then do."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib import context
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from tests.conftest import USER_PASSWORD, Api, error_of, refused
from tests.provider_helpers import register_provider, scan
from tests.token_helpers import forged, identifier_of, macaroon_of

INVITE = {"inviteToken": {"inviteType": "registerOneprovider"}}
ACCESS: dict[str, Any] = {"accessToken": {}}
MAX_TTL = 30 * 24 * 3600  # Onezone's limit for temporary tokens


def alice_auth(api: Api) -> dict[str, str]:
    return api.basic("alice", USER_PASSWORD)


def create_named(api: Api, name: str, type_: dict[str, Any] = INVITE, username: str = "alice", **extra: Any) -> Any:
    body = {"name": name, "type": type_, **extra}
    return api.call("POST", "/user/tokens/named", body=body, headers=api.basic(username, USER_PASSWORD))


def created(response: Any) -> tuple[str, str]:
    assert response.status_code == 201, response.body
    body = response.json_body
    assert set(body) == {"tokenId", "token"}
    assert identifier_of(body["token"]).id == body["tokenId"]
    return body["tokenId"], body["token"]


def temporary(api: Api, type_: dict[str, Any] = ACCESS, ttl: int = 3600, username: str = "alice") -> tuple[str, str]:
    """A temporary token's id and the token (the answer holds the token only, as Onezone's)."""
    body = {"type": type_, "caveats": [{"type": "time", "validUntil": int(time.time()) + ttl}]}
    response = api.call("POST", "/user/tokens/temporary", body=body, headers=api.basic(username, USER_PASSWORD))
    assert response.status_code == 201, response.body
    assert set(response.json_body) == {"token"}
    token = response.json_body["token"]
    return identifier_of(token).id, token


def registration(api: Api, token: str, subdomain: str) -> Any:
    body = {
        "token": token,
        "name": "Provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": ["192.0.2.1"],
    }
    return api.call("POST", "/providers", body=body)


def info(api: Api, token_id: str, username: str = "alice") -> Any:
    return api.call("GET", f"/tokens/named/{token_id}", headers=api.basic(username, USER_PASSWORD))


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


# ---- named tokens ------------------------------------------------------------------------------


def test_named_invite_token_registers_a_provider(api: Api, alice: str) -> None:
    before = time.time()
    response = create_named(api, "my invite", usageLimit=1)
    token_id, token = created(response)
    assert response.headers["Location"] == f"https://onezone.test/api/v3/onezone/tokens/named/{token_id}"
    assert api.call("GET", "/user/tokens/named", headers=alice_auth(api)).json_body == {"tokens": [token_id]}
    shown = info(api, token_id).json_body
    created_at = shown.pop("creationTime")
    assert before - 1 <= created_at <= time.time() + 1
    assert shown == {
        "id": token_id,
        "name": "my invite",
        "persistence": "named",
        "subject": {"type": "user", "id": alice},
        "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": alice, "parameters": {}}},
        "caveats": [],
        "metadata": {
            "creationTime": created_at,
            "custom": {},
            "privileges": None,
            "usageLimit": 1,
            "usageCount": 0,
        },
        "revoked": False,
        "token": token,  # minted again from its item, identical
        "usageLimit": 1,
        "usageCount": 0,
    }
    # Nothing secret is stored: neither the token nor its signature.
    stored = json.dumps(scan(api, "TOKENS_TABLE"))
    assert token not in stored
    assert macaroon_of(token).signature not in stored

    registered = registration(api, token, "krk")
    assert registered.status_code == 200, registered.body
    assert registered.json_body["adminUserId"] == alice
    assert info(api, token_id).json_body["usageCount"] == 1
    again = registration(api, token, "waw")
    assert (again.status_code, error_of(again)["id"]) == (400, "inviteTokenUsageLimitReached")


def test_usage_limits(api: Api, alice: str) -> None:
    limited_id, limited = created(create_named(api, "twice", usageLimit=2))
    endless_id, endless = created(create_named(api, "endless", usageLimit="infinity"))
    default_id, default = created(create_named(api, "default"))
    for i in range(2):
        assert registration(api, limited, f"l{i}").status_code == 200
    third = registration(api, limited, "l2")
    assert error_of(third)["id"] == "inviteTokenUsageLimitReached"
    assert (info(api, limited_id).json_body["usageLimit"], info(api, limited_id).json_body["usageCount"]) == (2, 2)
    for token, token_id, prefix in ((endless, endless_id, "e"), (default, default_id, "d")):
        for i in range(3):
            assert registration(api, token, f"{prefix}{i}").status_code == 200
        shown = info(api, token_id).json_body
        assert (shown["usageLimit"], shown["usageCount"]) == ("infinity", 3)
    assert len(api.call("GET", "/user/clusters", headers=alice_auth(api)).json_body["clusters"]) == 8


def test_revoking_and_reinstating(api: Api, alice: str) -> None:
    token_id, token = created(create_named(api, "invite"))
    access_id, access = created(create_named(api, "access", ACCESS))
    for target in (token_id, access_id):
        revoked = api.call("PATCH", f"/tokens/named/{target}", body={"revoked": True}, headers=alice_auth(api))
        assert revoked.status_code == 204
        assert info(api, target).json_body["revoked"] is True
    refused = registration(api, token, "krk")
    assert (refused.status_code, error_of(refused)["id"]) == (400, "tokenRevoked")
    denied = api.call("GET", "/user", headers={"X-Auth-Token": access})
    assert (denied.status_code, error_of(denied)["details"]["authError"]["id"]) == (401, "tokenRevoked")
    # Examining still works: a revoked token is still what it is.
    assert api.call("POST", "/tokens/examine", body={"token": token}).json_body["id"] == token_id

    assert (
        api.call("PATCH", f"/tokens/named/{token_id}", body={"revoked": "false"}, headers=alice_auth(api)).status_code
        == 204
    )
    assert registration(api, token, "krk").status_code == 200
    assert scan(api, "PROVIDERS_TABLE")


def test_revocation_validation(api: Api, alice: str) -> None:
    token_id, _ = created(create_named(api, "invite"))
    before = scan(api, "TOKENS_TABLE")
    for raw, error_id, key in [
        ("{}", "missingRequiredValue", "revoked"),
        ('{"revoked": null}', "missingRequiredValue", "revoked"),
        ('{"revoked": "yes"}', "badValueBoolean", "revoked"),
        ('{"revoked": 1}', "badValueBoolean", "revoked"),
        ("{", "malformedData", None),
    ]:
        response = api.call("PATCH", f"/tokens/named/{token_id}", raw=raw, headers=alice_auth(api))
        assert response.status_code == 400, raw
        error = error_of(response)
        assert error["id"] == error_id, raw
        if key:
            assert error["details"]["key"] == key, raw
    assert scan(api, "TOKENS_TABLE") == before


def test_deleting_a_token(api: Api, admin: str, alice: str) -> None:
    token_id, token = created(create_named(api, "invite"))
    access_id, access = created(create_named(api, "access", ACCESS))
    assert api.call("GET", "/user", headers={"X-Auth-Token": access}).status_code == 200
    for target in (token_id, access_id):
        assert api.call("DELETE", f"/tokens/named/{target}", headers=alice_auth(api)).status_code == 204
    assert api.call("GET", "/user/tokens/named", headers=alice_auth(api)).json_body == {"tokens": []}
    assert user_store.get(context.current(), alice).namedTokens == []
    assert token_store.TABLE.get(context.current(), token_id) is None

    refused = registration(api, token, "krk")
    assert (refused.status_code, error_of(refused)["id"]) == (400, "tokenInvalid")
    denied = api.call("GET", "/user", headers={"X-Auth-Token": access})
    assert (denied.status_code, error_of(denied)["details"]["authError"]["id"]) == (401, "tokenInvalid")
    # Examining reads the token alone: it still says what it claims to be.
    examined = api.call("POST", "/tokens/examine", body={"token": token})
    assert (examined.status_code, examined.json_body["id"]) == (200, token_id)

    # Gone for its owner (who learns nothing more than any other user) and for an admin (404).
    assert info(api, token_id).status_code == 403
    assert api.call("DELETE", f"/tokens/named/{token_id}", headers=alice_auth(api)).status_code == 403
    assert (info(api, token_id, "admin").status_code, error_of(info(api, token_id, "admin"))["id"]) == (404, "notFound")
    assert api.call("DELETE", f"/tokens/named/{token_id}", headers=api.basic("admin", USER_PASSWORD)).status_code == 404
    # The name is free again, and the new token is a different one.
    new_id, _ = created(create_named(api, "invite"))
    assert new_id != token_id
    # No claim of a deleted token's name is left behind.
    names = [i["identifier"] for i in scan(api, "IDENTIFIERS_TABLE") if i["identifier"].startswith("tokenname:")]
    assert names == [f"tokenname:{alice}:invite"]


def test_names_are_unique_per_user(api: Api, alice: str) -> None:
    api.create_user("bob")
    created(create_named(api, "same"))
    taken = create_named(api, "same", ACCESS)
    assert taken.status_code == 400
    assert error_of(taken) == {
        "id": "badValueIdentifierOccupied",
        "description": 'Bad value: provided identifier ("name") is already occupied.',
        "details": {"key": "name"},
    }
    created(create_named(api, "same", username="bob"))
    assert len(api.call("GET", "/user/tokens/named", headers=alice_auth(api)).json_body["tokens"]) == 1


NAMED_ERRORS: list[tuple[Any, str, str | None]] = [
    ({"type": INVITE}, "missingRequiredValue", "name"),
    ({}, "missingRequiredValue", "name"),
    ({"name": "x", "type": INVITE}, "badValueName", None),
    ({"name": 5, "type": INVITE}, "badValueString", "name"),
    ({"name": "t1", "type": {}}, "badValueTokenType", "type"),
    ({"name": "t1", "type": {"accessToken": {}, **INVITE}}, "badValueTokenType", "type"),
    ({"name": "t1", "type": {"inviteToken": {"inviteType": "userJoinGroup"}}}, "badValueTokenType", "type"),
    ({"name": "t1", "type": {"accessToken": {"sessionId": "s"}}}, "badValueTokenType", "type"),
    ({"name": "t1", "type": "invite"}, "badValueTokenType", "type"),
    ({"name": "t1", "type": INVITE, "usageLimit": 0}, "badData", "usageLimit"),
    ({"name": "t1", "type": INVITE, "usageLimit": -3}, "badData", "usageLimit"),
    ({"name": "t1", "type": INVITE, "usageLimit": 1.5}, "badData", "usageLimit"),
    ({"name": "t1", "type": INVITE, "usageLimit": "lots"}, "badData", "usageLimit"),
    ({"name": "t1", "type": INVITE, "usageLimit": True}, "badData", "usageLimit"),
    ({"name": "t1", "type": INVITE, "caveats": "soon"}, "badData", "caveats"),
    ({"name": "t1", "type": INVITE, "caveats": [{"type": "ip", "whitelist": []}]}, "badValueCaveat", None),
    ({"name": "t1", "type": INVITE, "caveats": [{"type": "time"}]}, "badValueCaveat", None),
    ("[]", "malformedData", None),
]


def test_named_token_validation_stores_nothing(api: Api, alice: str) -> None:
    before = {table: scan(api, table) for table in ("TOKENS_TABLE", "IDENTIFIERS_TABLE", "USERS_TABLE")}
    for body, error_id, key in NAMED_ERRORS:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = api.call("POST", "/user/tokens/named", raw=raw, headers=alice_auth(api))
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["id"] == error_id, body
        if key is not None:
            assert error["details"]["key"] == key, body
    assert {table: scan(api, table) for table in before} == before


def test_invites_for_another_admin_and_the_restricted_policy(
    api: Api, admin: str, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = api.create_user("bob")
    for_bob = {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": bob}}
    denied = create_named(api, "for bob", for_bob)
    assert denied.status_code == 403
    assert "oz_providers_invite" in error_of(denied)["details"]["hint"]
    nobody = {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": "no-such-user"}}
    unknown = create_named(api, "for nobody", nobody, username="admin")
    assert (unknown.status_code, error_of(unknown)["details"]) == (400, {"key": "adminUserId"})
    assert error_of(unknown)["id"] == "badValueIdentifier"
    # Naming oneself explicitly is the same as naming nobody.
    self_id, _ = created(create_named(api, "for me", {"inviteToken": {**INVITE["inviteToken"], "adminUserId": alice}}))
    assert info(api, self_id).json_body["type"]["inviteToken"]["adminUserId"] == alice

    api.set_policy(monkeypatch, "restricted")
    for path, body in (
        ("/user/tokens/named", {"name": "restricted", "type": INVITE}),
        (
            "/user/tokens/temporary",
            {"type": INVITE, "caveats": [{"type": "time", "validUntil": int(time.time()) + 60}]},
        ),
    ):
        refused = api.call("POST", path, body=body, headers=alice_auth(api))
        assert refused.status_code == 403, path
        assert "oz_providers_invite" in error_of(refused)["details"]["hint"], path
    # Access tokens need no privilege; invites do, and an admin holding it may invite for bob.
    created(create_named(api, "still fine", ACCESS))
    _, token = created(create_named(api, "for bob", for_bob, username="admin"))
    assert registration(api, token, "krk").json_body["adminUserId"] == bob


# ---- temporary tokens --------------------------------------------------------------------------


def test_temporary_access_token_authenticates_the_user(api: Api, alice: str) -> None:
    token_id, token = temporary(api)
    for headers in ({"X-Auth-Token": token}, {"Authorization": f"Bearer {token}"}):
        response = api.call("GET", "/user", headers=headers)
        assert response.status_code == 200, response.body
        assert response.json_body["userId"] == alice
    # It is neither listed nor manageable as a named token, and carries its time caveat.
    assert api.call("GET", "/user/tokens/named", headers=alice_auth(api)).json_body == {"tokens": []}
    # (Whether a token id exists is told to its subject or a token manager only.)
    assert (info(api, token_id).status_code, error_of(info(api, token_id))["id"]) == (403, "forbidden")
    [caveat] = macaroon_of(token).caveats
    assert caveat.caveat_id.startswith("time < ")
    # A temporary token can itself be used to mint tokens.
    minted = api.call(
        "POST", "/user/tokens/named", body={"name": "minted", "type": ACCESS}, headers={"X-Auth-Token": token}
    )
    created(minted)
    # Nothing was stored for it: temporary tokens live in their subject's generation only.
    assert token_store.TABLE.get(context.current(), token_id) is None


def test_temporary_invite_registers_until_it_expires(api: Api, alice: str) -> None:
    _, token = temporary(api, INVITE)
    assert registration(api, token, "krk").status_code == 200
    assert registration(api, token, "waw").status_code == 200  # no usage limit, only a time limit
    _, expired = temporary(api, INVITE, ttl=-1)
    refused = registration(api, expired, "gdn")
    assert (refused.status_code, error_of(refused)["id"]) == (400, "tokenCaveatUnverified")
    _, expired_access = temporary(api, ttl=-1)
    denied = api.call("GET", "/user", headers={"X-Auth-Token": expired_access})
    assert error_of(denied)["details"]["authError"]["id"] == "tokenCaveatUnverified"


def test_temporary_tokens_need_a_bounded_time_caveat(api: Api, alice: str) -> None:
    now = int(time.time())
    before = scan(api, "TOKENS_TABLE")
    for caveats in (None, [], [{"type": "time", "validUntil": now + MAX_TTL + 60}]):
        body: dict[str, Any] = {"type": ACCESS} if caveats is None else {"type": ACCESS, "caveats": caveats}
        response = api.call("POST", "/user/tokens/temporary", body=body, headers=alice_auth(api))
        assert response.status_code == 400, caveats
        assert error_of(response) == {
            "id": "tokenTimeCaveatRequired",
            "description": f"You must specify a time caveat with maximum TTL of {MAX_TTL} seconds.",
            "details": {"maxTtl": MAX_TTL},
        }
    later = {"type": "time", "validUntil": "later"}
    for body, error_id, details in [
        ({}, "tokenTimeCaveatRequired", {"maxTtl": MAX_TTL}),  # an access token, by default
        ({"type": {}}, "badValueTokenType", {"key": "type"}),
        ({"type": ACCESS, "caveats": [later]}, "badValueCaveat", {"caveat": later}),
    ]:
        response = api.call("POST", "/user/tokens/temporary", body=body, headers=alice_auth(api))
        assert (response.status_code, error_of(response)["id"], error_of(response)["details"]) == (
            400,
            error_id,
            details,
        ), body
    assert scan(api, "TOKENS_TABLE") == before

    # The earliest time caveat is what counts: one within the limit is enough.
    caveats = [
        {"type": "time", "validUntil": now + MAX_TTL + 60},
        {"type": "time", "validUntil": now + MAX_TTL - 60},
    ]
    response = api.call(
        "POST", "/user/tokens/temporary", body={"type": ACCESS, "caveats": caveats}, headers=alice_auth(api)
    )
    assert response.status_code == 201, response.body
    token = response.json_body["token"]
    assert [c.caveat_id for c in macaroon_of(token).caveats] == [
        f"time < {now + MAX_TTL + 60}",
        f"time < {now + MAX_TTL - 60}",
    ]


# ---- examination -------------------------------------------------------------------------------


def test_examine_shows_what_a_token_is(api: Api, alice: str) -> None:
    named_id, named = created(create_named(api, "invite", usageLimit=3))
    temp_id, temp = temporary(api)
    provider = register_provider(api, token=named)
    valid_until = int(macaroon_of(temp).caveats[0].caveat_id.removeprefix("time < "))
    expected = {
        named: {
            "id": named_id,
            "persistence": "named",
            "subject": {"type": "user", "id": alice},
            "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": alice, "parameters": {}}},
            "caveats": [],
            "onezoneDomain": "onezone.test",
        },
        temp: {
            "id": temp_id,
            "persistence": "temporary",
            "subject": {"type": "user", "id": alice},
            "type": {"accessToken": {}},
            "caveats": [{"type": "time", "validUntil": valid_until}],
            "onezoneDomain": "onezone.test",
        },
        provider.root_token: {
            "id": identifier_of(provider.root_token).id,
            "persistence": "named",
            "subject": {"type": "oneprovider", "id": provider.id},
            "type": {"accessToken": {}},
            "caveats": [],
            "onezoneDomain": "onezone.test",
        },
    }
    for token, shown in expected.items():
        response = api.call("POST", "/tokens/examine", body={"token": token})  # no credentials needed
        assert response.status_code == 200, response.body
        assert response.json_body == shown


def test_examine_errors(api: Api, alice: str) -> None:
    for body, error_id, details in [
        ({"token": "garbage"}, "badValueToken", {"key": "token", "tokenError": "badToken"}),
        ({}, "missingRequiredValue", {"key": "token"}),
        ({"token": ""}, "badValueEmpty", {"key": "token"}),
        ({"token": 42}, "badValueString", {"key": "token"}),
    ]:
        response = api.call("POST", "/tokens/examine", body=body)
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["id"] == error_id, body
        if details is not None:
            shown = {k: v["id"] if isinstance(v, dict) else v for k, v in error["details"].items()}
            assert shown == details, body


# ---- who may manage whose tokens ---------------------------------------------------------------------


def test_only_the_subject_or_a_token_manager_manages_a_token(api: Api, admin: str, alice: str) -> None:
    api.create_user("bob")
    token_id, _ = created(create_named(api, "invite"))
    bob = api.basic("bob", USER_PASSWORD)
    before = scan(api, "TOKENS_TABLE")
    for method, body in (("GET", None), ("PATCH", {"revoked": True}), ("DELETE", None)):
        for target in (token_id, "no-such-token"):
            response = api.call(method, f"/tokens/named/{target}", body=body, headers=bob)
            assert response.status_code == 403, (method, target)
            assert "oz_tokens_manage" in error_of(response)["details"]["hint"], (method, target)
    assert scan(api, "TOKENS_TABLE") == before

    manager = api.basic("admin", USER_PASSWORD)
    assert api.call("GET", f"/tokens/named/{token_id}", headers=manager).json_body["subject"]["id"] == alice
    assert api.call("PATCH", f"/tokens/named/{token_id}", body={"revoked": True}, headers=manager).status_code == 204
    assert info(api, token_id).json_body["revoked"] is True
    assert api.call("DELETE", f"/tokens/named/{token_id}", headers=manager).status_code == 204
    # Deleting somebody else's token frees *their* name and *their* list.
    assert api.call("GET", "/user/tokens/named", headers=alice_auth(api)).json_body == {"tokens": []}
    created(create_named(api, "invite"))
    for method in ("GET", "PATCH", "DELETE"):
        missing = api.call(method, "/tokens/named/no-such-token", body={"revoked": True}, headers=manager)
        assert (missing.status_code, error_of(missing)["id"]) == (404, "notFound"), method


TOKEN_ENDPOINTS = [
    ("POST", "/user/tokens/named", {"name": "n1", "type": INVITE}),
    ("POST", "/user/tokens/temporary", {"type": ACCESS, "caveats": [{"type": "time", "validUntil": 2**31}]}),
    ("GET", "/user/tokens/named", None),
    ("GET", "/tokens/named/{id}", None),
    ("PATCH", "/tokens/named/{id}", {"revoked": True}),
    ("DELETE", "/tokens/named/{id}", None),
]


def test_token_endpoints_reject_missing_bad_and_provider_credentials(api: Api, alice: str) -> None:
    token_id, _ = created(create_named(api, "invite"))
    provider = register_provider(api, subdomain=None)
    _, access = temporary(api)
    before = {table: scan(api, table) for table in ("TOKENS_TABLE", "IDENTIFIERS_TABLE", "USERS_TABLE")}
    cases: list[tuple[dict[str, str], int, str | None]] = [
        ({}, 401, None),
        ({"X-Auth-Token": "garbage"}, 401, "badToken"),
        ({"Authorization": "Bearer garbage"}, 401, "badToken"),
        ({"X-Auth-Token": forged(access)}, 401, "tokenInvalid"),
        (api.basic("alice", "wrong"), 401, "badBasicCredentials"),
        (provider.headers, 403, None),
    ]
    for method, template, body in TOKEN_ENDPOINTS:
        path = template.format(id=token_id)
        for headers, status, auth_error in cases:
            response = api.call(method, path, body=body, headers=headers)
            case = f"{method} {path} with {headers}"
            error = refused(response, status, auth_error, case)
            if status == 403:
                assert error["details"]["hint"] == "this operation is for users, not providers", case
    assert {table: scan(api, table) for table in before} == before
