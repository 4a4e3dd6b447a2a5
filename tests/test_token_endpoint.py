"""POST /user/clusters/provider_registration_token, through the HTTP surface."""

from __future__ import annotations

import re
import time

import pytest
from pymacaroons import Verifier

from chalicelib import context
from chalicelib.store import tokens as token_store
from chalicelib.tokens import subject_tokens, user_tokens
from chalicelib.tokens.codec import Subject, TokenType
from chalicelib.tokens.keys import key_for
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.token_helpers import access_token, forged, identifier_of, macaroon_of

PATH = "/user/clusters/provider_registration_token"


def test_basic_credentials_get_a_named_single_use_invite(api: Api) -> None:
    user_id = api.create_user("alice")
    response = api.call("POST", PATH, headers=api.basic("alice", USER_PASSWORD))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    identifier = identifier_of(response.json_body["token"])
    assert identifier.serialize() == f"2/nmd/usr-{user_id}/rop:{user_id}:/{identifier.id}"
    record = token_store.TABLE.get(context.current(), identifier.id)
    assert record is not None
    assert (record.subject, record.token_type) == (
        Subject("user", user_id),
        TokenType.invite("registerOneprovider", user_id),
    )
    assert (record.usageLimit, record.usageCount, record.revoked) == (1, 0, False)
    # Onezone's name for it, and it is one of the user's named tokens.
    assert re.fullmatch(r"Oneprovider rgstr\. token for - Alice [0-9a-f]{6}", record.name)
    listed = api.call("GET", "/user/tokens/named", headers=api.basic("alice", USER_PASSWORD)).json_body
    assert listed == {"tokens": [identifier.id]}


def test_legacy_names_are_cut_to_fifty_bytes() -> None:
    name = user_tokens.legacy_token_name("Maria Aleksandra Wiśniewska-Kowalczyk z Krakowa")
    assert len(name.encode()) <= 50
    assert name.startswith("Oneprovider rgstr. token for - Maria")
    assert re.search(r"\.\.\. [0-9a-f]{6}$", name)
    assert user_tokens.legacy_token_name("Al").startswith("Oneprovider rgstr. token for - Al ")


@pytest.mark.parametrize("header", ["X-Auth-Token", "Authorization", "Macaroon"])
def test_access_token_credentials_get_a_token(api: Api, header: str) -> None:
    user_id = api.create_user("alice")
    token = access_token(user_id)
    value = f"Bearer {token}" if header == "Authorization" else token
    response = api.call("POST", PATH, headers={header: value})
    assert response.status_code == 200, response.body
    record = token_store.TABLE.get(context.current(), identifier_of(response.json_body["token"]).id)
    assert record.subjectId == user_id


def test_token_structure_and_signature(api: Api) -> None:
    api.create_user("alice")
    before = int(time.time())
    token = api.registration_token("alice")
    assert token.isascii()
    assert token.isalnum()  # Onedata's escaped form
    macaroon = macaroon_of(token)
    assert macaroon.location == "onezone.test"
    [caveat] = [c.caveat_id for c in macaroon.caveats]
    expiry = int(caveat.removeprefix("time < "))
    assert caveat == f"time < {expiry}"
    assert before + 86400 <= expiry <= int(time.time()) + 86400
    verifier = Verifier()
    verifier.satisfy_general(lambda c: c.startswith("time < ") and int(c[7:]) > time.time())
    assert verifier.verify(macaroon, key_for(context.current(), identifier_of(token)))


def test_each_call_issues_a_distinct_token(api: Api) -> None:
    api.create_user("alice")
    first, second = api.registration_token("alice"), api.registration_token("alice")
    assert identifier_of(first).id != identifier_of(second).id


def test_response_is_marked_deprecated(api: Api) -> None:
    api.create_user("alice")
    response = api.call("POST", PATH, headers=api.basic("alice", USER_PASSWORD))
    assert response.headers["Deprecation"].startswith("@")
    assert 'rel="successor-version"' in response.headers["Link"]


