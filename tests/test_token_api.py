"""Onezone's public token API through the HTTP surface: examine, confine, verify_*; temporary
token revocation; and the caveats of access tokens authenticating REST calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
from chalice import local

from chalicelib import context
from chalicelib.store import tokens as token_store
from chalicelib.tokens import codec
from chalicelib.tokens.codec import Identifier, Subject, TokenType
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.test_token_codec import VECTORS
from tests.token_helpers import forged, identifier_of, macaroon_of

INVITE = {"inviteToken": {"inviteType": "registerOneprovider"}}


def soon(seconds: int = 600) -> dict[str, Any]:
    return {"type": "time", "validUntil": int(time.time()) + seconds}


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


def alice_auth(api: Api) -> dict[str, str]:
    return api.basic("alice", USER_PASSWORD)


def named(api: Api, name: str, type_: dict[str, Any] | None = None, caveats: list[Any] | None = None) -> str:
    body: dict[str, Any] = {"name": name, "caveats": caveats or []}
    if type_ is not None:
        body["type"] = type_
    response = api.call("POST", "/user/tokens/named", body, headers=alice_auth(api))
    assert response.status_code == 201, response.body
    return str(response.json_body["token"])


def temporary(api: Api, type_: dict[str, Any] | None = None, caveats: list[Any] | None = None) -> str:
    body: dict[str, Any] = {"caveats": caveats or [soon()]}
    if type_ is not None:
        body["type"] = type_
    response = api.call("POST", "/user/tokens/temporary", body, headers=alice_auth(api))
    assert response.status_code == 201, response.body
    assert "Location" not in response.headers
    return str(response.json_body["token"])


def post(api: Api, path: str, body: dict[str, Any], **headers: str) -> Any:
    return api.call("POST", path, body, headers=headers)


# ---- examine ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("identifier", "secret", "caveats", "serialized"), VECTORS)
def test_examine_describes_tokens_of_another_zone(
    api: Api, identifier: Identifier, secret: str, caveats: list[str], serialized: str
) -> None:
    """ctool's own tokens, signed by a zone we do not know: examined, not verified."""
    response = post(api, "/tokens/examine", {"token": serialized})
    assert response.status_code == 200, response.body
    shown = response.json_body
    assert shown["onezoneDomain"] == "domain.example.com"
    assert shown["id"] == identifier.id
    assert shown["persistence"] == identifier.persistence
    assert shown["subject"] == {"type": "user", "id": identifier.subject.id}
    assert shown["type"] == identifier.type.to_json()
    assert len(shown["caveats"]) == len(caveats)


def test_examine_shows_the_session_and_every_caveat(api: Api) -> None:
    shown = post(api, "/tokens/examine", {"token": VECTORS[2].values[3]}).json_body
    assert shown["type"] == {"accessToken": {"sessionId": "sessId"}}
    assert shown["caveats"] == [
        {"type": "data.objectid", "whitelist": ["00000000000CDBDA677569642331323323616263"]},
        {"type": "data.path", "whitelist": ["L3NwYWNlMS9maWxlMS50eHQ=", "L3NwYWNlMi9kaXIvZmlsZTIudHh0"]},
        {"type": "data.readonly"},
        {"type": "api", "whitelist": ["all/all/*.*.*:*"]},
        {"type": "interface", "interface": "graphsync"},
        {"type": "consumer", "whitelist": ["usr-user-id", "grp-group-id"]},
        {"type": "service", "whitelist": ["ozw-onezone"]},
        {"scope": "identityToken"},
        {"type": "geo.region", "filter": "whitelist", "list": ["Asia", "EU"]},
        {"type": "geo.country", "filter": "whitelist", "list": ["PL", "FR"]},
        {"type": "asn", "whitelist": [322]},
        {"type": "ip", "whitelist": ["172.98.11.23/32"]},
        {"type": "time", "validUntil": 8374891234},
    ]


