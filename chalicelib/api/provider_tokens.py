"""Provider tokens' routes: `/provider/tokens/...` for the calling provider and
`/providers/{id}/tokens/...` for whoever may manage a provider's tokens (`tokens.provider_tokens`).
Each operation is one view serving both paths, the provider id taken from the path or the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import Routes, location
from chalicelib.responses import ok

routes = Routes(__name__)


def _subject(provider_id: str | None) -> tuple[Any, str]:
    """The caller and the provider whose tokens it acts on (on `/provider/...`, itself)."""
    if provider_id is None:
        provider = routes.provider()
        return provider, provider.providerId
    return routes.anyone(), provider_id


def _create_temporary(provider_id: str | None = None) -> Response:
    from chalicelib.models import CreateTemporaryTokenRequest
    from chalicelib.tokens import provider_tokens
    from chalicelib.validation import parse

    caller, subject_id = _subject(provider_id)
    body = parse(CreateTemporaryTokenRequest, routes.request.raw_body)
    return ok(provider_tokens.create_temporary_for(context.current(), caller, subject_id, body), status=201)


def _generation(provider_id: str | None = None) -> Response:
    from chalicelib.tokens import provider_tokens

    caller, subject_id = _subject(provider_id)
    return ok(provider_tokens.generation_of(context.current(), caller, subject_id))


def _revoke_temporary(provider_id: str | None = None) -> Response:
    from chalicelib.tokens import provider_tokens

    caller, subject_id = _subject(provider_id)
    provider_tokens.revoke_temporary_of(context.current(), caller, subject_id)
    return ok(None, status=204)


def _create_named(provider_id: str | None = None) -> Response:
    from chalicelib.models import CreateNamedTokenRequest
    from chalicelib.tokens import provider_tokens
    from chalicelib.validation import parse

    caller, subject_id = _subject(provider_id)
    body = parse(CreateNamedTokenRequest, routes.request.raw_body)
    created = provider_tokens.create_named_for(context.current(), caller, subject_id, body)
    return ok(created, status=201, headers=location(f"/tokens/named/{created.tokenId}"))


def _list_named(provider_id: str | None = None) -> Response:
    from chalicelib.tokens import provider_tokens

    caller, subject_id = _subject(provider_id)
    return ok(provider_tokens.list_named_of(context.current(), caller, subject_id))


def _delete_named(provider_id: str | None = None) -> Response:
    from chalicelib.tokens import provider_tokens

    caller, subject_id = _subject(provider_id)
    provider_tokens.delete_named_of(context.current(), caller, subject_id)
    return ok(None, status=204)


def _named_by_name(name: str, provider_id: str | None = None) -> Response:
    from chalicelib.tokens import provider_tokens

    caller, subject_id = _subject(provider_id)
    # Token names may hold spaces: their path segment arrives percent-encoded (no name holds `%`).
    return ok(provider_tokens.named_by_name(context.current(), caller, subject_id, unquote(name)))


# (path, method, view, operation id of the current provider's / of a provider's, summary, spec)
OPERATIONS: list[tuple[str, str, Callable[..., Response], str, str, str, dict[str, Any]]] = [
    (
        "/tokens/temporary",
        "POST",
        _create_temporary,
        "createTemporaryTokenForCurrentProvider",
        "createTemporaryTokenForProvider",
        "Create a temporary token of a provider (an identity token: Onepanel's service token).",
        {"request": "CreateTemporaryTokenRequest", "response": "TokenResponse", "status": 201},
    ),
    (
        "/tokens/temporary",
        "GET",
        _generation,
        "getTemporaryTokenGenerationOfCurrentProvider",
        "getTemporaryTokenGenerationOfProvider",
        "The generation of a provider's temporary tokens.",
        {"response": "TemporaryTokenGeneration"},
    ),
    (
        "/tokens/temporary",
        "DELETE",
        _revoke_temporary,
        "revokeAllTemporaryTokensOfCurrentProvider",
        "revokeAllTemporaryTokensOfProvider",
        "Revoke all temporary tokens of a provider.",
        {"status": 204},
    ),
    (
        "/tokens/named",
        "POST",
        _create_named,
        "createNamedTokenForCurrentProvider",
        "createNamedTokenForProvider",
        "Create a named token of a provider (e.g. a userJoinCluster invite to its cluster).",
        {"request": "CreateNamedTokenRequest", "response": "CreatedToken", "status": 201},
    ),
    (
        "/tokens/named",
        "GET",
        _list_named,
        "listNamedTokensOfCurrentProvider",
        "listNamedTokensOfProvider",
        "List a provider's named tokens.",
        {"response": "TokenIdList"},
    ),
    (
        "/tokens/named",
        "DELETE",
        _delete_named,
        "deleteNamedTokensOfCurrentProvider",
        "deleteNamedTokensOfProvider",
        "Delete all named tokens of a provider, its root token included.",
        {"status": 204},
    ),
    (
        "/tokens/named/name/{name}",
        "GET",
        _named_by_name,
        "getNamedTokenOfCurrentProviderByName",
        "getNamedTokenOfProviderByName",
        "Get a provider's named token by its name.",
        {"response": "TokenInfo"},
    ),
]
# What each operation is to `api` caveats (Onezone's GRIs), by method and path.
API_SPECS = {
    ("POST", "/tokens/temporary"): "create token.null.provider_temporary_token,{id}:private",
    ("GET", "/tokens/temporary"): "get temporary_token_secret.{id}.provider:shared",
    ("DELETE", "/tokens/temporary"): "delete token.null.provider_temporary_tokens,{id}:private",
    ("POST", "/tokens/named"): "create token.null.provider_named_token,{id}:private",
    ("GET", "/tokens/named"): "get token.null.provider_named_tokens,{id}:private",
    ("DELETE", "/tokens/named"): "delete token.null.provider_named_tokens,{id}:private",
    ("GET", "/tokens/named/name/{name}"): "get token.{name}.provider_named_token,{id}:private",
}

for _path, _method, _view, _current_id, _provider_id, _summary, _spec in OPERATIONS:
    _api = API_SPECS[(_method, _path)]
    routes(
        "/provider" + _path, _method, _current_id, _summary, api=(_api.format(id="{client}", name="{name}"),), **_spec
    )(_view)
    routes(
        "/providers/{provider_id}" + _path,
        _method,
        _provider_id,
        _summary,
        api=(_api.format(id="{provider_id}", name="{name}"),),
        **_spec,
    )(_view)
