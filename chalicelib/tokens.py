"""Onezone tokens as macaroons: minting, and verification in the order that keeps forgeries out.

A token is a pymacaroons v1 macaroon: location = the zone domain, identifier = the token id,
first-party caveats such as `time < <unix seconds>`, and an HMAC chain keyed with
`HMAC-SHA256(root key, "onezone-token:" + id)`. Deriving the key means no per-token secret is
stored anywhere; the root key lives in Secrets Manager.

Verification order matters: (1) parse, (2) check the signature with a verifier that accepts every
caveat - pymacaroons raises the same exception for a failed caveat as for a wrong key, so the
caveats cannot be checked by the verifier itself without losing the distinction - (3) check each
caveat ourselves, (4) only then read the token record (revocation, type, usage). Nothing in a token
is trusted before step 2.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from pymacaroons import Macaroon, Verifier

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import tokens as token_store
from chalicelib.store.tokens import SubjectType, TokenRecord, TokenType

MAX_TOKEN_BYTES = 1024 * 1024
REGISTER_ONEPROVIDER = "registerOneprovider"
_TIME_CAVEAT = re.compile(r"^time < (\d{1,12})$")


def new_id() -> str:
    """A token id: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def _key(ctx: Context, token_id: str) -> bytes:
    return hmac.new(ctx.root_key, b"onezone-token:" + token_id.encode(), hashlib.sha256).digest()


def serialize(ctx: Context, record: TokenRecord) -> str:
    """The macaroon for `record`, with a time caveat when the record expires."""
    macaroon = Macaroon(location=ctx.settings.zone_domain, identifier=record.tokenId, key=_key(ctx, record.tokenId))
    if record.expiresAt is not None:
        macaroon.add_first_party_caveat(f"time < {record.expiresAt}")
    return macaroon.serialize()


def issue(ctx: Context, record: TokenRecord) -> str:
    """Store `record` and return its serialized macaroon."""
    token_store.put(ctx, record)
    return serialize(ctx, record)


def parse(serialized: str) -> Macaroon:
    """Deserialize without trusting anything; `badToken`/`tokenTooLarge` if impossible."""
    # The limit is in bytes, as Onezone's: counting characters would let a token of multi-byte
    # characters beyond the limit through (surrogatepass: a JSON string may carry lone ones).
    if len(serialized.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise OnedataError("tokenTooLarge", limit=MAX_TOKEN_BYTES)
    try:
        macaroon = Macaroon.deserialize(serialized.strip())
        identifier = macaroon.identifier
    except Exception:  # noqa: BLE001 - pymacaroons raises anything from binascii to IndexError on garbage
        raise OnedataError("badToken") from None
    if not isinstance(identifier, str) or not identifier:
        raise OnedataError("badToken")
    return macaroon


def _check_signature(ctx: Context, macaroon: Macaroon) -> None:
    # The key is derived outside the `try`: a root key that cannot be read (Secrets Manager
    # throttling or unreachable) is the service's failure, not an invalid token.
    key = _key(ctx, macaroon.identifier)
    verifier = Verifier()
    verifier.satisfy_general(lambda _caveat: True)
    try:
        verifier.verify(macaroon, key)
    except Exception:  # noqa: BLE001 - a wrong key, a third-party caveat without discharge, a broken chain
        raise OnedataError("tokenInvalid") from None


def _check_caveats(macaroon: Macaroon, now: int) -> None:
    for caveat in macaroon.caveats:
        text = caveat.caveat_id if caveat.first_party() else "third-party caveat"
        match = _TIME_CAVEAT.match(text)
        if match is None:
            raise OnedataError("tokenCaveatUnknown", caveat=text)
        if now >= int(match.group(1)):
            raise OnedataError("tokenCaveatUnverified", caveat=text)


@dataclass(frozen=True)
class Verified:
    """A token whose signature and caveats hold, with the record it was issued under."""

    record: TokenRecord
    macaroon: Macaroon


def authentic_record(ctx: Context, macaroon: Macaroon) -> TokenRecord:
    """The record of a token whose signature holds (its caveats unchecked: for examining)."""
    _check_signature(ctx, macaroon)
    return _stored(ctx, macaroon)


def _stored(ctx: Context, macaroon: Macaroon) -> TokenRecord:
    record = token_store.TABLE.get(ctx, macaroon.identifier)
    if record is None:
        raise OnedataError("tokenInvalid")
    return record


def verify(ctx: Context, macaroon: Macaroon, now: int | None = None) -> Verified:
    """Signature, then caveats, then the stored record (existence and revocation)."""
    _check_signature(ctx, macaroon)
    _check_caveats(macaroon, int(time.time()) if now is None else now)
    record = _stored(ctx, macaroon)
    if record.revoked:
        raise OnedataError("tokenRevoked")
    return Verified(record=record, macaroon=macaroon)


def require_registration_invite(record: TokenRecord) -> None:
    """The token must be a provider registration invite with uses left."""
    if record.type is not TokenType.INVITE or record.inviteType != REGISTER_ONEPROVIDER:
        received = record.inviteType if record.type is TokenType.INVITE else record.type.value
        raise OnedataError("notAnInviteToken", expectedInviteType=REGISTER_ONEPROVIDER, received=received)
    if record.usageLimit is not None and record.usageCount >= record.usageLimit:
        raise OnedataError("inviteTokenUsageLimitReached")


def require_access_token(record: TokenRecord) -> None:
    if record.type is not TokenType.ACCESS:
        raise OnedataError("notAnAccessToken", received=record.inviteType or record.type.value)


def new_record(
    subject_type: SubjectType,
    subject_id: str,
    now: int,
    *,
    invite_admin: str | None = None,
    **fields: object,
) -> TokenRecord:
    """A fresh token record: an access token of its subject, or - with `invite_admin` - a
    provider registration invite issued by the subject for that admin user."""
    if invite_admin is not None:
        fields.update(type=TokenType.INVITE, inviteType=REGISTER_ONEPROVIDER, adminUserId=invite_admin)
    return TokenRecord.model_validate(
        {
            "tokenId": new_id(),
            "type": TokenType.ACCESS,
            "subjectType": subject_type,
            "subjectId": subject_id,
            "createdAt": now,
            **fields,
        }
    )


def registration_invite(ctx: Context, user_id: str, now: int) -> TokenRecord:
    """A single-use provider registration invite for `user_id`, valid for the configured TTL."""
    return new_record(
        SubjectType.USER,
        user_id,
        now,
        invite_admin=user_id,
        expiresAt=now + ctx.settings.registration_token_ttl,
        usageLimit=1,
    )
