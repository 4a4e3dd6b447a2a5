"""The OpenAPI 3 document of the API, generated from the route table and the pydantic models.

`app.route` records one `Operation` per route (`chalicelib.operations`); bodies come from the
request/response models' own JSON schemas (named there, looked up in `chalicelib.models` here),
errors share the Onedata error schema. Nothing here is written by hand twice:
a new route or field shows up in the document by being declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter

from chalicelib import models
from chalicelib.models import DelegationRequest, ErrorResponse
from chalicelib.operations import Operation

REF = "#/components/schemas/{model}"
ERROR_DESCRIPTIONS = {
    400: "Invalid request.",
    401: "Authentication error.",
    403: "Authorization error.",
    404: "Resource not found.",
    405: "Operation not supported on this path.",
    409: "The relation already exists (relationAlreadyExists).",
    500: "Internal server error.",
    503: "A service this operation needs is unavailable; retry later.",
}
SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "A Onezone access token."},
    "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token", "description": "A Onezone access token."},
    "macaroon": {
        "type": "apiKey",
        "in": "header",
        "name": "Macaroon",
        "description": "A Onezone access token (deprecated header, accepted as Onezone does).",
    },
}


def _schema(model: type[Any], schemas: dict[str, Any], mode: str) -> dict[str, str]:
    """A body's schema, stored under its name (a pydantic model, or a `TypedDict` body that is
    built without pydantic at run time: `chalicelib.zone`)."""
    generated = TypeAdapter(model).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(generated.pop("$defs", {}))
    if mode == "validation" and issubclass(model, DelegationRequest):
        generated["allOf"] = _delegation_requirements(model)
    schemas[model.__name__] = generated
    return {"$ref": REF.format(model=model.__name__)}


def _delegation_requirements(model: type[DelegationRequest]) -> list[dict[str, Any]]:
    """The keys `subdomainDelegation` makes required, as JSON Schema `if`/`then`: without them the
    document would call a body without `domain` (or `subdomain`) valid. Asked of the model's own
    `required_keys`, so the rule is not restated; `ipList` may stand in for `opWorkerIpAddresses`."""
    rules = []
    always = model.required_keys({})
    for flag in (True, False):
        needed = model.required_keys({"subdomainDelegation": flag}) - always
        with_ip_list = model.required_keys({"subdomainDelegation": flag, "ipList": []}) - always
        then: dict[str, Any] = {"required": sorted(with_ip_list)}
        if needed != with_ip_list:
            then["anyOf"] = [{"required": sorted(needed - with_ip_list)}, {"required": ["ipList"]}]
        condition = {"properties": {"subdomainDelegation": {"enum": [flag, str(flag).lower()]}}}
        rules.append({"if": {**condition, "required": ["subdomainDelegation"]}, "then": then})
    return rules


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    error = _schema(ErrorResponse, schemas, "serialization")
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = _json(_schema(getattr(models, op.response), schemas, "serialization"))
    elif op.raw_response is not None:
        media, schema = op.raw_response
        success["content"] = {media: {"schema": schema}}
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": {
            str(op.status): success,
            **{str(code): {"description": ERROR_DESCRIPTIONS[code], "content": _json(error)} for code in op.errors},
        },
        "security": [] if op.public else [{name: []} for name in SECURITY_SCHEMES],
    }
    if op.path_params:
        spec["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in op.path_params
        ]
    if op.request is not None:
        request = getattr(models, op.request)
        spec["requestBody"] = {"required": True, "content": _json(_schema(request, schemas, "validation"))}
    if op.deprecated:
        spec["deprecated"] = True
    return spec


def document(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Onezone provider registry",
            "version": version,
            "description": "The provider registration part of Onezone's REST API, on AWS Lambda.",
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
    }
