"""The handshake: the first message of a channel, and the only one served before it succeeds.

op-worker sends `supportedVersions: [4]` and its root token, confined with a time caveat and
marked `opw-`. The token is verified as every token is (`tokens.verification`: the signature
first, then its type, each caveat - here on the `graphsync` interface, from the peer's address -
and its stored state); a valid token of anyone but a provider is refused, this channel is the
providers'. Its `api` caveats, if any, bound every later request (`requests`).

What a refusal says matters more than usual: `unauthorized` with `authError` `tokenInvalid` makes
op-worker conclude that it was deregistered, delete its credentials and its storages' records.
So that answer is given only when the provider named by the token really is gone; any other
failure (an expired time caveat, a token this zone cannot read, AWS failing) is another error,
after which op-worker retries with backoff.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError, unauthorized
from chalicelib.graphsync import codec, connections, online
from chalicelib.store import providers as provider_store
from chalicelib.store.connections import ConnectionRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec as token_codec
from chalicelib.tokens import verification

# Errors of verification that say the token does not stand for anyone here: the provider is gone
# if its token names it and it does not exist; otherwise nobody knows who sent it.
UNKNOWN_TOKEN = ("tokenInvalid", "tokenSubjectInvalid")


def negotiate(client_versions: tuple[int, ...]) -> int:
    """The greatest version both sides speak; `badVersion` with ours when there is none."""
    common = set(client_versions) & set(codec.SUPPORTED_VERSIONS)
    if not common:
        raise OnedataError("badVersion", supportedVersions=list(codec.SUPPORTED_VERSIONS))
    return max(common)


def authenticate(ctx: Context, serialized: str | None, peer_ip: str | None) -> tuple[ProviderRecord, list[str]]:
    """The provider the handshake's token proves, and the token's `api` caveats."""
    if serialized is None:
        raise unauthorized()  # no credentials at all: nobody, whom this channel does not serve
    token = None
    try:
        token = token_codec.parse(serialized)
        context = cv.Context(now=int(time.time()), ip=peer_ip, interface="graphsync", geo=ctx.geo)
        verified = verification.verify(ctx, token, context, "accessToken")
    except OnedataError as error:
        raise _refusal(ctx, token, error) from None
    if not isinstance(verified.subject_record, ProviderRecord):
        raise OnedataError("forbidden", hint="this channel is for Oneproviders, authenticated with their token")
    return verified.subject_record, [c.serialize() for c in verified.caveats if isinstance(c, cv.Api)]


def _refusal(ctx: Context, token: token_codec.Token | None, error: OnedataError) -> OnedataError:
    if token is not None and _provider_gone(ctx, token):
        return gone()
    if error.id in UNKNOWN_TOKEN:
        # Not ours to read (another zone's, a root key that changed, a forgery) yet naming no
        # provider known to be gone: refused, without the one answer that deletes credentials.
        return unauthorized()
    return unauthorized(error)


def _provider_gone(ctx: Context, token: token_codec.Token) -> bool:
    subject = token.identifier.subject
    return subject.type == "oneprovider" and provider_store.TABLE.get(ctx, subject.id or "") is None


def gone() -> OnedataError:
    """What op-worker must hear when its provider was deregistered."""
    return unauthorized(OnedataError("tokenInvalid"))


def perform(
    ctx: Context, connection: connections.Connection, request: codec.Request, peer_ip: str | None, connected_at: int
) -> tuple[codec.Response, ConnectionRecord]:
    """A handshake request: the reply, and the connection as now recorded; `OnedataError` for
    a refusal (the caller answers it)."""
    handshake = codec.Handshake.from_payload(request.payload)
    version = negotiate(handshake.supported_versions)
    provider, api_caveats = authenticate(ctx, handshake.token, peer_ip)
    record = online.register(ctx, connection, provider, connected_at, api_caveats)
    if record is None:
        raise gone()
    reply: Any = codec.HandshakeReply(version, connection.id, provider.providerId).to_data()
    return codec.answer(request, reply), record
