"""The Onezone provider registry REST API on AWS Chalice.

Routes only translate HTTP to calls into `chalicelib` and back; every rule lives there.
Paths carry the full `/api/v3/onezone` prefix so the same URLs work under `chalice local`, on
API Gateway behind a custom domain, and in the seed's curl examples; `/nagios` and the legacy
`/configuration` sit at the root, where Onepanel looks for them.

Each route also says what it is to an `api` caveat (`api=`: operation and resource, with
`{client}` for the caller's id), as Onezone's REST does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, Request

from chalicelib import config, context, observability
from chalicelib.errors import OnedataError
from chalicelib.operations import Operation
from chalicelib.responses import error as handle_error
from chalicelib.responses import handle, ok

if TYPE_CHECKING:
    from chalicelib import auth
    from chalicelib.store.providers import ProviderRecord
    from chalicelib.store.users import UserRecord
    from chalicelib.tokens.gri import ApiOperation

app = Chalice(app_name="onezone-registry", configure_logs=False)  # logs: chalicelib.observability
observability.setup()

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
    prefix: str = API,
    **spec: Any,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """`app.route` for an API path: errors rendered by `chalicelib.responses`, and the route
    recorded (with its request/response models in `spec`) for the OpenAPI document."""

    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(**params: Any) -> Response:
            return handle(lambda: view(**params))

        app.route(prefix + path, methods=[method], content_types=ACCEPTED_CONTENT_TYPES)(wrapped)
        OPERATIONS.append(Operation(method, prefix + path, operation_id, summary, **spec))
        return view

    return register


@app.middleware("http")
def every_request(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Each request with its log keys and access line. A path no route has gets Onedata's 404:
    API Gateway answers those itself (`infra/chalice-merge.yaml`), but the function must not
    fail on one either, should it ever be invoked with it."""

    def respond(request: Request) -> Response:
        if (request.context or {}).get("resourcePath") not in app.routes:
            return handle_error(OnedataError("notFound"))
        return get_response(request)

    return observability.serve(request, respond)


def _request() -> Any:
    return app.current_request


def _source_ip() -> str | None:
    """The client's address as API Gateway (and `chalice local`) saw it."""
    identity = (_request().context or {}).get("identity") or {}
    return identity.get("sourceIp")


def _auth_request() -> auth.Request:
    from chalicelib import auth

    request = _request()
    resource = (request.context or {}).get("resourcePath", "")
    return auth.Request(
        headers=request.headers,
        source_ip=_source_ip(),
        api=_api_operations(request.method, resource),
        params=dict(request.uri_params or {}),
    )


@functools.cache
def _api_operations(method: str, resource: str) -> tuple[ApiOperation, ...]:
    """What the route is to `api` caveats, parsed the first time a request asks."""
    from chalicelib.tokens.gri import ApiOperation

    specs = next((op.api for op in OPERATIONS if (op.method, op.path) == (method, resource)), ())
    return tuple(ApiOperation.parse(spec) for spec in specs)


def _caller() -> UserRecord:
    from chalicelib import auth

    return auth.authenticate_user(context.current(), _auth_request())


def _provider() -> ProviderRecord:
    from chalicelib import auth

    return auth.authenticate_provider(context.current(), _auth_request())


def _anyone() -> UserRecord | ProviderRecord:
    from chalicelib import auth

    return auth.authenticate(context.current(), _auth_request())


@route(
    "/user",
    "GET",
    "getCurrentUser",
    "Get the current user.",
    response="UserResponse",
    api=("get user.{client}.instance:protected",),
)
def get_current_user() -> Response:
    from chalicelib import users

    return ok(users.describe(_caller()))