def test_examine_a_temporary_invite_and_a_legacy_token(api: Api) -> None:
    temp = post(api, "/tokens/examine", {"token": VECTORS[1].values[3]}).json_body
    assert (temp["persistence"], temp["type"]) == (
        "temporary",
        {"inviteToken": {"inviteType": "userJoinSpace", "spaceId": "spaceId", "parameters": {}}},
    )
    legacy = codec.mint("old.zone", Identifier.legacy("legacy-id"), "secret", [])
    assert post(api, "/tokens/examine", {"token": legacy}).json_body == {
        "onezoneDomain": "old.zone",
        "id": "legacy-id",
        "persistence": "named",
        "subject": {"type": "nobody", "id": None},
        "type": {"accessToken": {}},
        "caveats": [],
    }


@pytest.mark.parametrize(
    ("token", "token_error"),
    [
        ("garbage", "badToken"),
        ("MDAx0Z", "badToken"),  # a bad escape
        ("ozw-" + VECTORS[0].values[3], "badToken"),  # only Oneprovider services may be indicated
        ("M" * (1024 * 1024 + 1), "tokenTooLarge"),
    ],
)
def test_examine_rejects_what_is_no_token(api: Api, token: str, token_error: str) -> None:
    error = error_of(post(api, "/tokens/examine", {"token": token}))
    assert (error["id"], error["details"]["key"], error["details"]["tokenError"]["id"]) == (
        "badValueToken",
        "token",
        token_error,
    )


def test_examine_reports_a_caveat_no_onedata_component_knows(api: Api) -> None:
    token = codec.confine(macaroon_of(VECTORS[0].values[3]), ["colour = blue"])
    error = error_of(post(api, "/tokens/examine", {"token": token}))
    assert (error["id"], error["details"]) == ("tokenCaveatUnknown", {"caveat": "colour = blue"})


# ---- confine ------------------------------------------------------------------------------------


def test_confine_adds_caveats_that_then_bind(api: Api, alice: str) -> None:
    access = named(api, "access")
    confined = post(
        api,
        "/tokens/confine",
        {"token": access, "caveats": [soon(60), {"type": "interface", "interface": "oneclient"}]},
    )
    assert confined.status_code == 200, confined.body
    token = confined.json_body["token"]
    assert codec.parse(token).caveats[-1] == "interface = oneclient"
    assert identifier_of(token) == identifier_of(access)
    denied = api.call("GET", "/user", headers={"X-Auth-Token": token})
    assert error_of(denied)["details"]["authError"]["details"]["caveat"] == {
        "type": "interface",
        "interface": "oneclient",
    }
    rest_only = post(api, "/tokens/confine", {"token": access, "caveats": [{"type": "interface", "interface": "rest"}]})
    assert api.call("GET", "/user", headers={"X-Auth-Token": rest_only.json_body["token"]}).status_code == 200


def test_confine_works_on_any_token_and_checks_the_caveats(api: Api) -> None:
    foreign = VECTORS[0].values[3]
    confined = post(api, "/tokens/confine", {"token": foreign, "caveats": [{"type": "asn", "whitelist": [1]}]})
    assert codec.parse(confined.json_body["token"]).caveats == ("asn = 1",)
    for caveats, error_id in (
        ([{"type": "asn", "whitelist": []}], "badValueCaveat"),
        ("nope", "badData"),
        (None, "missingRequiredValue"),
    ):
        error = error_of(post(api, "/tokens/confine", {"token": foreign, "caveats": caveats}))
        assert error["id"] == error_id, caveats
    bad = error_of(post(api, "/tokens/confine", {"token": foreign, "caveats": [{"type": "asn", "whitelist": []}]}))
    assert bad == {
        "id": "badValueCaveat",
        "description": 'Provided caveat is invalid: \'{"type":"asn","whitelist":[]}\'.',
        "details": {"caveat": {"type": "asn", "whitelist": []}},
    }


# ---- verify -------------------------------------------------------------------------------------


