"""Users' routes: the current user, users by id, admin-created users, Onezone admin privileges,
and the seed's (deprecated) provider registration token, for oneself or another user."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import API, Routes, location
from chalicelib.responses import ok

routes = Routes(__name__)

# RFC 9745: the token endpoint is deprecated (since Onezone 20.02) in favour of named/temporary
# invite tokens; it keeps working.
DEPRECATED = {
    "Deprecation": "@1577836800",
    "Link": f'<{API}/user/tokens/named>; rel="successor-version"',
}


@routes(
    "/user",
    "GET",
    "getCurrentUser",
    "Get the current user.",
    response="UserResponse",
    api=("get user.{client}.instance:protected",),
)
def get_current_user() -> Response:
    from chalicelib.users import views

    return ok(views.describe(routes.me()))


@routes(
    "/users/{user_id}",
    "GET",
    "getUser",
    "Get a user's details (the user themself, or oz_users_view).",
    response="UserResponse",
    api=("get user.{user_id}.instance:protected",),
)
def get_user(user_id: str) -> Response:
    from chalicelib.users import views

    return ok(views.get(context.current(), routes.anyone(), user_id))


@routes(
    "/users",
    "POST",
    "createUser",
    "Create a user (oz_users_create).",
    request="CreateUserRequest",
    response="CreateUserResponse",
    status=201,
    api=("create user.null.instance:private",),
)
def create_user() -> Response:
    from chalicelib.models import CreateUserRequest
    from chalicelib.users import accounts
    from chalicelib.validation import parse

    caller = routes.caller()
    created = accounts.create(context.current(), caller, parse(CreateUserRequest, routes.request.raw_body))
    return ok(created, status=201, headers=location(f"/users/{created.userId}"))


@routes(
    "/users/{user_id}/privileges",
    "GET",
    "listUserAdminPrivileges",
    "A user's Onezone admin privileges.",
    response="PrivilegesResponse",
    api=("get user.{user_id}.oz_privileges:private",),
)
def get_user_privileges(user_id: str) -> Response:
    from chalicelib.users import oz_privileges

    return ok(oz_privileges.get_privileges(context.current(), routes.caller(), user_id))


@routes(
    "/users/{user_id}/privileges",
    "PATCH",
    "updateUserAdminPrivileges",
    "Grant or revoke Onezone admin privileges.",
    request="UpdatePrivilegesRequest",
    status=204,
    api=("update user.{user_id}.oz_privileges:private",),
)
def update_user_privileges(user_id: str) -> Response:
    from chalicelib.models import UpdatePrivilegesRequest
    from chalicelib.users import oz_privileges
    from chalicelib.validation import parse

    caller = routes.caller()
    oz_privileges.update_privileges(
        context.current(), caller, user_id, parse(UpdatePrivilegesRequest, routes.request.raw_body)
    )
    return ok(None, status=204)


@routes(
    "/user/clusters/provider_registration_token",
    "POST",
    "createProviderRegistrationTokenForCurrentUser",
    "Create a provider registration token for the current user.",
    response="TokenResponse",
    deprecated=True,
    # Onezone makes a named token for it, and checks that operation too.
    api=(
        "create user.{client}.provider_registration_token:private",
        "create token.null.user_named_token,{client}:private",
    ),
)
def create_provider_registration_token() -> Response:
    from chalicelib.tokens import user_tokens

    token = user_tokens.create_legacy_registration_token(context.current(), routes.caller())
    return ok(token, headers=DEPRECATED)


@routes(
    "/users/{user_id}/clusters/provider_registration_token",
    "POST",
    "createProviderRegistrationTokenForUser",
    "Create a provider registration token for a user (themself under the open policy, or oz_providers_invite).",
    response="TokenResponse",
    deprecated=True,
    api=(
        "create user.{user_id}.provider_registration_token:private",
        "create token.null.user_named_token,{client}:private",
    ),
)
def create_provider_registration_token_for_user(user_id: str) -> Response:
    from chalicelib.tokens import user_tokens

    token = user_tokens.create_legacy_registration_token(context.current(), routes.caller(), user_id)
    return ok(token, headers=DEPRECATED)
