"""Tokens' routes: a user's named and temporary tokens, and Onezone's public token API (examine,
confine, verify)."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import Routes, location
from chalicelib.responses import ok

routes = Routes(__name__)


@routes(
    "/user/tokens/named",
    "POST",
    "createNamedTokenForCurrentUser",
    "Create a named token.",
    request="CreateNamedTokenRequest",
    response="CreatedToken",
    status=201,
    api=("create token.null.user_named_token,{client}:private",),
)
def create_named_token() -> Response:
    from chalicelib.models import CreateNamedTokenRequest
    from chalicelib.tokens import user_tokens
    from chalicelib.validation import parse

    caller = routes.caller()
    created = user_tokens.create_named(
        context.current(), caller, parse(CreateNamedTokenRequest, routes.request.raw_body)
    )
    return ok(created, status=201, headers=location(f"/tokens/named/{created.tokenId}"))


@routes(
    "/user/tokens/named",
    "GET",
    "listNamedTokensOfCurrentUser",
    "List named tokens.",
    response="TokenIdList",
    api=("get token.null.user_named_tokens,{client}:private",),
)
def list_named_tokens() -> Response:
    from chalicelib.tokens import user_tokens

    return ok(user_tokens.list_named(routes.caller()))


@routes(
    "/user/tokens/temporary",
    "POST",
    "createTemporaryTokenForCurrentUser",
    "Create a temporary token.",
    request="CreateTemporaryTokenRequest",
    response="TokenResponse",
    status=201,
    api=("create token.null.user_temporary_token,{client}:private",),
)
def create_temporary_token() -> Response:
    from chalicelib.models import CreateTemporaryTokenRequest
    from chalicelib.tokens import user_tokens
    from chalicelib.validation import parse

    caller = routes.caller()
    body = parse(CreateTemporaryTokenRequest, routes.request.raw_body)
    return ok(user_tokens.create_temporary(context.current(), caller, body), status=201)


@routes(
    "/user/tokens/temporary",
    "DELETE",
    "revokeAllTemporaryTokensOfCurrentUser",
    "Revoke all the current user's temporary tokens.",
    status=204,
    api=("delete token.null.user_temporary_tokens,{client}:private",),
)
def revoke_temporary_tokens() -> Response:
    from chalicelib.tokens import user_tokens

    user_tokens.revoke_temporary(context.current(), routes.caller())
    return ok(None, status=204)


@routes(
    "/tokens/named/{token_id}",
    "GET",
    "getNamedToken",
    "Get a named token's details.",
    response="TokenInfo",
    api=("get token.{token_id}.instance:private",),
)
def get_named_token(token_id: str) -> Response:
    from chalicelib.tokens import user_tokens

    return ok(user_tokens.info(context.current(), routes.caller(), token_id))


@routes(
    "/tokens/named/{token_id}",
    "PATCH",
    "updateNamedToken",
    "Revoke or reinstate a named token.",
    request="UpdateTokenRequest",
    status=204,
    api=("update token.{token_id}.instance:private",),
)
def update_named_token(token_id: str) -> Response:
    from chalicelib.models import UpdateTokenRequest
    from chalicelib.tokens import user_tokens
    from chalicelib.validation import parse

    caller = routes.caller()
    user_tokens.update(context.current(), caller, token_id, parse(UpdateTokenRequest, routes.request.raw_body))
    return ok(None, status=204)


@routes(
    "/tokens/named/{token_id}",
    "DELETE",
    "deleteNamedToken",
    "Delete a named token.",
    status=204,
    api=("delete token.{token_id}.instance:private",),
)
def delete_named_token(token_id: str) -> Response:
    from chalicelib.tokens import user_tokens

    user_tokens.delete(context.current(), routes.caller(), token_id)
    return ok(None, status=204)


@routes(
    "/tokens/examine",
    "POST",
    "examineToken",
    "What a token claims to be (any Onedata token; no signature check).",
    request="ExamineTokenRequest",
    response="ExaminedToken",
    public=True,
)
def examine_token() -> Response:
    from chalicelib.models import ExamineTokenRequest
    from chalicelib.tokens import inspection
    from chalicelib.validation import parse

    return ok(inspection.examine(parse(ExamineTokenRequest, routes.request.raw_body).token))


@routes(
    "/tokens/confine",
    "POST",
    "confineToken",
    "Add caveats to a token.",
    request="ConfineTokenRequest",
    response="TokenResponse",
    public=True,
)
def confine_token() -> Response:
    from chalicelib.models import ConfineTokenRequest
    from chalicelib.tokens import inspection
    from chalicelib.validation import parse

    return ok(inspection.confine(parse(ConfineTokenRequest, routes.request.raw_body)))


@routes(
    "/tokens/verify_invite_token",
    "POST",
    "verifyInviteToken",
    "Verify an invite token for a use (does not use it up).",
    request="VerifyInviteTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_invite_token() -> Response:
    from chalicelib.models import VerifyInviteTokenRequest
    from chalicelib.tokens import inspection
    from chalicelib.validation import parse

    body = parse(VerifyInviteTokenRequest, routes.request.raw_body)
    return ok(inspection.verify_invite(context.current(), body, routes.source_ip()))


@routes(
    "/tokens/verify_access_token",
    "POST",
    "verifyAccessToken",
    "Verify an access token for a use.",
    request="VerifyAccessTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_access_token() -> Response:
    from chalicelib.models import VerifyAccessTokenRequest
    from chalicelib.tokens import inspection
    from chalicelib.validation import parse

    body = parse(VerifyAccessTokenRequest, routes.request.raw_body)
    return ok(inspection.verify_access(context.current(), body, routes.source_ip()))


@routes(
    "/tokens/verify_identity_token",
    "POST",
    "verifyIdentityToken",
    "Verify an identity token for a use.",
    request="VerifyIdentityTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_identity_token() -> Response:
    from chalicelib.models import VerifyIdentityTokenRequest
    from chalicelib.tokens import inspection
    from chalicelib.validation import parse

    body = parse(VerifyIdentityTokenRequest, routes.request.raw_body)
    return ok(inspection.verify_identity(context.current(), body, routes.source_ip()))
