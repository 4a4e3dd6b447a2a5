"""Token verification (module level, against moto): the order of checks, the stored state, and
the matrix of which caveats each kind of token may carry and when they hold."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib import context
from chalicelib.errors import OnedataError
from chalicelib.store import memberships
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.memberships import MembershipRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec, issuing, verification
from chalicelib.tokens.codec import NOBODY, Identifier, Subject, TokenType
from tests.conftest import Api
from tests.token_helpers import forged, named, resigned, signed, without_caveats

NOW = int(time.time())


def verify(serialized: str, expected: str = "accessToken", **context_fields: Any) -> verification.Verified:
    fields = {"now": NOW, **context_fields}
    return verification.verify(context.current(), codec.parse(serialized), cv.Context(**fields), expected)


def failure(serialized: str, expected: str = "accessToken", **context_fields: Any) -> OnedataError:
    with pytest.raises(OnedataError) as raised:
        verify(serialized, expected, **context_fields)
    return raised.value


@pytest.fixture
def alice(api: Api) -> Subject:
    return Subject("user", api.create_user("alice"))


# ---- order and stored state --------------------------------------------------------------------


def test_a_named_access_token_verifies(alice: Subject) -> None:
    record, token = named(alice, caveats=[cv.Time(NOW + 60)])
    verified = verify(token)
    assert (verified.subject, verified.record, verified.ttl) == (alice, record, NOW + 60)
    assert verified.subject_record.userId == alice.id


def test_signature_is_checked_before_anything_is_read(alice: Subject, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = named(alice)
    reads: list[Any] = []
    monkeypatch.setattr(token_store.TABLE, "get", lambda *args: reads.append(args))
    monkeypatch.setattr(user_store, "get", lambda *args: reads.append(args))
    # Forged, with a caveat that would fail and a type that would be wrong: still tokenInvalid.
    bad = forged(token, ["time < 1"])
    assert failure(bad, "inviteToken").id == "tokenInvalid"
    assert reads == []


def test_a_broken_chain_is_invalid(alice: Subject) -> None:
    _, token = named(alice, caveats=[cv.Time(NOW + 60)])
    assert failure(without_caveats(token)).id == "tokenInvalid"


def test_a_foreign_token_is_invalid(alice: Subject) -> None:
    """Another zone's token of the same shape: its key is not derived from our root key."""
    identifier = Identifier(id="abc", subject=alice, type=TokenType.access())
    assert failure(codec.mint("other.zone", identifier, "their secret", [])).id == "tokenInvalid"


def test_stored_state(alice: Subject) -> None:
    _, revoked = named(alice, revoked=True)
    assert failure(revoked).id == "tokenRevoked"
    never_stored = signed(Identifier(id=issuing.new_id(), subject=alice, type=TokenType.access()), [])
    assert failure(never_stored).id == "tokenInvalid"
    record, _ = named(alice)
    # The identifier claims another subject than the item: the key matches (it is the id's) but the
    # token is not what was issued.
    claimed = Identifier(id=record.tokenId, subject=Subject("user", "mallory"), type=TokenType.access())
    assert failure(signed(claimed, [])).id == "tokenSubjectInvalid"
    _, orphan = named(Subject("user", "deleted-user"))
    assert failure(orphan).id == "tokenSubjectInvalid"


def test_legacy_tokens_take_their_subject_from_their_item(alice: Subject) -> None:
    record, _ = named(alice)
    legacy = signed(Identifier.legacy(record.tokenId), [])
    assert codec.parse(legacy).identifier.serialize() == record.tokenId  # no `/`: version 1
    assert verify(legacy).subject == alice


def test_temporary_tokens_follow_their_subjects_generation(alice: Subject) -> None:
    ctx = context.current()
    current = issuing.temporary(ctx, alice, 1, TokenType.access(), [cv.Time(NOW + 60)])
    assert verify(current).record is None
    future = issuing.temporary(ctx, alice, 2, TokenType.access(), [])
    assert failure(future).id == "tokenInvalid"
    assert user_store.TABLE.increment(ctx, alice.id or "", "temporaryTokenGeneration")
    assert failure(current).id == "tokenRevoked"
    assert verify(future).subject == alice
    gone = issuing.temporary(ctx, Subject("user", "nobody-here"), 1, TokenType.access(), [])
    assert failure(gone).id == "tokenSubjectInvalid"


def test_the_expected_type(alice: Subject) -> None:
    _, access = named(alice)
    _, invite = named(alice, TokenType.invite("registerOneprovider", alice.id or ""))
    _, identity = named(alice, TokenType("identityToken"))
    assert failure(invite).id == "notAnAccessToken"
    assert failure(invite).details == {
        "received": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": alice.id, "parameters": {}}}
    }
    assert failure(identity).id == "notAnAccessToken"
    error = failure(access, "inviteToken")
    assert (error.id, error.details) == (
        "notAnInviteToken",
        {"expectedInviteType": "any", "received": {"accessToken": {}}},
    )
    assert error.description == "Expected an invitation token of type 'any', but received a(n) access token."
    assert verify(identity, "identityToken").subject == alice
    # A user's access token proves no identity; a provider's does (Onezone's legacy allowance).
    assert failure(access, "identityToken").id == "notAnIdentityToken"


def test_a_providers_access_token_proves_its_identity(api: Api) -> None:
    api.create_user("alice")
    provider = api.register_provider(api.registration_token("alice"))
    assert verify(provider["providerRootToken"], "identityToken").subject == Subject(
        "oneprovider", provider["providerId"]
    )