@route(
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
    from chalicelib import users
    from chalicelib.models import CreateUserRequest
    from chalicelib.validation import parse

    caller = _caller()
    created = users.create(context.current(), caller, parse(CreateUserRequest, _request().raw_body))
    return ok(created, status=201, headers={"Location": f"{API}/users/{created.userId}"})


@route(
    "/users/{user_id}/privileges",
    "GET",
    "listUserAdminPrivileges",
    "A user's Onezone admin privileges.",
    response="PrivilegesResponse",
    api=("get user.{user_id}.oz_privileges:private",),
)
def get_user_privileges(user_id: str) -> Response:
    from chalicelib import users

    return ok(users.get_privileges(context.current(), _caller(), user_id))


@route(
    "/users/{user_id}/privileges",
    "PATCH",
    "updateUserAdminPrivileges",
    "Grant or revoke Onezone admin privileges.",
    request="UpdatePrivilegesRequest",
    status=204,
    api=("update user.{user_id}.oz_privileges:private",),
)
def update_user_privileges(user_id: str) -> Response:
    from chalicelib import users
    from chalicelib.models import UpdatePrivilegesRequest
    from chalicelib.validation import parse

    caller = _caller()
    users.update_privileges(context.current(), caller, user_id, parse(UpdatePrivilegesRequest, _request().raw_body))
    return ok(None, status=204)


@route(
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
    from chalicelib import user_tokens

    token = user_tokens.create_legacy_registration_token(context.current(), _caller())
    return ok(token, headers=DEPRECATED)


@route(
    "/providers",
    "POST",
    "registerProvider",
    "Register a Oneprovider.",
    request="RegisterProviderRequest",
    response="RegisterProviderResponse",
    public=True,
)
def register_provider() -> Response:
    from chalicelib import providers

    return ok(providers.register(context.current(), _request().raw_body, _source_ip()))


@route(
    "/provider",
    "GET",
    "getCurrentProvider",
    "The calling provider's details.",
    response="ProviderDetails",
    api=("get provider.{client}.instance:protected",),
)
def get_current_provider() -> Response:
    from chalicelib import provider_details

    return ok(provider_details.describe(_provider()))


@route(
    "/provider",
    "PATCH",
    "updateCurrentProvider",
    "Modify the calling provider's details.",
    request="UpdateProviderRequest",
    status=204,
    api=("update provider.{client}.instance:private",),
)
def update_current_provider() -> Response:
    from chalicelib import provider_details
    from chalicelib.models import UpdateProviderRequest
    from chalicelib.validation import parse

    provider = _provider()
    provider_details.update(context.current(), provider, parse(UpdateProviderRequest, _request().raw_body))
    return ok(None, status=204)


@route(
    "/provider",
    "DELETE",
    "unregisterProvider",
    "Deregister the calling provider.",
    status=204,
    api=("delete provider.{client}.instance:private",),
)
def unregister_provider() -> Response:
    from chalicelib import deregistration

    deregistration.deregister(context.current(), _provider())
    return ok(None, status=204)


@route(
    "/provider/domain_config",
    "GET",
    "getProviderDomainConfig",
    "The calling provider's domain configuration.",
    response="DomainConfig",
    api=("get provider.{client}.domain_config:private",),
)
def get_provider_domain_config() -> Response:
    from chalicelib import domain_config

    return ok(domain_config.describe(_provider()))


@route(
    "/provider/domain_config",
    "PATCH",
    "updateProviderDomainConfig",
    "Switch subdomain delegation, the subdomain or the worker IPs.",
    request="UpdateDomainConfigRequest",
    status=204,
    api=("update provider.{client}.domain_config:private",),
)
def update_provider_domain_config() -> Response:
    from chalicelib import domain_config

    provider = _provider()
    domain_config.update(context.current(), provider, _request().raw_body)
    return ok(None, status=204)


@route(
    "/provider/dns_txt_record/{record_name}",
    "PUT",
    "setProviderDnsTxtRecord",
    "Create or replace a TXT record <record_name>.<subdomain> (ACME DNS-01); needs subdomain delegation.",
    request="SetDnsTxtRecordRequest",
    status=204,
    api=("create provider.{client}.dns_txt_record,{record_name}:private",),
)
def set_provider_dns_txt_record(record_name: str) -> Response:
    from chalicelib import txt_records

    provider = _provider()
    txt_records.put(context.current(), provider, record_name, _request().raw_body)
    return ok(None, status=204)


@route(
    "/provider/dns_txt_record/{record_name}",
    "DELETE",
    "removeProviderDnsTxtRecord",
    "Remove a TXT record <record_name>.<subdomain>.",
    status=204,
    api=("delete provider.{client}.dns_txt_record,{record_name}:private",),
)
def remove_provider_dns_txt_record(record_name: str) -> Response:
    from chalicelib import txt_records

    txt_records.remove(context.current(), _provider(), record_name)
    return ok(None, status=204)


@route(
    "/provider/public/get_current_time",
    "GET",
    "getCurrentTime",
    "This zone's clock, in milliseconds (Onepanel syncs with it).",
    response="CurrentTime",
    public=True,
)
def get_current_time() -> Response:
    from chalicelib import zone

    return ok(zone.current_time())


@route(
    "/provider/public/check_my_ip",
    "GET",
    "checkMyIp",
    "The caller's IP address, as this zone sees it.",
    raw_response=("application/json", {"type": "string"}),
    public=True,
)
def check_my_ip() -> Response:
    return ok(_source_ip() or "")


@route(
    "/providers",
    "GET",
    "listProviders",
    "List providers (oz_providers_list).",
    response="ProviderList",
    api=("get provider.null.list:private",),
)
def list_providers() -> Response:
    from chalicelib import provider_details

    query = _request().query_params or {}
    caller = _caller()
    return ok(provider_details.list_page(context.current(), caller, query.get("limit"), query.get("page_token")))


@route(
    "/providers/{provider_id}",
    "GET",
    "getProvider",
    "Get a provider's details.",
    response="ProviderDetails",
    api=("get provider.{provider_id}.instance:protected",),
)
def get_provider(provider_id: str) -> Response:
    from chalicelib import provider_details

    return ok(provider_details.get_for_user(context.current(), _caller(), provider_id))


@route(
    "/providers/{provider_id}",
    "DELETE",
    "removeProvider",
    "Deregister a provider (oz_providers_delete).",
    status=204,
    api=("delete provider.{provider_id}.instance:private",),
)
def remove_provider(provider_id: str) -> Response:
    from chalicelib import deregistration

    deregistration.deregister_by_admin(context.current(), _caller(), provider_id)
    return ok(None, status=204)


@route(
    "/user/clusters",
    "GET",
    "listUserClusters",
    "The current user's clusters.",
    response="ClusterList",
    api=("get user.{client}.clusters:private",),
)
def list_user_clusters() -> Response:
    from chalicelib import clusters

    return ok(clusters.of_user(_caller()))


@route(
    "/clusters/{cluster_id}",
    "GET",
    "getCluster",
    "Get a cluster's details.",
    response="ClusterDetails",
    api=("get cluster.{cluster_id}.instance:protected",),
)
def get_cluster(cluster_id: str) -> Response:
    from chalicelib import clusters

    return ok(clusters.get(context.current(), _anyone(), cluster_id))


@route(
    "/clusters/{cluster_id}",
    "PATCH",
    "updateCluster",
    "Record the versions a cluster's services report (Onepanel, after registering).",
    request="UpdateClusterRequest",
    status=204,
    api=("update cluster.{cluster_id}.instance:private",),
)
def update_cluster(cluster_id: str) -> Response:
    from chalicelib import clusters
    from chalicelib.models import UpdateClusterRequest
    from chalicelib.validation import parse

    caller = _anyone()
    clusters.update(context.current(), caller, cluster_id, parse(UpdateClusterRequest, _request().raw_body))
    return ok(None, status=204)


def _configuration() -> Response:
    from chalicelib import zone

    return ok(zone.configuration(context.current()))


route(
    "/configuration",
    "GET",
    "getConfiguration",
    "This Onezone's public configuration.",
    response="ZoneConfiguration",
    public=True,
)(_configuration)
route(
    "/configuration",
    "GET",
    "getConfigurationLegacy",
    "This Onezone's public configuration (Onezone's legacy path, outside the API prefix).",
    prefix="",
    response="ZoneConfiguration",
    public=True,
)(_configuration)


@route(
    "/nagios",
    "GET",
    "getHealth",
    "Onedata's health report (Nagios XML); Onepanel needs status ok before it registers.",
    prefix="",
    raw_response=("application/xml", {"type": "string"}),
    public=True,
)
def get_health() -> Response:
    from chalicelib import health

    return Response(body=health.report(context.current()), status_code=200, headers={"Content-Type": "application/xml"})


@route(
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
    from chalicelib import user_tokens
    from chalicelib.models import CreateNamedTokenRequest
    from chalicelib.validation import parse

    caller = _caller()
    created = user_tokens.create_named(context.current(), caller, parse(CreateNamedTokenRequest, _request().raw_body))
    return ok(created, status=201, headers={"Location": f"{API}/tokens/named/{created.tokenId}"})


@route(
    "/user/tokens/named",
    "GET",
    "listNamedTokensOfCurrentUser",
    "List named tokens.",
    response="TokenIdList",
    api=("get token.null.user_named_tokens,{client}:private",),
)
def list_named_tokens() -> Response:
    from chalicelib import user_tokens

    return ok(user_tokens.list_named(_caller()))


@route(
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
    from chalicelib import user_tokens
    from chalicelib.models import CreateTemporaryTokenRequest
    from chalicelib.validation import parse

    caller = _caller()
    body = parse(CreateTemporaryTokenRequest, _request().raw_body)
    return ok(user_tokens.create_temporary(context.current(), caller, body), status=201)


@route(
    "/user/tokens/temporary",
    "DELETE",
    "revokeAllTemporaryTokensOfCurrentUser",
    "Revoke all the current user's temporary tokens.",
    status=204,
    api=("delete token.null.user_temporary_tokens,{client}:private",),
)
def revoke_temporary_tokens() -> Response:
    from chalicelib import user_tokens

    user_tokens.revoke_temporary(context.current(), _caller())
    return ok(None, status=204)


@route(
    "/tokens/named/{token_id}",
    "GET",
    "getNamedToken",
    "Get a named token's details.",
    response="TokenInfo",
    api=("get token.{token_id}.instance:private",),
)
def get_named_token(token_id: str) -> Response:
    from chalicelib import user_tokens

    return ok(user_tokens.info(context.current(), _caller(), token_id))


@route(
    "/tokens/named/{token_id}",
    "PATCH",
    "updateNamedToken",
    "Revoke or reinstate a named token.",
    request="UpdateTokenRequest",
    status=204,
    api=("update token.{token_id}.instance:private",),
)
def update_named_token(token_id: str) -> Response:
    from chalicelib import user_tokens
    from chalicelib.models import UpdateTokenRequest
    from chalicelib.validation import parse

    caller = _caller()
    user_tokens.update(context.current(), caller, token_id, parse(UpdateTokenRequest, _request().raw_body))
    return ok(None, status=204)


@route(
    "/tokens/named/{token_id}",
    "DELETE",
    "deleteNamedToken",
    "Delete a named token.",
    status=204,
    api=("delete token.{token_id}.instance:private",),
)
def delete_named_token(token_id: str) -> Response:
    from chalicelib import user_tokens

    user_tokens.delete(context.current(), _caller(), token_id)
    return ok(None, status=204)


@route(
    "/tokens/examine",
    "POST",
    "examineToken",
    "What a token claims to be (any Onedata token; no signature check).",
    request="ExamineTokenRequest",
    response="ExaminedToken",
    public=True,
)
def examine_token() -> Response:
    from chalicelib import token_checks
    from chalicelib.models import ExamineTokenRequest
    from chalicelib.validation import parse

    return ok(token_checks.examine(parse(ExamineTokenRequest, _request().raw_body).token))


@route(
    "/tokens/confine",
    "POST",
    "confineToken",
    "Add caveats to a token.",
    request="ConfineTokenRequest",
    response="TokenResponse",
    public=True,
)
def confine_token() -> Response:
    from chalicelib import token_checks
    from chalicelib.models import ConfineTokenRequest
    from chalicelib.validation import parse

    return ok(token_checks.confine(parse(ConfineTokenRequest, _request().raw_body)))


@route(
    "/tokens/verify_invite_token",
    "POST",
    "verifyInviteToken",
    "Verify an invite token for a use (does not use it up).",
    request="VerifyInviteTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_invite_token() -> Response:
    from chalicelib import token_checks
    from chalicelib.models import VerifyInviteTokenRequest
    from chalicelib.validation import parse

    body = parse(VerifyInviteTokenRequest, _request().raw_body)
    return ok(token_checks.verify_invite(context.current(), body, _source_ip()))


@route(
    "/tokens/verify_access_token",
    "POST",
    "verifyAccessToken",
    "Verify an access token for a use.",
    request="VerifyAccessTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_access_token() -> Response:
    from chalicelib import token_checks
    from chalicelib.models import VerifyAccessTokenRequest
    from chalicelib.validation import parse

    body = parse(VerifyAccessTokenRequest, _request().raw_body)
    return ok(token_checks.verify_access(context.current(), body, _source_ip()))


@route(
    "/tokens/verify_identity_token",
    "POST",
    "verifyIdentityToken",
    "Verify an identity token for a use.",
    request="VerifyIdentityTokenRequest",
    response="VerifiedToken",
    public=True,
)
def verify_identity_token() -> Response:
    from chalicelib import token_checks
    from chalicelib.models import VerifyIdentityTokenRequest
    from chalicelib.validation import parse

    body = parse(VerifyIdentityTokenRequest, _request().raw_body)
    return ok(token_checks.verify_identity(context.current(), body, _source_ip()))


@route("/openapi.json", "GET", "getOpenApiDocument", "This API's OpenAPI document.", public=True)
def get_openapi_document() -> Response:
    from chalicelib import openapi

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
    from chalicelib import bootstrap

    return bootstrap.run(context.current())


@app.schedule(Rate(config.reconcile_every_minutes(), unit=Rate.MINUTES), name="reconcile_dns")
def reconcile_dns(_event: CloudWatchEvent) -> dict[str, int]:
    """Make Route 53 hold exactly what the registry says (README: "DNS that heals itself").
    Invoke it by hand with a scheduled event: `infra/reconcile-event.json`."""
    from chalicelib.dns import reconciler

    return reconciler.run(context.current())
