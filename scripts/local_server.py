"""`chalice local`, answering as the deployed API Gateway does.

Chalice's local server answers a path no route has with its own `403 {"message": "Missing
Authentication Token"}`. On AWS, API Gateway gives the same answer, which the deployed stack
replaces with the gateway responses of `infra/chalice-merge.yaml` - a Onedata `404 notFound`. This
server serves the app exactly as `chalice local --stage STAGE --no-autoreload` does (same config,
same environment, same threads), except that:
- an unknown path gets that merge template's MISSING_AUTHENTICATION_TOKEN response, read from the
  template itself, so the local run and AWS cannot drift apart;
- the event's `requestContext.identity.sourceIp` is the client's real address (chalice local
  always says 127.0.0.1), and `requestContext.requestId` a fresh id, as API Gateway's are.

    python scripts/local_server.py HOST PORT [STAGE]
"""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from chalice import local
from chalice.cli import validate_routes
from chalice.cli.factory import CLIFactory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.gateway_responses import gateway_responses  # noqa: E402 - after the path tweak

UNKNOWN_ROUTE = next(r for r in gateway_responses() if r["responseType"] == "MISSING_AUTHENTICATION_TOKEN")


class OnedataRequestHandler(local.ChaliceRequestHandler):
    def _generic_handle(self) -> None:
        converter = self.local_gateway.event_converter
        converter.LOCAL_SOURCE_IP = self.client_address[0]
        create_event = converter.create_lambda_event

        def as_api_gateway(*args: Any, **kwargs: Any) -> dict[str, Any]:
            event = create_event(*args, **kwargs)
            event["requestContext"]["requestId"] = str(uuid.uuid4())
            return event

        converter.create_lambda_event = as_api_gateway  # type: ignore[method-assign]
        super()._generic_handle()

    # The base class binds its own `_generic_handle` to every method; bind the one above.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _send_error_response(self, error: local.LocalGatewayException) -> None:
        if not isinstance(error, local.ForbiddenError):  # no authorizers here: 403 means no route
            super()._send_error_response(error)
            return
        # A gateway response's header values are quoted literals: `'application/json'`.
        content_type = UNKNOWN_ROUTE["responseParameters"]["gatewayresponse.header.Content-Type"].strip("'")
        headers = {"Content-Type": content_type}
        body = UNKNOWN_ROUTE["responseTemplates"]["application/json"]
        self._send_http_response(int(UNKNOWN_ROUTE["statusCode"]), headers, body)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    stage = sys.argv[3] if len(sys.argv) > 3 else "local"
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name=stage)
    app_obj = config.chalice_app
    validate_routes(app_obj.routes)
    # What chalice's own `create_local_server` does, with our handler.
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app_obj.__class__)
    app_obj.__class__ = local.CustomLocalChalice
    server = local.LocalDevServer(app_obj, config, host, port, handler_cls=OnedataRequestHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