# ---- the caveat matrix ----------------------------------------------------------------------------

USER_CONSUMER = Subject("user", "consumer-1")
SATISFYING = {"ip": "192.0.2.1", "consumer": USER_CONSUMER, "interface": "rest", "allow_data_access": True}
# Every caveat, written so that SATISFYING satisfies it (geo caveats need a database: see below).
CAVEATS = {
    "time": f"time < {NOW + 60}",
    "ip": "ip = 192.0.2.0/24",
    "consumer": "consumer = usr-consumer-1",
    "service": "service = ozw-onezone",
    "interface": "interface = rest",
    "api": "api = all/all/*.*.*:*",
    "data.readonly": "data.readonly",
    "data.path": "data.path = L3NwYWNl",
    "data.objectid": "data.objectid = 00000000000CDBDA677569642331323323616263",
    "authorization": "authorization = none",
}
SUPPORTED = {
    "accessToken": {
        "time",
        "ip",
        "consumer",
        "service",
        "interface",
        "api",
        "data.readonly",
        "data.path",
        "data.objectid",
    },
    "identityToken": {"time", "ip", "consumer", "interface"},
    "inviteToken": {"time", "ip", "consumer"},
}


@pytest.mark.parametrize("kind", sorted(SUPPORTED))
@pytest.mark.parametrize("caveat", sorted(CAVEATS))
def test_which_caveats_each_kind_of_token_supports(alice: Subject, kind: str, caveat: str) -> None:
    token_type = TokenType(kind) if kind != "inviteToken" else TokenType.invite("registerOneprovider", alice.id or "")
    _, token = named(alice, token_type)
    confined = resigned(token, [CAVEATS[caveat]])
    if caveat in SUPPORTED[kind]:
        assert verify(confined, kind, **SATISFYING).subject == alice
    else:
        error = failure(confined, kind, **SATISFYING)
        assert (error.id, error.details) == ("tokenCaveatUnverified", {"caveat": cv.parse(CAVEATS[caveat]).to_json()})


@pytest.mark.parametrize(
    ("caveat", "unmet"),
    [
        ("time", {"now": NOW + 60}),
        ("ip", {"ip": "198.51.100.1"}),
        ("ip", {"ip": None}),
        ("consumer", {"consumer": Subject("user", "someone-else")}),
        ("consumer", {"consumer": NOBODY}),
        ("consumer", {"consumer": None}),
        ("interface", {"interface": "graphsync"}),
        ("interface", {"interface": None}),
        ("data.readonly", {"allow_data_access": False}),
        ("data.path", {"allow_data_access": False}),
    ],
)
def test_an_unmet_caveat_fails_an_access_token(alice: Subject, caveat: str, unmet: dict[str, Any]) -> None:
    _, token = named(alice)
    error = failure(resigned(token, [CAVEATS[caveat]]), **{**SATISFYING, **unmet})
    assert (error.id, error.details) == ("tokenCaveatUnverified", {"caveat": cv.parse(CAVEATS[caveat]).to_json()})


def test_service_caveats_against_the_verifying_service(alice: Subject) -> None:
    _, token = named(alice)
    for caveat, holds in (("service = ozw-*", True), ("service = opw-*", False), ("service = opp-p1", False)):
        confined = resigned(token, [caveat])
        if holds:
            assert verify(confined, **SATISFYING)
        else:
            assert failure(confined, **SATISFYING).id == "tokenCaveatUnverified"
    # Onepanel p1 may use it once the caveat names it - and only for a member of its cluster.
    error = failure(resigned(token, ["service = opp-p1"]), service="opp-p1")
    assert (error.id, error.details) == ("tokenServiceForbidden", {"service": {"type": "op_panel", "id": "p1"}})
    assert failure(token, service="opp-p1").id == "tokenServiceForbidden"  # also without a service caveat
    member = MembershipRecord(clusterId="p1", userId=alice.id or "", privileges=["cluster_view"], createdAt=NOW)
    ctx = context.current()
    ctx.aws.dynamodb.put_item(**memberships.TABLE.put_new_op(ctx, member)["Put"])
    assert verify(resigned(token, ["service = opp-p1"]), service="opp-p1")
    assert verify(token, service="opw-p1")
    assert failure(resigned(token, ["service = opp-p1"]), service="opp-p2").id == "tokenCaveatUnverified"


def test_geo_caveats_fail_closed_without_a_database(alice: Subject) -> None:
    _, token = named(alice)
    for caveat in ("asn = 322", "geo.country = PL", "geo.country != PL", "geo.region = EU"):
        error = failure(resigned(token, [caveat]), ip="192.0.2.1")
        assert error.id == "tokenCaveatUnverified", caveat


def test_caveats_are_judged_in_order(alice: Subject) -> None:
    _, token = named(alice)
    error = failure(resigned(token, ["ip = 10.0.0.0/8", "nonsense = 1"]), ip="192.0.2.1")
    assert error.id == "tokenCaveatUnverified"
    error = failure(resigned(token, ["nonsense = 1", "ip = 10.0.0.0/8"]), ip="192.0.2.1")
    assert (error.id, error.details) == ("tokenCaveatUnknown", {"caveat": "nonsense = 1"})
    assert error.description == "Unknown caveat - 'nonsense = 1'."