def test_verify_invite_token(api: Api, alice: str) -> None:
    invite = named(api, "invite", INVITE, [soon(600)])
    verified = post(api, "/tokens/verify_invite_token", {"token": invite, "expectedInviteType": "registerOneprovider"})
    assert verified.status_code == 200, verified.body
    assert verified.json_body["subject"] == {"type": "user", "id": alice}
    assert 590 <= verified.json_body["ttl"] <= 600
    # Verifying does not use it up.
    record = token_store.TABLE.get(context.current(), identifier_of(invite).id)
    assert record.usageCount == 0
    wrong = error_of(post(api, "/tokens/verify_invite_token", {"token": invite, "expectedInviteType": "userJoinGroup"}))
    assert (wrong["id"], wrong["details"]["expectedInviteType"]) == ("notAnInviteToken", "userJoinGroup")
    no_expiry = post(api, "/tokens/verify_invite_token", {"token": named(api, "endless", INVITE)}).json_body
    assert no_expiry["ttl"] is None


def test_verify_uses_the_peer_ip_and_consumer_given(api: Api, alice: str) -> None:
    api.create_user("bob")
    bob_identity = api.call(
        "POST",
        "/user/tokens/temporary",
        {"type": {"identityToken": {}}, "caveats": [soon()]},
        headers=api.basic("bob", USER_PASSWORD),
    ).json_body["token"]
    bob_id = identifier_of(bob_identity).subject.id
    caveats = [{"type": "ip", "whitelist": ["192.0.2.0/24"]}, {"type": "consumer", "whitelist": [f"usr-{bob_id}"]}]
    invite = named(api, "for bob from there", INVITE, caveats)
    fine = post(
        api, "/tokens/verify_invite_token", {"token": invite, "peerIp": "192.0.2.7", "consumerToken": bob_identity}
    )
    assert fine.status_code == 200, fine.body
    elsewhere = error_of(
        post(
            api,
            "/tokens/verify_invite_token",
            {"token": invite, "peerIp": "198.51.100.7", "consumerToken": bob_identity},
        )
    )
    assert (elsewhere["id"], elsewhere["details"]["caveat"]["type"]) == ("tokenCaveatUnverified", "ip")
    anonymous = error_of(post(api, "/tokens/verify_invite_token", {"token": invite, "peerIp": "192.0.2.7"}))
    assert (anonymous["id"], anonymous["details"]["caveat"]["type"]) == ("tokenCaveatUnverified", "consumer")
    bad_consumer = error_of(post(api, "/tokens/verify_invite_token", {"token": invite, "consumerToken": "garbage"}))
    assert (bad_consumer["id"], bad_consumer["details"]["tokenError"]["id"]) == ("badConsumerToken", "badToken")
    bad_ip = error_of(post(api, "/tokens/verify_invite_token", {"token": invite, "peerIp": "somewhere"}))
    assert (bad_ip["id"], bad_ip["details"]["key"]) == ("badValueIPv4Address", "peerIp")


def test_verify_access_token(api: Api, alice: str) -> None:
    access = temporary(api, caveats=[soon(300), {"type": "interface", "interface": "rest"}])
    ok = post(api, "/tokens/verify_access_token", {"token": access, "interface": "rest"}).json_body
    assert ok["subject"] == {"type": "user", "id": alice}
    assert 290 <= ok["ttl"] <= 300
    elsewhere = error_of(post(api, "/tokens/verify_access_token", {"token": access, "interface": "oneclient"}))
    assert elsewhere["id"] == "tokenCaveatUnverified"
    readonly = named(api, "readonly", caveats=[{"type": "data.readonly"}])
    assert error_of(post(api, "/tokens/verify_access_token", {"token": readonly}))["id"] == "tokenCaveatUnverified"
    allowed = post(api, "/tokens/verify_access_token", {"token": readonly, "allowDataAccessCaveats": True})
    assert allowed.status_code == 200
    assert error_of(post(api, "/tokens/verify_access_token", {"token": forged(access)}))["id"] == "tokenInvalid"
    invite = named(api, "invite", INVITE)
    assert error_of(post(api, "/tokens/verify_access_token", {"token": invite}))["id"] == "notAnAccessToken"


