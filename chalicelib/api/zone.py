"""The zone's own routes: its configuration, its health report and this API's OpenAPI document."""

from __future__ import annotations

from chalice import Response

from chalicelib import context
from chalicelib.api.routing import OPERATIONS, Routes
from chalicelib.responses import ok

routes = Routes(__name__)

VERSION = "0.1.0"  # of this API's OpenAPI document


def _configuration() -> Response:
    from chalicelib import zone

    return ok(zone.configuration(context.current()))


routes(
    "/configuration",
    "GET",
    "getConfiguration",
    "This Onezone's public configuration.",
    response="ZoneConfiguration",
    public=True,
)(_configuration)
routes(
    "/configuration",
    "GET",
    "getConfigurationLegacy",
    "This Onezone's public configuration (Onezone's legacy path, outside the API prefix).",
    prefix="",
    response="ZoneConfiguration",
    public=True,
)(_configuration)


@routes(
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


@routes("/openapi.json", "GET", "getOpenApiDocument", "This API's OpenAPI document.", public=True)
def get_openapi_document() -> Response:
    from chalicelib import openapi

    return ok(openapi.document(OPERATIONS, VERSION))