@pytest.mark.parametrize(
    ("headers", "auth_error"),
    [
        ({}, None),
        ({"Authorization": "Basic " + "YWxpY2U6d3Jvbmc="}, "badBasicCredentials"),  # alice:wrong
        ({"Authorization": "Basic bm9ib2R5OnBhc3N3b3Jk"}, "badBasicCredentials"),  # nobody:password
        ({"Authorization": "Basic !!!not-base64"}, "badBasicCredentials"),
        ({"Authorization": "Basic bm9jb2xvbg=="}, "badBasicCredentials"),  # "nocolon"
        ({"X-Auth-Token": "garbage"}, "badToken"),
        ({"Authorization": "Bearer garbage"}, "badToken"),
        ({"Authorization": "Digest abc"}, "badToken"),
    ],
)
def test_bad_or_missing_credentials_are_401(api: Api, headers: dict[str, str], auth_error: str | None) -> None:
    api.create_user("alice")
    response = api.call("POST", PATH, headers=headers)
    assert response.status_code == 401
    error = error_of(response)
    assert error["id"] == "unauthorized"
    if auth_error is None:
        assert "details" not in error
    else:
        assert error["details"]["authError"]["id"] == auth_error


def test_forged_access_token_is_401_token_invalid(api: Api) -> None:
    user_id = api.create_user("alice")
    response = api.call("POST", PATH, headers={"X-Auth-Token": forged(access_token(user_id))})
    assert response.status_code == 401
    assert error_of(response)["details"]["authError"]["id"] == "tokenInvalid"


def test_expired_access_token_is_401_caveat_unverified(api: Api) -> None:
    user_id = api.create_user("alice")
    response = api.call("POST", PATH, headers={"X-Auth-Token": access_token(user_id, expires_in=-10)})
    assert response.status_code == 401
    assert error_of(response)["details"]["authError"]["id"] == "tokenCaveatUnverified"


def test_invite_token_is_not_an_access_token(api: Api) -> None:
    api.create_user("alice")
    invite = api.registration_token("alice")
    response = api.call("POST", PATH, headers={"X-Auth-Token": invite})
    assert response.status_code == 401
    assert error_of(response)["details"]["authError"]["id"] == "notAnAccessToken"


def test_token_of_deleted_user_is_401(api: Api) -> None:
    token = access_token("no-such-user")
    response = api.call("POST", PATH, headers={"X-Auth-Token": token})
    assert response.status_code == 401
    assert error_of(response)["details"]["authError"]["id"] == "tokenSubjectInvalid"


def test_provider_token_on_user_endpoint_is_403(api: Api) -> None:
    api.create_user("alice")
    provider = api.register_provider(api.registration_token("alice"))
    response = api.call("POST", PATH, headers={"X-Auth-Token": provider["providerRootToken"]})
    assert response.status_code == 403
    assert error_of(response)["id"] == "forbidden"


def test_restricted_policy_requires_invite_privilege(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_user("alice")
    api.create_user("inviter", ("oz_providers_invite",))
    api.set_policy(monkeypatch, "restricted")
    denied = api.call("POST", PATH, headers=api.basic("alice", USER_PASSWORD))
    assert denied.status_code == 403
    assert error_of(denied)["id"] == "forbidden"
    assert api.call("POST", PATH, headers=api.basic("inviter", USER_PASSWORD)).status_code == 200


def test_open_policy_lets_any_user_get_a_token(api: Api) -> None:
    api.create_user("alice")
    assert api.call("POST", PATH, headers=api.basic("alice", USER_PASSWORD)).status_code == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_with_allow(api: Api, method: str) -> None:
    response = api.call(method, PATH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert error_of(response)["id"] == "notSupported"


def test_unexpected_failure_is_500_with_reference(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    api.create_user("alice")

    def explode(*_args: object, **_kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(subject_tokens, "store_named", explode)
    response = api.call("POST", PATH, headers=api.basic("alice", USER_PASSWORD))
    assert response.status_code == 500
    error = error_of(response)
    assert error["id"] == "internalServerError"
    reference = error["details"]["reference"]
    assert reference in error["description"]
    assert "Traceback" not in response.body.decode()
    assert "boom" not in response.body.decode()
    assert any(reference in record.getMessage() and record.exc_info for record in caplog.records)
