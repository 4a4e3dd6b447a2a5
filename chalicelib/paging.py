"""Listing a table a page at a time (`GET /providers`, `GET /clusters`): `limit` (1-1000,
default 100) and an opaque `page_token`, the last key of the previous page, base64url-encoded.
A page reads at most `limit` items (`store.db.Table.page`), never the whole table."""

from __future__ import annotations

import base64
import binascii

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import db

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page(ctx: Context, table: db.Table, limit: str | None, page_token: str | None) -> tuple[list[str], str | None]:  # type: ignore[type-arg]
    """The keys of one page, and the token of the next (None after the last)."""
    if limit is None:
        size = DEFAULT_PAGE_SIZE
    elif limit.strip().isdigit():
        size = int(limit)
    else:
        raise OnedataError("badValueInteger", key="limit")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise OnedataError("badValueNotInRange", key="limit", low=1, high=MAX_PAGE_SIZE)
    keys, last = table.page(ctx, size, _decode(page_token) if page_token else None)
    return keys, _encode(last) if last else None


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(token: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise OnedataError("badData", key="page_token") from None
    if not decoded or not decoded.isalnum():
        raise OnedataError("badData", key="page_token")
    return decoded
