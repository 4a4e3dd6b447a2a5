"""Minting tokens: named ones from their stored item, temporary ones from their subject's generation.

Every token is minted with the zone's domain as its location (Onepanel reads the zone from it)
and a version 2 identifier. A named token can be minted again, identically, from its item - which
is how `GET /tokens/named/{id}` shows it without the serialized token ever being stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from chalicelib.context import Context
from chalicelib.store.tokens import TokenRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec
from chalicelib.tokens.codec import Identifier, Subject, TokenType
from chalicelib.tokens.keys import key_for

ROOT_TOKEN_NAME = "root token"  # noqa: S105 - what Onezone names a provider's root token


def new_id() -> str:
    """A token id: 128 random bits, as Onezone's 32 hex digits."""
    return secrets.token_hex(16)


def named_record(
    subject: Subject,
    token_type: TokenType,
    name: str,
    now: int,
    caveats: Sequence[cv.Caveat] = (),
    usage_limit: int | None = None,
) -> TokenRecord:
    """The item of a new named token (not stored yet)."""
    return TokenRecord(
        tokenId=new_id(),
        subjectType=subject.type,
        subjectId=subject.id or "",
        type=token_type.serialize(),
        name=name,
        caveats=[caveat.serialize() for caveat in caveats],
        createdAt=now,
        usageLimit=usage_limit,
    )


def serialize_named(ctx: Context, record: TokenRecord) -> str:
    """The serialized named token `record` stands for."""
    return _mint(ctx, record.identifier, record.caveats)


def temporary(
    ctx: Context, subject: Subject, generation: int, token_type: TokenType, caveats: Sequence[cv.Caveat]
) -> str:
    """A temporary token: nothing is stored; its subject's generation is its revocation."""
    identifier = Identifier(id=new_id(), subject=subject, type=token_type, generation=generation)
    return _mint(ctx, identifier, [caveat.serialize() for caveat in caveats])


def _mint(ctx: Context, identifier: Identifier, caveats: Sequence[str]) -> str:
    return codec.mint(ctx.settings.zone_domain, identifier, key_for(ctx, identifier), list(caveats))
