"""Making tokens in tests the way the registry does, and the ways an attacker would try to."""

from __future__ import annotations

import time
from collections.abc import Sequence

from pymacaroons import Macaroon

from chalicelib import context
from chalicelib.store import tokens as token_store
from chalicelib.store.tokens import TokenRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec, issuing
from chalicelib.tokens.codec import Identifier, Subject, TokenType
from chalicelib.tokens.keys import key_for


def named(
    subject: Subject,
    token_type: TokenType | None = None,
    caveats: Sequence[cv.Caveat] = (),
    name: str | None = None,
    **fields: object,
) -> tuple[TokenRecord, str]:
    """A named token's item, stored as it is (its subject need not exist), and the serialized
    token. `fields` override the item's (e.g. `revoked=True`, `usageLimit=1`)."""
    record = issuing.named_record(
        subject, token_type or TokenType.access(), name or f"token {time.time_ns()}", int(time.time()), caveats
    ).model_copy(update=fields)
    ctx = context.current()
    ctx.aws.dynamodb.put_item(**token_store.TABLE.put_new_op(ctx, record)["Put"])
    return record, issuing.serialize_named(ctx, record)


def access_token(user_id: str, expires_in: int | None = 3600, subject_type: str = "user") -> str:
    caveats = [] if expires_in is None else [cv.Time(int(time.time()) + expires_in)]
    return named(Subject(subject_type, user_id), caveats=caveats)[1]


def macaroon_of(serialized: str) -> Macaroon:
    return codec.parse(serialized).macaroon


def identifier_of(serialized: str) -> Identifier:
    return codec.parse(serialized).identifier


def signed(identifier: Identifier, caveats: Sequence[str], location: str = "onezone.test") -> str:
    """A token signed with the registry's real key: what the registry would mint for it."""
    return codec.mint(location, identifier, key_for(context.current(), identifier), list(caveats))


def resigned(serialized: str, caveats: Sequence[str]) -> str:
    """The same identifier, signed with the real key, with other caveats."""
    token = codec.parse(serialized)
    return signed(token.identifier, caveats, token.onezone_domain)


def forged(serialized: str, caveats: Sequence[str] | None = None) -> str:
    """The same identifier (and caveats, unless given), signed with a guessed key."""
    token = codec.parse(serialized)
    chosen = list(token.caveats) if caveats is None else list(caveats)
    return codec.mint(token.onezone_domain, token.identifier, "guessed key", chosen)


def without_caveats(serialized: str) -> str:
    """The token with its caveats stripped and its signature kept: a broken chain."""
    macaroon = macaroon_of(serialized).copy()
    macaroon.caveats.clear()
    return codec.escape(macaroon.serialize())
