"""Verifying a token, in the order that keeps forgeries out.

1. The signature, against the key the identifier names (`keys.key_for`), with a verifier that
   accepts every caveat: pymacaroons raises the same error for a failed caveat as for a wrong
   key, and a forged token must get `tokenInvalid` whatever it carries. Until this holds, nothing
   in the token - its subject, type, caveats - is believed.
2. The type the caller expects (`notAnAccessToken`, `notAnInviteToken`, `notAnIdentityToken`).
3. Each caveat, in the token's order: one that is not Onedata's is `tokenCaveatUnknown` (with the
   raw string), one this kind of token does not support or the request does not satisfy is
   `tokenCaveatUnverified` (with the caveat's JSON).
4. The stored state: a named token's item (exists, same subject, not revoked), a temporary token's
   generation against its subject's (a user's or a provider's), and the subject itself (it must
   still exist).
5. For an access token, whether the service using it may serve its subject (`services`): a user's
   token used by a Oneprovider's Onepanel needs its user to be a member of that cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pymacaroons import Verifier

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.tokens import TokenRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec, services
from chalicelib.tokens.codec import Subject, Token
from chalicelib.tokens.keys import key_for

# Which caveats each kind of token may carry (ctool's DEFAULT_SUPPORTED_*_CAVEATS).
_LOCATION = (cv.Time, cv.Ip, cv.Asn, cv.Country, cv.Region)
SUPPORTED: dict[str, tuple[type[cv.Caveat], ...]] = {
    "accessToken": (
        *_LOCATION,
        cv.Service,
        cv.Consumer,
        cv.Interface,
        cv.Api,
        cv.DataReadonly,
        cv.DataPath,
        cv.DataObjectId,
    ),
    "identityToken": (*_LOCATION, cv.Consumer, cv.Interface),
    "inviteToken": (*_LOCATION, cv.Consumer),
}
# An access token presented as proof of identity: `authorization = none` is fine then.
IDENTITY_OF_ACCESS_TOKEN = (cv.Scope, *SUPPORTED["identityToken"])


@dataclass(frozen=True)
class Verified:
    """A token whose signature, type, caveats and stored state hold."""

    token: Token
    subject: Subject
    caveats: tuple[cv.Caveat, ...]
    record: TokenRecord | None  # named tokens only
    subject_record: Any  # the subject's UserRecord or ProviderRecord

    @property
    def ttl(self) -> int | None:
        return cv.expiration(self.caveats)


def check_signature(ctx: Context, token: Token) -> None:
    """`tokenInvalid` unless the token was signed with the key its identifier names."""
    # The key is derived outside the `try`: a root key that cannot be read (Secrets Manager
    # throttling or unreachable) is the service's failure, not an invalid token.
    key = key_for(ctx, token.identifier)
    verifier = Verifier()
    verifier.satisfy_general(lambda _caveat: True)
    try:
        verifier.verify(token.macaroon, key)
    except Exception:  # noqa: BLE001 - a wrong key, a broken chain: pymacaroons' errors vary
        raise OnedataError("tokenInvalid") from None


def parsed_caveat(text: str) -> cv.Caveat:
    """A caveat of a token; `tokenCaveatUnknown` (with the raw string) for one Onedata lacks."""
    try:
        return cv.parse(text)
    except ValueError:
        raise OnedataError("tokenCaveatUnknown", caveat=text) from None


def unverified(caveat: cv.Caveat) -> OnedataError:
    return OnedataError(
        "tokenCaveatUnverified",
        description=f"Provided token is not valid - {caveat.unverified()}.",
        caveat=caveat.to_json(),
    )


def check_caveats(token: Token, context: cv.Context, supported: tuple[type[cv.Caveat], ...]) -> tuple[cv.Caveat, ...]:
    """Every caveat, in the token's order (the first failure is the one reported), known,
    supported by this kind of token, and satisfied by the request."""
    parsed = []
    for text in token.caveats:
        caveat = parsed_caveat(text)
        if not isinstance(caveat, supported) or not caveat.holds(context):
            raise unverified(caveat)
        parsed.append(caveat)
    return tuple(parsed)


def verify(
    ctx: Context,
    token: Token,
    context: cv.Context,
    expected: str,
    invite_type: str | None = None,
) -> Verified:
    """The token as a verified `expected` kind (`accessToken`, `inviteToken`, `identityToken`).

    An access token is accepted where an identity is expected if it is a provider's (Onezone
    keeps this for Oneproviders that present their root token as identity).
    """
    check_signature(ctx, token)
    supported = _expect(token, expected, invite_type)
    parsed = check_caveats(token, context, supported)
    record, subject, subject_record = _stored_state(ctx, token)
    if token.identifier.type.kind == "accessToken":
        if expected == "identityToken" and subject.type != "oneprovider":
            raise _not_a("notAnIdentityToken", token)  # only providers' access tokens prove identity
        services.require_allowed(ctx, subject, context.service)
    return Verified(token=token, subject=subject, caveats=parsed, record=record, subject_record=subject_record)


def verify_service(ctx: Context, serialized: str, context: cv.Context) -> str:
    """The service a service token proves (`services`): `opp-<providerId>` when the token is
    marked `opp-`, else `opw-<providerId>`; `badServiceToken` with the reason if it proves
    nothing, or proves a user. Its `consumer` caveats hold for nobody (none is proven here)."""
    try:
        token = codec.parse(serialized)
        subject = verify(ctx, token, replace(context, consumer=None), "identityToken").subject
    except OnedataError as error:
        raise OnedataError("badServiceToken", tokenError=error) from None
    if subject.type != "oneprovider":
        raise OnedataError("badServiceToken", tokenError=OnedataError("tokenInvalid"))
    return ("opp-" if token.service == "op_panel" else "opw-") + (subject.id or "")


def _expect(token: Token, expected: str, invite_type: str | None) -> tuple[type[cv.Caveat], ...]:
    token_type = token.identifier.type
    if expected == "inviteToken":
        if token_type.kind != "inviteToken" or invite_type not in (None, token_type.invite_type):
            raise not_an_invite(token, invite_type)
        return SUPPORTED["inviteToken"]
    if expected == "identityToken":
        if token_type.kind == "accessToken" and token_type.session_id is None:
            return IDENTITY_OF_ACCESS_TOKEN
        if token_type.kind != "identityToken":
            raise _not_a("notAnIdentityToken", token)
        return SUPPORTED["identityToken"]
    if token_type.kind != "accessToken":
        raise _not_a("notAnAccessToken", token)
    return SUPPORTED["accessToken"]


def not_an_invite(token: Token, invite_type: str | None) -> OnedataError:
    return OnedataError(
        "notAnInviteToken",
        description=(
            f"Expected an invitation token of type '{invite_type or 'any'}', but received a(n) {_printable(token)}."
        ),
        expectedInviteType=invite_type or "any",
        received=token.identifier.type.to_json(),
    )


def _printable(token: Token) -> str:
    token_type = token.identifier.type
    if token_type.kind == "inviteToken":
        return f'invite token of type "{token_type.invite_type}"'
    return "identity token" if token_type.kind == "identityToken" else "access token"


def _not_a(error_id: str, token: Token) -> OnedataError:
    wanted = "an access token" if error_id == "notAnAccessToken" else "an identity token"
    return OnedataError(
        error_id,
        description=f"Expected {wanted}, but received a(n) {_printable(token)}.",
        received=token.identifier.type.to_json(),
    )


def _stored_state(ctx: Context, token: Token) -> tuple[TokenRecord | None, Subject, Any]:
    """The named token's item or the temporary token's generation, checked against what the
    token claims; with the subject's own item (a token of a deleted user or a deregistered
    provider is void)."""
    identifier = token.identifier
    if identifier.generation is not None:
        subject = _existing_subject(ctx, identifier.subject)
        if identifier.generation > subject.temporaryTokenGeneration:
            raise OnedataError("tokenInvalid")  # a generation never issued: forged
        if identifier.generation < subject.temporaryTokenGeneration:
            raise OnedataError("tokenRevoked")
        return None, identifier.subject, subject
    record = token_store.TABLE.get(ctx, identifier.id)
    if record is None:
        raise OnedataError("tokenInvalid")
    if identifier.version == 2 and (record.subject != identifier.subject or record.token_type != identifier.type):
        raise OnedataError("tokenSubjectInvalid")
    if record.revoked:
        raise OnedataError("tokenRevoked")
    # A legacy (v1) token's subject is known from its item only.
    return record, record.subject, _existing_subject(ctx, record.subject)


def _existing_subject(ctx: Context, subject: Subject) -> Any:
    found: Any = None
    if subject.type == "user":
        found = user_store.get(ctx, subject.id or "")
    elif subject.type == "oneprovider":
        found = provider_store.TABLE.get(ctx, subject.id or "")
    if found is None:
        raise OnedataError("tokenSubjectInvalid")
    return found
