"""Who is calling: HTTP Basic credentials or an access token, as Onezone accepts them.

Accepted, in this order: `X-Auth-Token: <token>`, `Authorization: Bearer <token>`,
`Authorization: Basic <base64 username:password>`. Users authenticate with either; providers
with their root token. Every failure is a 401 whose `authError` says why, except a valid
identity of the wrong kind (a provider on a user endpoint, or the reverse): that identity is
known but not allowed, hence 403.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from chalicelib import passwords, tokens
from chalicelib.context import Context
from chalicelib.errors import OnedataError, unauthorized
from chalicelib.store import providers as provider_store
from chalicelib.store import users as user_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.tokens import SubjectType, TokenRecord
from chalicelib.store.users import UserRecord


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() if value and value.strip() else None


def _credentials(headers: Mapping[str, str]) -> tuple[str, str]:
    """(`"basic"`, base64 credentials) or (`"token"`, serialized token); 401 if there are none."""
    token = _header(headers, "x-auth-token")
    if token is None and (authorization := _header(headers, "authorization")):
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic":
            return "basic", credentials.strip()
        if scheme.lower() != "bearer":
            raise unauthorized(OnedataError("badToken"))
        token = credentials.strip()
    if not token:
        raise unauthorized()
    return "token", token


def authenticate_user(ctx: Context, headers: Mapping[str, str]) -> UserRecord:
    """The user behind the request's credentials, or a 401/403 `OnedataError`."""
    kind, credentials = _credentials(headers)
    if kind == "basic":
        return _basic(ctx, credentials)
    record = _access_token(ctx, credentials)
    if record.subjectType is not SubjectType.USER:
        raise OnedataError("forbidden", hint="this operation is for users, not providers")
    user = user_store.get(ctx, record.subjectId)
    if user is None:
        raise unauthorized(OnedataError("tokenSubjectInvalid"))
    return user


def authenticate_provider(ctx: Context, headers: Mapping[str, str]) -> ProviderRecord:
    """The provider behind an access token (its root token), or a 401/403 `OnedataError`."""
    kind, credentials = _credentials(headers)
    if kind == "basic":
        raise OnedataError("forbidden", hint="this operation is for providers, authenticated with a token")
    record = _access_token(ctx, credentials)
    if record.subjectType is not SubjectType.PROVIDER:
        raise OnedataError("forbidden", hint="this operation is for providers, not users")
    provider = provider_store.TABLE.get(ctx, record.subjectId)
    if provider is None:
        raise unauthorized(OnedataError("tokenSubjectInvalid"))
    return provider


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


def _access_token(ctx: Context, serialized: str) -> TokenRecord:
    try:
        verified = tokens.verify(ctx, tokens.parse(serialized))
        tokens.require_access_token(verified.record)
    except OnedataError as error:
        raise unauthorized(error) from None
    return verified.record


def require_privilege(user: UserRecord, privilege: str) -> None:
    if privilege not in user.privileges:
        raise OnedataError("forbidden", hint=f"requires the Onezone privilege {privilege}")
