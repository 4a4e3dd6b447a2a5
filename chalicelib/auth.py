"""Who is calling: HTTP Basic credentials or an access token, as Onezone accepts them.

Accepted, in this order: `X-Auth-Token: <token>`, `Authorization: Bearer <token>`,
`Authorization: Basic <base64 username:password>`. Every failure is a 401 whose `authError`
says why, except a valid token of a non-user subject (a provider) on a user endpoint: that
identity is known but not allowed, hence 403.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from chalicelib import passwords, tokens
from chalicelib.context import Context
from chalicelib.errors import OnedataError, unauthorized
from chalicelib.store import users as user_store
from chalicelib.store.tokens import SubjectType
from chalicelib.store.users import UserRecord


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() if value and value.strip() else None


def authenticate_user(ctx: Context, headers: Mapping[str, str]) -> UserRecord:
    """The user behind the request's credentials, or a 401/403 `OnedataError`."""
    token = _header(headers, "x-auth-token")
    if token is None and (authorization := _header(headers, "authorization")):
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic":
            return _basic(ctx, credentials.strip())
        if scheme.lower() != "bearer":
            raise unauthorized(OnedataError("badToken"))
        token = credentials.strip()
    if not token:
        raise unauthorized()
    return _access_token(ctx, token)


def _basic(ctx: Context, credentials: str) -> UserRecord:
    bad = unauthorized(OnedataError("badBasicCredentials"))
    try:
        username, separator, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not separator or not username:
        raise bad
    user = user_store.get_by_username(ctx, username)
    if user is None:
        passwords.burn_time(password)
        raise bad
    if not passwords.verify_password(password, user.passwordHash):
        raise bad
    return user


def _access_token(ctx: Context, serialized: str) -> UserRecord:
    try:
        verified = tokens.verify(ctx, tokens.parse(serialized))
        tokens.require_access_token(verified.record)
    except OnedataError as error:
        raise unauthorized(error) from None
    if verified.record.subjectType is not SubjectType.USER:
        raise OnedataError("forbidden")
    user = user_store.get(ctx, verified.record.subjectId)
    if user is None:
        raise unauthorized(OnedataError("tokenSubjectInvalid"))
    return user


def require_privilege(user: UserRecord, privilege: str) -> None:
    if privilege not in user.privileges:
        raise OnedataError("forbidden", hint=f"requires the Onezone privilege {privilege}")
