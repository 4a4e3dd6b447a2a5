"""The Onezone provider registry REST API on AWS Chalice.

Routes only translate HTTP to calls into `chalicelib` and back; every rule lives there.
Paths carry the full `/api/v3/onezone` prefix so the same URLs work under `chalice local`, on
API Gateway behind a custom domain, and in the seed's curl examples.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib import (
    auth,
    bootstrap,
    clusters,
    context,
    deregistration,
    domain_config,
    openapi,
    provider_details,
    providers,
    user_tokens,
    users,
    zone,
)
from chalicelib.errors import OnedataError
from chalicelib.models import (
    ClusterDetails,
    ClusterList,
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    CreateUserRequest,
    CreateUserResponse,
    DomainConfig,
    ExaminedToken,
    ExamineTokenRequest,
    PrivilegesResponse,
    ProviderDetails,
    ProviderList,
    RegisterProviderRequest,
    RegisterProviderResponse,
    TokenIdList,
    TokenInfo,
    TokenResponse,
    UpdateDomainConfigRequest,
    UpdatePrivilegesRequest,
    UpdateProviderRequest,
    UpdateTokenRequest,
    UserResponse,
    ZoneConfiguration,
)
from chalicelib.openapi import Operation
from chalicelib.responses import error as handle_error
from chalicelib.responses import handle, ok
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.validation import parse

app = Chalice(app_name="onezone-registry")
app.log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
logging.getLogger("chalicelib").setLevel(os.environ.get("LOG_LEVEL", "INFO"))

API = "/api/v3/onezone"
VERSION = "0.1.0"
# RFC 9745: the token endpoint is deprecated (since Onezone 20.02) in favour of named/temporary
# invite tokens; it keeps working.
DEPRECATED = {
    "Deprecation": "@1577836800",
    "Link": f'<{API}/user/tokens/named>; rel="successor-version"',
}


# Bodies are parsed as JSON whatever their declared type (`curl -d` without `-H` sends a form
# type); anything unreadable is a Onedata `malformedData`, not the framework's own 415 body.
ACCEPTED_CONTENT_TYPES = ["*/*"]


OPERATIONS: list[Operation] = []


def route(
    path: str,
    method: str,
    operation_id: str,
    summary: str,
    **spec: Any,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """`app.route` for an API path: errors rendered by `chalicelib.responses`, and the route
    recorded (with its request/response models in `spec`) for the OpenAPI document."""

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(**params: Any) -> Response:
            return handle(lambda: view(**params))

        app.route(API + path, methods=[method], content_types=ACCEPTED_CONTENT_TYPES)(wrapped)
        OPERATIONS.append(Operation(method, API + path, operation_id, summary, **spec))
        return view

    return register


def _request() -> Any:
    return app.current_request


def _caller() -> UserRecord:
    return auth.authenticate_user(context.current(), _request().headers)


def _provider() -> ProviderRecord:
    return auth.authenticate_provider(context.current(), _request().headers)


@route("/user", "GET", "getCurrentUser", "Get the current user.", response=UserResponse)
def get_current_user() -> Response:
    return ok(users.describe(_caller()))


@route(
    "/users",
    "POST",
    "createUser",
    "Create a user (oz_users_create).",
    request=CreateUserRequest,
    response=CreateUserResponse,
    status=201,
)
def create_user() -> Response:
    caller = _caller()
    created = users.create(context.current(), caller, parse(CreateUserRequest, _request().raw_body))
    return ok(created, status=201, headers={"Location": f"{API}/users/{created.userId}"})


@route(
    "/users/{user_id}/privileges",
    "GET",
    "listUserAdminPrivileges",
    "A user's Onezone admin privileges.",
    response=PrivilegesResponse,
)
def get_user_privileges(user_id: str) -> Response:
    return ok(users.get_privileges(context.current(), _caller(), user_id))


@route(
    "/users/{user_id}/privileges",
    "PATCH",
    "updateUserAdminPrivileges",
    "Grant or revoke Onezone admin privileges.",
    request=UpdatePrivilegesRequest,
    status=204,
)
def update_user_privileges(user_id: str) -> Response:
    caller = _caller()
    users.update_privileges(context.current(), caller, user_id, parse(UpdatePrivilegesRequest, _request().raw_body))
    return ok(None, status=204)


@route(
    "/user/clusters/provider_registration_token",
    "POST",
    "createProviderRegistrationTokenForCurrentUser",
    "Create a provider registration token for the current user.",
    response=TokenResponse,
    deprecated=True,
)
def create_provider_registration_token() -> Response:
    return ok(providers.issue_registration_token(context.current(), _caller()), headers=DEPRECATED)


@route(
    "/providers",
    "POST",
    "registerProvider",
    "Register a Oneprovider.",
    request=RegisterProviderRequest,
    response=RegisterProviderResponse,
    public=True,
)
def register_provider() -> Response:
    return ok(providers.register(context.current(), _request().raw_body))


@route("/provider", "GET", "getCurrentProvider", "The calling provider's details.", response=ProviderDetails)
def get_current_provider() -> Response:
    return ok(provider_details.describe(_provider()))


@route(
    "/provider",
    "PATCH",
    "updateCurrentProvider",
    "Modify the calling provider's details.",
    request=UpdateProviderRequest,
    status=204,
)
def update_current_provider() -> Response:
    provider = _provider()
    provider_details.update(context.current(), provider, parse(UpdateProviderRequest, _request().raw_body))
    return ok(None, status=204)


@route("/provider", "DELETE", "unregisterProvider", "Deregister the calling provider.", status=204)
def unregister_provider() -> Response:
    deregistration.deregister(context.current(), _provider())
    return ok(None, status=204)


@route(
    "/provider/domain_config",
    "GET",
    "getProviderDomainConfig",
    "The calling provider's domain configuration.",
    response=DomainConfig,
)
def get_provider_domain_config() -> Response:
    return ok(domain_config.describe(_provider()))


@route(
    "/provider/domain_config",
    "PATCH",
    "updateProviderDomainConfig",
    "Switch subdomain delegation, the subdomain or the worker IPs.",
    request=UpdateDomainConfigRequest,
    status=204,
)
def update_provider_domain_config() -> Response:
    provider = _provider()
    domain_config.update(context.current(), provider, _request().raw_body)
    return ok(None, status=204)


@route("/providers", "GET", "listProviders", "List providers (oz_providers_list).", response=ProviderList)
def list_providers() -> Response:
    query = _request().query_params or {}
    caller = _caller()
    return ok(provider_details.list_page(context.current(), caller, query.get("limit"), query.get("page_token")))


@route("/providers/{provider_id}", "GET", "getProvider", "Get a provider's details.", response=ProviderDetails)
def get_provider(provider_id: str) -> Response:
    return ok(provider_details.get_for_user(context.current(), _caller(), provider_id))


@route(
    "/providers/{provider_id}", "DELETE", "removeProvider", "Deregister a provider (oz_providers_delete).", status=204
)
def remove_provider(provider_id: str) -> Response:
    deregistration.deregister_by_admin(context.current(), _caller(), provider_id)
    return ok(None, status=204)


@route("/user/clusters", "GET", "listUserClusters", "The current user's clusters.", response=ClusterList)
def list_user_clusters() -> Response:
    return ok(clusters.of_user(_caller()))


@route("/clusters/{cluster_id}", "GET", "getCluster", "Get a cluster's details.", response=ClusterDetails)
def get_cluster(cluster_id: str) -> Response:
    return ok(clusters.get(context.current(), _caller(), cluster_id))


@route(
    "/configuration",
    "GET",
    "getConfiguration",
    "This Onezone's public configuration.",
    response=ZoneConfiguration,
    public=True,
)
def get_configuration() -> Response:
    return ok(zone.configuration(context.current(), VERSION))


@route(
    "/user/tokens/named",
    "POST",
    "createNamedTokenForCurrentUser",
    "Create a named token.",
    request=CreateNamedTokenRequest,
    response=CreatedToken,
    status=201,
)
def create_named_token() -> Response:
    caller = _caller()
    created = user_tokens.create_named(context.current(), caller, parse(CreateNamedTokenRequest, _request().raw_body))
    return ok(created, status=201, headers={"Location": f"{API}/tokens/named/{created.tokenId}"})


@route("/user/tokens/named", "GET", "listNamedTokensOfCurrentUser", "List named tokens.", response=TokenIdList)
def list_named_tokens() -> Response:
    return ok(user_tokens.list_named(_caller()))


@route(
    "/user/tokens/temporary",
    "POST",
    "createTemporaryTokenForCurrentUser",
    "Create a temporary token.",
    request=CreateTemporaryTokenRequest,
    response=CreatedToken,
    status=201,
)
def create_temporary_token() -> Response:
    caller = _caller()
    body = parse(CreateTemporaryTokenRequest, _request().raw_body)
    return ok(user_tokens.create_temporary(context.current(), caller, body), status=201)


@route("/tokens/named/{token_id}", "GET", "getNamedToken", "Get a named token's details.", response=TokenInfo)
def get_named_token(token_id: str) -> Response:
    return ok(user_tokens.info(context.current(), _caller(), token_id))


@route(
    "/tokens/named/{token_id}",
    "PATCH",
    "updateNamedToken",
    "Revoke or reinstate a named token.",
    request=UpdateTokenRequest,
    status=204,
)
def update_named_token(token_id: str) -> Response:
    caller = _caller()
    user_tokens.update(context.current(), caller, token_id, parse(UpdateTokenRequest, _request().raw_body))
    return ok(None, status=204)


@route("/tokens/named/{token_id}", "DELETE", "deleteNamedToken", "Delete a named token.", status=204)
def delete_named_token(token_id: str) -> Response:
    user_tokens.delete(context.current(), _caller(), token_id)
    return ok(None, status=204)


@route(
    "/tokens/examine",
    "POST",
    "examineToken",
    "Show what a token is.",
    request=ExamineTokenRequest,
    response=ExaminedToken,
    public=True,
)
def examine_token() -> Response:
    return ok(user_tokens.examine(context.current(), parse(ExamineTokenRequest, _request().raw_body).token))


@route("/openapi.json", "GET", "getOpenApiDocument", "This API's OpenAPI document.", public=True)
def get_openapi_document() -> Response:
    return ok(openapi.document(OPERATIONS, VERSION))


def _reject_other_methods() -> None:
    """Answer methods a path does not serve with a Onedata 405, instead of a gateway default."""
    for path, views in list(app.routes.items()):
        allowed = ", ".join(sorted(views))
        others = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") if m not in views]

        def not_supported(allowed: str = allowed, **_params: str) -> Response:
            return handle_error(OnedataError("notSupported", headers={"Allow": allowed}))

        not_supported.__name__ = "not_supported_" + "".join(c if c.isalnum() else "_" for c in path)
        app.route(path, methods=others, content_types=ACCEPTED_CONTENT_TYPES)(not_supported)


_reject_other_methods()


@app.lambda_function(name="bootstrap_admin")
def bootstrap_admin(event: dict[str, Any], _lambda_context: Any) -> dict[str, Any]:
    """Run once after deploying: create the admin user from the configured secret."""
    return bootstrap.run(context.current())
