"""How a route is declared: a Chalice Blueprint whose routes answer in Onedata's shape and are
recorded for the OpenAPI document and for `api` caveats.

Each area of the API (`chalicelib.api.users`, `.providers`, ...) has one `Routes`; `app.py`
registers their blueprints. A view parses its request, calls one function of `chalicelib`, and
returns its result; whatever it raises leaves through `chalicelib.responses`. Views import what
they call on first use, so a cold container pays only for its own request.

Paths carry the full `/api/v3/onezone` prefix so the same URLs work under `chalice local`, on
API Gateway behind a custom domain, and in the seed's curl examples; `/nagios` and the legacy
`/configuration` sit at the root, where Onepanel looks for them. Each route also says what it is
to an `api` caveat (`api=`: operation and resource, with `{client}` for the caller's id), as
Onezone's REST does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import context
from chalicelib.operations import Operation
from chalicelib.responses import handle

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib import auth
    from chalicelib.store.providers import ProviderRecord
    from chalicelib.store.users import UserRecord
    from chalicelib.tokens.gri import ApiOperation

API = "/api/v3/onezone"
# Bodies are parsed as JSON whatever their declared type (`curl -d` without `-H` sends a form
# type); anything unreadable is a Onedata `malformedData`, not the framework's own 415 body.
ACCEPTED_CONTENT_TYPES = ["*/*"]
# Every operation of every blueprint, in declaration order.
OPERATIONS: list[Operation] = []

View = Callable[..., Response]


class Routes:
    """One area's routes, on one Blueprint, with what its views need of the current request."""

    def __init__(self, name: str) -> None:
        self.blueprint = Blueprint(name)

    def __call__(
        self, path: str, method: str, operation_id: str, summary: str, prefix: str = API, **spec: Any
    ) -> Callable[[View], View]:
        """`route` for an API path: errors rendered by `chalicelib.responses`, and the route
        recorded (with its request/response models in `spec`) for the OpenAPI document."""

        def register(view: View) -> View:
            @functools.wraps(view)
            def wrapped(**params: Any) -> Response:
                return handle(lambda: view(**params))

            self.blueprint.route(prefix + path, methods=[method], content_types=ACCEPTED_CONTENT_TYPES)(wrapped)
            OPERATIONS.append(Operation(method, prefix + path, operation_id, summary, **spec))
            return view

        return register

    @property
    def request(self) -> Request:
        return self.blueprint.current_request

    def source_ip(self) -> str | None:
        """The client's address as API Gateway (and the local run) saw it."""
        identity = (self.request.context or {}).get("identity") or {}
        return identity.get("sourceIp")

    def auth_request(self) -> auth.Request:
        from chalicelib import auth

        request = self.request
        resource = (request.context or {}).get("resourcePath", "")
        return auth.Request(
            headers=request.headers,
            source_ip=self.source_ip(),
            api=api_operations(request.method, resource),
            params=dict(request.uri_params or {}),
        )

    def anyone_or_nobody(self) -> UserRecord | ProviderRecord | None:
        """The authenticated user or provider, or None for a request with no credentials at all
        (credentials that do not hold are still a 401)."""
        from chalicelib import auth

        return auth.authenticate_optional(context.current(), self.auth_request())

    def me(self) -> UserRecord:
        """The authenticated user on a `/user/...` path, which names the caller's own user: a
        provider has none there, 404 as in Onezone (its id names no user)."""
        from chalicelib.errors import OnedataError
        from chalicelib.store.users import UserRecord

        caller = self.anyone()
        if not isinstance(caller, UserRecord):
            raise OnedataError("notFound")
        return caller

    def caller(self) -> UserRecord:
        """The authenticated user (401/403 otherwise)."""
        from chalicelib import auth

        return auth.authenticate_user(context.current(), self.auth_request())

    def provider(self) -> ProviderRecord:
        """The authenticated provider (401/403 otherwise)."""
        from chalicelib import auth

        return auth.authenticate_provider(context.current(), self.auth_request())

    def anyone(self) -> UserRecord | ProviderRecord:
        """The authenticated user or provider (401 otherwise)."""
        from chalicelib import auth

        return auth.authenticate(context.current(), self.auth_request())


def location(path: str) -> dict[str, str]:
    """A `Location` header naming `path` (under the API prefix) absolutely, on the zone's domain,
    as Onezone's `oz_worker:get_rest_uri` does."""
    return {"Location": f"https://{context.current().settings.zone_domain}{API}{path}"}


def most_specific_first(routes: dict[str, Any]) -> None:
    """Reorder an app's route table in place so that a literal segment comes before a parameter
    at the same place (`/user/clusters/join` before `/user/clusters/{cluster_id}`).

    API Gateway itself prefers the literal, wherever the paths are listed. Some of its emulators
    (LocalStack 2.3.2, which `make deploy-check` deploys into) take the first path that matches,
    in the order Chalice's swagger lists them - which is this table's order. Every path here
    serves every method (Onedata's 405 for the ones it does not), so that order decides.
    """

    def specificity(path: str) -> tuple[tuple[bool, str], ...]:
        return tuple((part.startswith("{"), "" if part.startswith("{") else part) for part in path.split("/"))

    ordered = sorted(routes.items(), key=lambda item: specificity(item[0]))
    routes.clear()
    routes.update(ordered)


@functools.cache
def api_operations(method: str, resource: str) -> tuple[ApiOperation, ...]:
    """What the route is to `api` caveats, parsed the first time a request asks."""
    from chalicelib.tokens.gri import ApiOperation

    specs = next((op.api for op in OPERATIONS if (op.method, op.path) == (method, resource)), ())
    return tuple(ApiOperation.parse(spec) for spec in specs)