def test_verify_access_token_for_a_oneproviders_service(api: Api, alice: str) -> None:
    provider = api.register_provider(named(api, "invite", INVITE))
    root = provider["providerRootToken"]
    for_panel = named(api, "panel only", caveats=[{"type": "service", "whitelist": ["opp-*"]}])
    body = {"token": for_panel, "serviceToken": f"opp-{root}"}
    assert post(api, "/tokens/verify_access_token", body).status_code == 200
    as_worker = error_of(post(api, "/tokens/verify_access_token", {**body, "serviceToken": root}))
    assert as_worker["id"] == "tokenCaveatUnverified"
    unproven = error_of(post(api, "/tokens/verify_access_token", {**body, "serviceToken": named(api, "mine")}))
    assert (unproven["id"], unproven["details"]["tokenError"]["id"]) == ("badServiceToken", "notAnIdentityToken")


def test_verify_identity_token(api: Api, alice: str) -> None:
    identity = temporary(api, {"identityToken": {}})
    assert post(api, "/tokens/verify_identity_token", {"token": identity}).json_body["subject"] == {
        "type": "user",
        "id": alice,
    }
    access = named(api, "access")
    assert error_of(post(api, "/tokens/verify_identity_token", {"token": access}))["id"] == "notAnIdentityToken"


# ---- temporary tokens ---------------------------------------------------------------------------------


def test_temporary_tokens_carry_their_generation_and_die_together(api: Api, alice: str) -> None:
    first, second = temporary(api), temporary(api, INVITE)
    assert identifier_of(first).serialize().startswith(f"2/tmp-1/usr-{alice}/act/")
    assert identifier_of(second).serialize().startswith(f"2/tmp-1/usr-{alice}/rop:{alice}:/")
    assert api.call("GET", "/user", headers={"X-Auth-Token": first}).status_code == 200
    revoked = api.call("DELETE", "/user/tokens/temporary", headers=alice_auth(api))
    assert revoked.status_code == 204
    for token in (first, second):
        assert (
            error_of(
                post(
                    api,
                    "/tokens/verify_access_token" if token is first else "/tokens/verify_invite_token",
                    {"token": token},
                )
            )["id"]
            == "tokenRevoked"
        )
    denied = api.call("GET", "/user", headers={"X-Auth-Token": first})
    assert error_of(denied)["details"]["authError"]["id"] == "tokenRevoked"
    # Named tokens are untouched; new temporary tokens are of the next generation.
    assert api.call("GET", "/user", headers={"X-Auth-Token": named(api, "named")}).status_code == 200
    fresh = temporary(api)
    assert identifier_of(fresh).generation == 2
    assert api.call("GET", "/user", headers={"X-Auth-Token": fresh}).status_code == 200


def test_a_temporary_invite_revoked_before_registering_registers_nothing(api: Api, alice: str) -> None:
    invite = temporary(api, INVITE)
    assert api.call("DELETE", "/user/tokens/temporary", headers=alice_auth(api)).status_code == 204
    body = {
        "token": invite,
        "name": "Late",
        "adminEmail": "a@example.com",
        "subdomainDelegation": False,
        "domain": "late.example.com",
    }
    assert error_of(api.call("POST", "/providers", body))["id"] == "tokenRevoked"


# ---- access tokens on REST: interface, service, api, data, consumer ----------------------------------


def get_user(api: Api, token: str, **headers: str) -> Any:
    return api.call("GET", "/user", headers={"X-Auth-Token": token, **headers})


