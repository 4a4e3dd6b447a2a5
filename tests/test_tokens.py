"""Token minting and verification (module level): caveats, signatures, records."""

from __future__ import annotations

import time

import pytest
from pymacaroons import Macaroon

from chalicelib import context, tokens
from chalicelib.errors import OnedataError
from chalicelib.store import tokens as token_store
from chalicelib.store.tokens import SubjectType, TokenRecord, TokenType


def record(expires_at: int | None = None, **changes: object) -> TokenRecord:
    fields = {
        "tokenId": tokens.new_id(),
        "type": TokenType.ACCESS,
        "subjectType": SubjectType.USER,
        "subjectId": "u1",
        "createdAt": 0,
        "expiresAt": expires_at,
        **changes,
    }
    return TokenRecord.model_validate(fields)


def resign(macaroon: Macaroon, caveats: list[str]) -> Macaroon:
    """The same token id, signed with the real key, with other caveats."""
    fresh = Macaroon(
        location=macaroon.location,
        identifier=macaroon.identifier,
        key=tokens._key(context.current(), macaroon.identifier),
    )
    for caveat in caveats:
        fresh.add_first_party_caveat(caveat)
    return fresh


def error_id(call: object) -> str:
    with pytest.raises(OnedataError) as raised:
        call()  # type: ignore[operator]
    return raised.value.id


def test_issued_token_verifies_and_names_its_record(stack_env: dict[str, str]) -> None:
    issued = record(int(time.time()) + 60)
    serialized = tokens.issue(context.current(), issued)
    verified = tokens.verify(context.current(), tokens.parse(serialized))
    assert verified.record == issued
    assert serialized.isascii()
    assert "=" not in serialized


def test_token_without_expiry_has_no_caveat(stack_env: dict[str, str]) -> None:
    macaroon = tokens.parse(tokens.issue(context.current(), record()))
    assert macaroon.caveats == []


@pytest.mark.parametrize("garbage", ["x", "MDAx", "====", "\u00e9\u00e9", "a" * 5000])
def test_unparseable_tokens_are_bad_tokens(garbage: str) -> None:
    assert error_id(lambda: tokens.parse(garbage)) == "badToken"


def test_oversized_token_is_too_large() -> None:
    assert error_id(lambda: tokens.parse("M" * (tokens.MAX_TOKEN_BYTES + 1))) == "tokenTooLarge"


def test_signature_is_checked_before_the_record_is_read(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    genuine = tokens.parse(tokens.issue(context.current(), record()))
    forged = Macaroon(location=genuine.location, identifier=genuine.identifier, key="guessed")
    reads: list[str] = []
    monkeypatch.setattr(token_store.TABLE, "get", lambda _ctx, token_id: reads.append(token_id))
    assert error_id(lambda: tokens.verify(context.current(), forged)) == "tokenInvalid"
    assert reads == []


def test_removing_a_caveat_breaks_the_signature(stack_env: dict[str, str]) -> None:
    issued = tokens.issue(context.current(), record(int(time.time()) + 60))
    stripped = Macaroon.deserialize(issued)
    stripped.caveats.clear()
    assert error_id(lambda: tokens.verify(context.current(), stripped)) == "tokenInvalid"


def test_holder_attenuation_keeps_the_signature_but_unknown_caveats_fail(stack_env: dict[str, str]) -> None:
    # Macaroons let any holder add caveats; the chain stays valid, so the caveat itself is judged.
    attenuated = Macaroon.deserialize(tokens.issue(context.current(), record()))
    attenuated.add_first_party_caveat("service = opw-*")
    assert error_id(lambda: tokens.verify(context.current(), attenuated)) == "tokenCaveatUnknown"
    shortened = Macaroon.deserialize(tokens.issue(context.current(), record()))
    shortened.add_first_party_caveat(f"time < {int(time.time()) - 1}")
    assert error_id(lambda: tokens.verify(context.current(), shortened)) == "tokenCaveatUnverified"


def test_expired_time_caveat_is_unverified(stack_env: dict[str, str]) -> None:
    now = int(time.time())
    macaroon = tokens.parse(tokens.issue(context.current(), record(now + 60)))
    assert tokens.verify(context.current(), macaroon, now=now + 59)
    assert error_id(lambda: tokens.verify(context.current(), macaroon, now=now + 60)) == "tokenCaveatUnverified"


def test_unknown_caveat_is_reported_after_a_valid_signature(stack_env: dict[str, str]) -> None:
    macaroon = tokens.parse(tokens.issue(context.current(), record()))
    with pytest.raises(OnedataError) as raised:
        tokens.verify(context.current(), resign(macaroon, ["ip = 192.0.2.1"]))
    assert (raised.value.id, raised.value.details) == ("tokenCaveatUnknown", {"caveat": "ip = 192.0.2.1"})


def test_revoked_and_unknown_records(stack_env: dict[str, str]) -> None:
    ctx = context.current()
    revoked = tokens.parse(tokens.issue(ctx, record(revoked=True)))
    assert error_id(lambda: tokens.verify(ctx, revoked)) == "tokenRevoked"
    never_stored = tokens.parse(tokens.serialize(ctx, record()))
    assert error_id(lambda: tokens.verify(ctx, never_stored)) == "tokenInvalid"


def test_invite_checks() -> None:
    invite = record(type=TokenType.INVITE, inviteType=tokens.REGISTER_ONEPROVIDER, usageLimit=1)
    tokens.require_registration_invite(invite)
    used = invite.model_copy(update={"usageCount": 1})
    assert error_id(lambda: tokens.require_registration_invite(used)) == "inviteTokenUsageLimitReached"
    with pytest.raises(OnedataError) as raised:
        tokens.require_registration_invite(record())
    assert raised.value.details == {"expectedInviteType": "registerOneprovider", "received": "accessToken"}
    assert error_id(lambda: tokens.require_access_token(invite)) == "notAnAccessToken"


def test_keys_differ_per_token_and_per_root_key(stack_env: dict[str, str]) -> None:
    ctx = context.current()
    assert tokens._key(ctx, "a") != tokens._key(ctx, "b")
    assert len(tokens._key(ctx, "a")) == 32
