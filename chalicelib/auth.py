"""Who is calling: HTTP Basic credentials or an access token, as Onezone's REST accepts them.

Tokens come in `X-Auth-Token`, `Authorization: Bearer` or the deprecated `Macaroon` header, with
or without a Oneprovider service prefix (`opw-`, `opp-`); users may also use
`Authorization: Basic`. Every failure is a 401 whose `authError` says why, except a valid
identity of the wrong kind (a provider on a user endpoint, or the reverse): that identity is known
but not allowed, hence 403.

An access token is verified as Onezone's REST verifies it (`tokens.verification`):
- `time`, `ip`, `asn`, `geo.*` against now and the request's source address;
- `interface` holds only for `rest`; `service` for the service using the token: Onezone itself
  (`ozw-onezone`, `ozw-*`), or the Oneprovider service whose service token comes in
  `x-onedata-service-token` (`opp-<providerId>` for its Onepanel, `tokens.services`) - whose
  users must then be members of its cluster (`tokenServiceForbidden`);
- `consumer` against the subject proven by an identity token in `x-onedata-consumer-token`, and
  fails without one (nobody proved who consumes the token);
- `data.readonly`, `data.path`, `data.objectid` always fail: Onezone's REST never allows data
  access caveats;
- `api` against the route's operation and resource (`tokens.gri.ApiOperation`), once the caller
  is known - a caveat naming `self` matches nothing, as in Onezone; and so are `service` caveats
  that whitelist no Onezone service: a token meant for a Onepanel may only read users, clusters
  and providers here (`services.allowed_api`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from chalicelib import observability, passwords
from chalicelib.context import Context
from chalicelib.errors import OnedataError, unauthorized
from chalicelib.store import users as user_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import codec, services, verification
from chalicelib.tokens.gri import ApiOperation

CONSUMER_TOKEN_HEADER = "x-onedata-consumer-token"  # noqa: S105 - a header name
SERVICE_TOKEN_HEADER = "x-onedata-service-token"  # noqa: S105 - a header name
OZ_WORKER = "ozw"
PROVIDERS_ONLY = "this operation is for providers, authenticated with a token"


@dataclass(frozen=True)
class Request:
    """What authentication needs of an HTTP request (header names in lower case)."""

    headers: Mapping[str, str]
    source_ip: str | None = None
    api: tuple[ApiOperation, ...] = ()
    params: dict[str, str] = field(default_factory=dict)


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
    token = token or _header(headers, "macaroon")
    if not token:
        raise unauthorized()
    return "token", token


def authenticate(ctx: Context, request: Request, users_only_by_token: bool = False) -> UserRecord | ProviderRecord:
    """The user or provider behind the request's credentials, or a 401 `OnedataError`.

    With `users_only_by_token`, Basic credentials - a user's, never a provider's - are refused
    (403) without being checked: no password hashing is spent where no user is welcome.
    """
    kind, credentials = _credentials(request.headers)
    if kind == "basic":
        if users_only_by_token:
            raise OnedataError("forbidden", hint=PROVIDERS_ONLY)
        user = _basic(ctx, credentials)
        observability.note(subject=f"usr-{user.userId}")
        return user
    try:
        verified = verification.verify(ctx, codec.parse(credentials), _rest_context(ctx, request), "accessToken")
        _check_api(verified, request)
    except OnedataError as error:
        raise unauthorized(error) from None
    observability.note(subject=verified.subject.serialize())
    return verified.subject_record  # type: ignore[no-any-return]


def authenticate_optional(ctx: Context, request: Request) -> UserRecord | ProviderRecord | None:
    """`authenticate`, but None (nobody) when the request carries no credentials."""
    try:
        _credentials(request.headers)
    except OnedataError as error:
        if "authError" not in error.details:
            return None
    return authenticate(ctx, request)


def authenticate_user(ctx: Context, request: Request) -> UserRecord:
    caller = authenticate(ctx, request)
    if not isinstance(caller, UserRecord):
        raise OnedataError("forbidden", hint="this operation is for users, not providers")
    return caller


def authenticate_provider(ctx: Context, request: Request) -> ProviderRecord:
    caller = authenticate(ctx, request, users_only_by_token=True)
    if not isinstance(caller, ProviderRecord):
        raise OnedataError("forbidden", hint=PROVIDERS_ONLY)
    return caller


def _rest_context(ctx: Context, request: Request) -> cv.Context:
    """The use of the request's access token: from its source address, over REST, by the subject
    of its consumer token and for the service of its service token (each checked as Onezone does,
    from that address over REST)."""
    base = cv.Context(now=int(time.time()), ip=request.source_ip, interface="rest", geo=ctx.geo)
    context = base
    consumer_token = _header(request.headers, CONSUMER_TOKEN_HEADER)
    if consumer_token is not None:
        try:
            consumer = verification.verify(ctx, codec.parse(consumer_token), base, "identityToken").subject
        except OnedataError as error:
            raise OnedataError("badConsumerToken", tokenError=error) from None
        context = replace(context, consumer=consumer)
    service_token = _header(request.headers, SERVICE_TOKEN_HEADER)
    if service_token is not None:
        context = replace(context, service=verification.verify_service(ctx, service_token, base))
    return context


def _check_api(verified: verification.Verified, request: Request) -> None:
    """Every `api` caveat, then every `service` caveat's API, must allow the route's operation on
    its resource (Onezone checks them when the operation runs, with the caller's id filled in)."""
    client_id = verified.subject.id or ""
    for operation in request.api:
        gri = operation.resolve(client_id, request.params)
        for caveat in verified.caveats:
            if isinstance(caveat, cv.Api) and not caveat.allows(OZ_WORKER, operation.operation, gri):
                raise verification.unverified(caveat)
        for caveat in verified.caveats:
            if isinstance(caveat, cv.Service) and not services.allowed_api(caveat).allows(
                OZ_WORKER, operation.operation, gri
            ):
                raise verification.unverified(caveat)


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


def require_privilege(user: UserRecord, privilege: str) -> None:
    if privilege not in user.privileges:
        raise OnedataError("forbidden", hint=f"requires the Onezone privilege {privilege}")
