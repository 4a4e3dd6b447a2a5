"""Malformed tokens and caveats through the HTTP surface: always a clear Onedata error, never a
500, and a registration they reject leaves the genuine token unused (property tests included)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymacaroons import Macaroon

from chalicelib import context
from chalicelib.errors import OnedataError
from chalicelib.store import tokens as token_store
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec
from chalicelib.tokens.codec import Identifier
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.token_helpers import identifier_of, macaroon_of, signed

ZONE = "onezone.test"


def raw_macaroon(location: str, identifier: str) -> str:
    """A token with any identifier at all, correctly escaped and signed with some key."""
    return codec.escape(Macaroon(location=location, identifier=identifier, key="some key").serialize())


MALFORMED = {
    "a bad escape": "MDAy0Z" + "A" * 40,
    "a dangling escape": "MDAyMGxvY2F00aW9u0",
    "truncated": "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVjaWRlbnRp",
    "binary garbage": codec.escape(base64.urlsafe_b64encode(bytes(range(256))).decode().rstrip("=")),
    "not base64 at all": "~~~~",
    "unescaped base64url": "MDAy_-MGxvY2F0aW9u",
    "three fragments": raw_macaroon(ZONE, "2/nmd/usr-u/act"),
    "five fragments": raw_macaroon(ZONE, "2/nmd/usr-u/act/id/more"),
    "version 3": raw_macaroon(ZONE, "3/nmd/usr-u/act/id"),
    "an unknown invite code": raw_macaroon(ZONE, "2/nmd/usr-u/xyz:target:/id"),
    "an unknown subject": raw_macaroon(ZONE, "2/nmd/abc-u/act/id"),
    "an unknown persistence": raw_macaroon(ZONE, "2/forever/usr-u/act/id"),
    "an unknown service prefix": "xyz-" + raw_macaroon(ZONE, "2/nmd/usr-u/act/id"),
}


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


def registration(token: str) -> dict[str, Any]:
    return {
        "token": token,
        "name": "Provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": "krk",
        "opWorkerIpAddresses": ["192.0.2.1"],
    }


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_tokens_everywhere(api: Api, alice: str, token: str) -> None:
    genuine = api.registration_token("alice")
    registered = api.call("POST", "/providers", registration(token))
    error = error_of(registered)
    assert (registered.status_code, error["id"], error["details"]["tokenError"]["id"]) == (
        400,
        "badValueToken",
        "badToken",
    )
    examined = error_of(api.call("POST", "/tokens/examine", {"token": token}))
    assert (examined["id"], examined["details"]["tokenError"]["id"]) == ("badValueToken", "badToken")
    for headers in ({"X-Auth-Token": token}, {"Authorization": f"Bearer {token}"}, {"Macaroon": token}):
        denied = api.call("GET", "/user", headers=headers)
        assert (denied.status_code, error_of(denied)["details"]["authError"]["id"]) == (401, "badToken")
    record = token_store.TABLE.get(context.current(), identifier_of(genuine).id)
    assert record.usageCount == 0


def test_a_huge_token_is_too_large(api: Api, alice: str) -> None:
    huge = "A" * (1024 * 1024 + 1)
    error = error_of(api.call("POST", "/providers", registration(huge)))
    assert (error["id"], error["details"]["tokenError"]) == (
        "badValueToken",
        {
            "id": "tokenTooLarge",
            "description": "Provided token exceeds the allowed size (1048576 characters).",
            "details": {"limit": 1048576},
        },
    )
    denied = api.call("GET", "/user", headers={"X-Auth-Token": huge})
    assert error_of(denied)["details"]["authError"]["id"] == "tokenTooLarge"


def test_a_well_formed_token_of_another_zone_is_invalid_not_bad(api: Api, alice: str) -> None:
    foreign = raw_macaroon("other.zone", f"2/nmd/usr-{alice}/rop:{alice}:/abc")
    assert error_of(api.call("POST", "/providers", registration(foreign)))["id"] == "tokenInvalid"


@pytest.mark.parametrize(
    "caveat",
    ["time <= 5", "ip = 300.0.0.1", "geo.country = ", "api = everything", "authorization = all", "\u00e9\u00e9"],
)
def test_a_caveat_nobody_knows_on_a_genuine_invite(api: Api, alice: str, caveat: str) -> None:
    genuine = api.registration_token("alice")
    extended = codec.confine(macaroon_of(genuine), [caveat])
    error = error_of(api.call("POST", "/providers", registration(extended)))
    assert (error["id"], error["details"]) == ("tokenCaveatUnknown", {"caveat": caveat})
    assert token_store.TABLE.get(context.current(), identifier_of(genuine).id).usageCount == 0


CAVEAT_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
SHAPED = st.fixed_dictionaries(
    {"type": st.sampled_from([kind.TYPE for kind in cv.KINDS] + ["other"])},
    optional={
        "validUntil": CAVEAT_JSON,
        "whitelist": CAVEAT_JSON,
        "list": CAVEAT_JSON,
        "filter": st.sampled_from(["whitelist", "blacklist", "x"]) | CAVEAT_JSON,
        "interface": CAVEAT_JSON,
    },
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.one_of(CAVEAT_JSON, SHAPED))
def test_any_json_is_a_caveat_or_a_value_error(data: Any) -> None:
    try:
        caveat = cv.from_json(data)
    except ValueError:
        return
    assert cv.from_json(caveat.to_json()) == caveat
    assert cv.parse(caveat.serialize()) == caveat


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9]{0,120}", fullmatch=True))
def test_any_text_is_a_token_or_bad_token(text: str) -> None:
    refused: list[str] = []
    try:
        codec.parse(text)
    except OnedataError as error:
        refused.append(error.id)
    assert set(refused) <= {"badToken", "tokenTooLarge"}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=80))
def test_any_identifier_is_parsed_or_refused(text: str) -> None:
    try:
        identifier = Identifier.parse(text)
    except ValueError:
        return
    assert Identifier.parse(identifier.serialize()) == identifier


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(CAVEAT_JSON, SHAPED), min_size=1, max_size=3))
def test_creating_tokens_with_any_caveats_never_fails_badly(api: Api, caveats: list[Any]) -> None:
    if api.call("GET", "/user", headers=api.basic("fuzzer", USER_PASSWORD)).status_code != 200:
        api.create_user("fuzzer")
    body = {"name": f"fuzzed {abs(hash(json.dumps(caveats, default=str))) % 10**9}", "caveats": caveats}
    response = api.call("POST", "/user/tokens/named", body, headers=api.basic("fuzzer", USER_PASSWORD))
    assert response.status_code in (201, 400), response.body
    if response.status_code == 400:
        assert error_of(response)["id"] in ("badValueCaveat", "badValueIdentifierOccupied")
    else:
        token = response.json_body["token"]
        shown = api.call("POST", "/tokens/examine", {"token": token})
        assert shown.status_code == 200, shown.body
        assert [cv.from_json(c) for c in shown.json_body["caveats"]] == [cv.from_json(c) for c in caveats]


def test_signed_identifiers_of_every_kind_we_do_not_issue_are_refused(api: Api, alice: str) -> None:
    """Signed with our own key derivation, still not ours: never stored, so `tokenInvalid`."""
    for text in (f"2/nmd/grp-g/act/{'a' * 32}", f"2/nmd/usr-{alice}/ujs:space:/{'b' * 32}"):
        token = signed(Identifier.parse(text), [])
        response = api.call("GET", "/user", headers={"X-Auth-Token": token})
        assert response.status_code == 401, text
        assert error_of(response)["details"]["authError"]["id"] in ("tokenInvalid", "notAnAccessToken"), text
