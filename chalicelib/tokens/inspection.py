"""Onezone's public token API: examine, verify and confine any token.

- `POST /tokens/examine` says what a token claims - domain, id, persistence, subject, type,
  caveats - for any Onedata token, ours or another zone's. It checks no signature, because
  everything it shows is inside the token; it vouches for nothing.
- `POST /tokens/verify_{access,identity,invite}_token` verify one of our tokens for a
  hypothetical use: from `peerIp` (default: the caller's address), consumed by the subject of
  `consumerToken` (default: nobody - these endpoints are public) - and answer its subject and
  remaining `ttl`. Verifying an invite does not use it up.
- `POST /tokens/confine` adds caveats to any token: a macaroon can be attenuated by anyone.
"""

from __future__ import annotations

import time
from dataclasses import replace

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    ConfineTokenRequest,
    ExaminedToken,
    Subject,
    TokenResponse,
    VerifiedToken,
    VerifyAccessTokenRequest,
    VerifyIdentityTokenRequest,
    VerifyInviteTokenRequest,
    VerifyTokenRequest,
)
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec, verification
from chalicelib.tokens.codec import Token


def deserialize(serialized: str, key: str = "token") -> Token:
    """The token in a request body; `badValueToken` (the reason nested) if it is none."""
    try:
        return codec.parse(serialized)
    except OnedataError as error:
        raise OnedataError("badValueToken", key=key, tokenError=error) from None


def examine(serialized: str) -> ExaminedToken:
    """`POST /tokens/examine`: what the token claims, verified or not."""
    token = deserialize(serialized)
    identifier = token.identifier
    return ExaminedToken(
        onezoneDomain=token.onezone_domain,
        id=identifier.id,
        persistence=identifier.persistence,
        subject=Subject(**identifier.subject.to_json()),
        type=identifier.type.to_json(),
        caveats=[verification.parsed_caveat(text).to_json() for text in token.caveats],
    )


def confine(request: ConfineTokenRequest) -> TokenResponse:
    """`POST /tokens/confine`: the token with the caveats appended, in order."""
    token = deserialize(request.token)
    return TokenResponse(token=codec.confine(token.macaroon, [caveat.serialize() for caveat in request.caveats]))


def _context(
    ctx: Context, request: VerifyTokenRequest, caller_ip: str | None, interface: str | None = None
) -> cv.Context:
    """The use a verification supposes: from `peerIp` (or the caller), in `interface`, by the
    subject of `consumerToken` (or nobody)."""
    context = cv.Context(now=int(time.time()), ip=request.peerIp or caller_ip, interface=interface, geo=ctx.geo)
    if request.consumerToken is None:
        return replace(context, consumer=codec.NOBODY)
    return replace(context, consumer=_proven_identity(ctx, request.consumerToken, context, "badConsumerToken"))


def _proven_identity(ctx: Context, serialized: str, context: cv.Context, error_id: str) -> codec.Subject:
    """Who an identity token (or a provider's access token) proves to be."""
    try:
        return verification.verify(ctx, codec.parse(serialized), context, "identityToken").subject
    except OnedataError as error:
        raise OnedataError(error_id, tokenError=error) from None


def _answer(verified: verification.Verified) -> VerifiedToken:
    expires = verified.ttl
    return VerifiedToken(
        subject=Subject(**verified.subject.to_json()),
        ttl=None if expires is None else expires - int(time.time()),
    )


def verify_invite(ctx: Context, request: VerifyInviteTokenRequest, caller_ip: str | None) -> VerifiedToken:
    token = deserialize(request.token)
    context = _context(ctx, request, caller_ip)
    return _answer(verification.verify(ctx, token, context, "inviteToken", request.expectedInviteType))


def verify_identity(ctx: Context, request: VerifyIdentityTokenRequest, caller_ip: str | None) -> VerifiedToken:
    token = deserialize(request.token)
    context = _context(ctx, request, caller_ip, request.interface)
    return _answer(verification.verify(ctx, token, context, "identityToken"))


def verify_access(ctx: Context, request: VerifyAccessTokenRequest, caller_ip: str | None) -> VerifiedToken:
    """`serviceToken` names the service that would use the token: a provider's identity (its
    root token will do), `opp-`-prefixed for its Onepanel; without it, Onezone itself. A user's
    token then needs its user to be a member of that provider's cluster (`tokenServiceForbidden`)."""
    token = deserialize(request.token)
    context = _context(ctx, request, caller_ip, request.interface)
    context = replace(context, allow_data_access=request.allowDataAccessCaveats)
    if request.serviceToken is not None:
        context = replace(context, service=verification.verify_service(ctx, request.serviceToken, context))
    return _answer(verification.verify(ctx, token, context, "accessToken"))
