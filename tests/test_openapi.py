"""The OpenAPI document: served, valid, and complete with respect to the route table."""

from __future__ import annotations

import re

from chalice.deploy.swagger import TemplatedSwaggerGenerator
from openapi_spec_validator import validate

import app
from tests.conftest import Api


def test_document_is_served_and_valid(api: Api) -> None:
    response = api.call("GET", "/openapi.json")
    assert response.status_code == 200
    document = response.json_body
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_documented(api: Api) -> None:
    document = api.call("GET", "/openapi.json").json_body
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (path, method)
        for path, views in app.app.routes.items()
        for method, entry in views.items()
        if not entry.view_name.startswith("not_supported")
    }
    assert documented == served


def test_registration_is_public_and_the_token_endpoint_deprecated(api: Api) -> None:
    paths = api.call("GET", "/openapi.json").json_body["paths"]
    register = paths["/api/v3/onezone/providers"]["post"]
    assert register["operationId"] == "registerProvider"
    assert register["security"] == []
    body = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/RegisterProviderRequest")
    token = paths["/api/v3/onezone/user/clusters/provider_registration_token"]["post"]
    assert token["deprecated"] is True
    assert {"basic": []} in token["security"]


def test_errors_share_the_onedata_schema(api: Api) -> None:
    document = api.call("GET", "/openapi.json").json_body
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


def test_lenient_inputs_are_documented(api: Api) -> None:
    schemas = api.call("GET", "/openapi.json").json_body["components"]["schemas"]
    fields = schemas["RegisterProviderRequest"]["properties"]
    assert {"type": "string", "enum": ["true", "false"]} in fields["subdomainDelegation"]["anyOf"]
    assert fields["latitude"]["anyOf"][0] == {"type": "number", "minimum": -90, "maximum": 90}
    assert sorted(schemas["RegisterProviderRequest"]["required"]) == [
        "adminEmail",
        "name",
        "subdomainDelegation",
        "token",
    ]


def test_the_deployed_api_lists_a_literal_segment_before_a_parameter_in_its_place() -> None:
    """What API Gateway is given (Chalice's swagger, in its order): each path, with its parameters
    filled in, is first matched by itself. AWS prefers the literal anyway; LocalStack, which
    `make deploy-check` deploys into, takes the first match - `/user/clusters/join` once went
    to `/user/clusters/{cluster_id}`'s 405."""
    swagger = TemplatedSwaggerGenerator().generate_swagger(app.app)
    paths = list(swagger["paths"])
    assert "/api/v3/onezone/user/clusters/join" in paths
    for path in paths:
        concrete = re.sub(r"{[^}]+}", "x1", path)
        first = next(p for p in paths if re.fullmatch(re.sub(r"{[^}]+}", "[^/]+", p), concrete))
        assert first == path, (concrete, first)