@pytest.mark.parametrize(
    ("caveat", "allowed"),
    [
        ({"type": "interface", "interface": "rest"}, True),
        ({"type": "interface", "interface": "graphsync"}, False),
        ({"type": "service", "whitelist": ["ozw-onezone"]}, True),
        ({"type": "service", "whitelist": ["ozw-*"]}, True),
        ({"type": "service", "whitelist": ["opw-*"]}, False),
        ({"type": "data.readonly"}, False),
        ({"type": "data.path", "whitelist": ["L3NwYWNlMQ=="]}, False),
        ({"type": "ip", "whitelist": ["127.0.0.1"]}, True),  # chalice's local gateway says 127.0.0.1
        ({"type": "ip", "whitelist": ["10.0.0.0/8"]}, False),
        ({"type": "consumer", "whitelist": ["usr-*"]}, False),  # no consumer token: nobody proved who uses it
        ({"type": "api", "whitelist": ["ozw/get/user.*.instance:protected"]}, True),
        ({"type": "api", "whitelist": ["ozw/get/user.self.instance:protected"]}, False),  # `self` is no id
        ({"type": "api", "whitelist": ["all/update/*.*.*:*"]}, False),
    ],
)
def test_access_token_caveats_on_rest(api: Api, alice: str, caveat: dict[str, Any], allowed: bool) -> None:
    response = get_user(api, named(api, "confined", caveats=[caveat]))
    if allowed:
        assert response.status_code == 200, response.body
    else:
        error = error_of(response)
        assert (response.status_code, error["id"]) == (401, "unauthorized")
        assert error["details"]["authError"]["id"] == "tokenCaveatUnverified"
        assert error["details"]["authError"]["details"]["caveat"] == caveat


def test_api_caveats_name_the_caller_and_the_path(api: Api, alice: str) -> None:
    mine = named(api, "own user only", caveats=[{"type": "api", "whitelist": [f"ozw/get/user.{alice}.*:*"]}])
    assert get_user(api, mine).status_code == 200
    assert api.call("GET", "/user/clusters", headers={"X-Auth-Token": mine}).status_code == 200  # user.<id>.clusters
    creating = api.call("POST", "/user/tokens/named", {"name": "x"}, headers={"X-Auth-Token": mine})
    assert error_of(creating)["details"]["authError"]["id"] == "tokenCaveatUnverified"
    tokens_only = named(
        api, "tokens", caveats=[{"type": "api", "whitelist": [f"ozw/create/token.null.user_named_token,{alice}:*"]}]
    )
    assert (
        api.call("POST", "/user/tokens/named", {"name": "yy"}, headers={"X-Auth-Token": tokens_only}).status_code == 201
    )
    assert get_user(api, tokens_only).status_code == 401


def test_consumer_caveats_with_a_consumer_token(api: Api, alice: str) -> None:
    identity = temporary(api, {"identityToken": {}})
    for_alice = named(api, "for alice", caveats=[{"type": "consumer", "whitelist": [f"usr-{alice}"]}])
    assert get_user(api, for_alice, **{"X-Onedata-Consumer-Token": identity}).status_code == 200
    assert get_user(api, for_alice).status_code == 401
    bad = get_user(api, for_alice, **{"X-Onedata-Consumer-Token": "garbage"})
    assert error_of(bad)["details"]["authError"]["id"] == "badConsumerToken"


def test_ip_caveats_use_the_gateways_source_ip(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = named(api, "from the office", caveats=[{"type": "ip", "whitelist": ["192.0.2.0/24"]}])
    assert get_user(api, token).status_code == 401
    monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP", "192.0.2.44")
    assert get_user(api, token).status_code == 200


def test_named_token_caveats_are_shown_and_kept(api: Api, alice: str) -> None:
    caveats = [soon(999), {"type": "geo.region", "filter": "blacklist", "list": ["Antarctica"]}]
    token = named(api, "with caveats", caveats=caveats)
    shown = api.call("GET", f"/tokens/named/{identifier_of(token).id}", headers=alice_auth(api)).json_body
    assert shown["caveats"] == caveats
    assert shown["token"] == token
    assert shown["type"] == {"accessToken": {}}  # the default type


def test_subject_of_the_examined_root_token(api: Api, alice: str) -> None:
    provider = api.register_provider(named(api, "invite", INVITE))
    shown = post(api, "/tokens/examine", {"token": f"opp-{provider['providerRootToken']}"}).json_body
    assert shown["subject"] == {"type": "oneprovider", "id": provider["providerId"]}
    assert Subject("oneprovider", provider["providerId"]) == identifier_of(provider["providerRootToken"]).subject
    assert identifier_of(provider["providerRootToken"]).type == TokenType.access()
