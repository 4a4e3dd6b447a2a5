"""`chalice local`, answering as the deployed front, API Gateway and Lambda do.

This server serves the app as `chalice local --stage STAGE --no-autoreload` does (same config,
same environment, same threads), and plays for it what the deployed stack has around it:
- the REST API as API Gateway answers it: an unknown path gets the merge template's
  MISSING_AUTHENTICATION_TOKEN response (`infra/chalice-merge.yaml`, read from the file itself, so
  the local run and AWS cannot drift apart); the event's `requestContext.identity.sourceIp` is the
  client's real address (chalice local always says 127.0.0.1) and `requestId` a fresh id;
- every answer the server gives itself in that template's Onedata shape too: a malformed request
  line, HTTP/0.9, headers too large, an unknown method (as a path no route has: 404), a bad
  `Content-Length` or a body over API Gateway's 10 MB (DEFAULT_4XX, keeping the status), a
  function that crashed (502, DEFAULT_5XX citing the request id) - never Python's HTML pages;
- the GraphSync channel path of the front (`infra/front.yaml`'s ChannelPath) as API Gateway's
  WebSocket API (`scripts/websocket_gateway.py`), with its `@connections` API under
  `/@connections/` (the app reaches it through `CONNECTIONS_API_ENDPOINT`, set by the local run);
- Lambda's event sources for the other functions: schedules and DynamoDB streams
  (`scripts/event_sources.py`; `LOCAL_SCHEDULES=name=seconds,...` shortens or, with 0, turns off
  a schedule).

    python scripts/local_server.py HOST PORT [STAGE] [--preload MODULE]

`--preload` imports a module before the app (the transport's tests: a test double of the channel
and a test-only stream handler registered on the app).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import string
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from chalice import local
from chalice.cli import validate_routes
from chalice.cli.factory import CLIFactory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import event_sources  # noqa: E402 - after the path tweak
from scripts import websocket_events as events  # noqa: E402
from scripts.gateway_responses import gateway_responses  # noqa: E402
from scripts.local_lambda import Functions  # noqa: E402
from scripts.websocket_gateway import Limits, WebsocketApi, upgrade_problem  # noqa: E402

log = logging.getLogger("local_server")

RESPONSES = {r["responseType"]: r for r in gateway_responses()}
UNKNOWN_ROUTE = RESPONSES["MISSING_AUTHENTICATION_TOKEN"]
FRONT = ROOT / "infra" / "front.yaml"
CHANNEL_PATH = yaml.safe_load(FRONT.read_text())["Parameters"]["ChannelPath"]["Default"]
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload quota
REQUEST_TIMEOUT_SECONDS = 60  # a connection that sends nothing for this long is dropped
NO_BODY = frozenset({204, 304})


def gateway_answer(status: int, request_id: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's own answer for `status` in the merge template's shape: 404 is a path no
    route has, other 4xx DEFAULT_4XX, 5xx DEFAULT_5XX (citing the request id), each keeping
    `status` unless the response fixes one."""
    kind = "MISSING_AUTHENTICATION_TOKEN" if status == 404 else "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    response = RESPONSES[kind]
    # A gateway response's header values are quoted literals: `'application/json'`.
    content_type = response["responseParameters"]["gatewayresponse.header.Content-Type"].strip("'")
    body = response["responseTemplates"]["application/json"]
    body = body.replace("$context.requestId", request_id or str(uuid.uuid4()))
    return int(response.get("statusCode", status)), {"Content-Type": content_type}, body.encode()


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class OnedataRequestHandler(local.ChaliceRequestHandler):
    websocket: WebsocketApi  # set by `main`, the same for every request
    timeout = REQUEST_TIMEOUT_SECONDS
    # What a request line that is not understood counts as: http.server's default, HTTP/0.9,
    # would answer it without a status line or headers.
    default_request_version = "HTTP/1.0"

    # ---- what the server answers itself ------------------------------------------------------

    def parse_request(self) -> bool:
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if len(line.split()) == 2:  # HTTP/0.9: `GET /path`, which API Gateway does not serve
            self.command, self.requestline, self.request_version = None, line, self.default_request_version
            self.send_error(400, "HTTP/0.9 is not served")
            return False
        return bool(super().parse_request())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error http.server answers by itself (bad request line, headers too large, an
        unknown method: 501), as API Gateway's gateway responses would."""
        self.log_error("code %d, message %s", code, message)
        self.answer(*gateway_answer(404 if code == 501 else code), close=True)

    def answer(self, status: int, headers: dict[str, str], body: bytes | None, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        with_body = status >= 200 and status not in NO_BODY
        if with_body:
            self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if with_body and body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_error_response(self, error: local.LocalGatewayException) -> None:
        if not isinstance(error, local.ForbiddenError):  # no authorizers here: 403 means no route
            super()._send_error_response(error)
            return
        self.answer(*gateway_answer(404))

    # ---- requests ----------------------------------------------------------------------------

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        raw = self.headers.get("content-length", "0").strip()
        if not raw.isdigit():
            raise BadRequest(400, f"bad Content-Length {raw!r}")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise BadRequest(413, "body too large")
        return dict(self.headers), self.rfile.read(length) if length else None

    def _generic_handle(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path == CHANNEL_PATH:
                self._channel()
                return
            if "/@connections/" in path:
                _, body = self._parse_payload()
                managed = self.websocket.manage(self.command, path, body or b"")
                assert managed is not None
                self.answer(*managed)
                return
            self._rest()
        except BadRequest as refused:
            self.log_error("refused: %s", refused)
            self.answer(*gateway_answer(refused.status), close=True)

    def _rest(self) -> None:
        converter = self.local_gateway.event_converter
        converter.LOCAL_SOURCE_IP = self.client_address[0]
        create_event = converter.create_lambda_event
        request_id = str(uuid.uuid4())

        def as_api_gateway(*args: Any, **kwargs: Any) -> dict[str, Any]:
            event = create_event(*args, **kwargs)
            event["requestContext"]["requestId"] = request_id
            return event

        converter.create_lambda_event = as_api_gateway  # type: ignore[method-assign]
        try:
            super()._generic_handle()
        except BadRequest:
            raise
        except Exception:
            log.exception("the API function failed")
            self.answer(*gateway_answer(502, request_id), close=True)

    def _channel(self) -> None:
        self.close_connection = True
        problem = upgrade_problem(self.command, self.request_version, self.headers)
        if problem is not None:
            status, reason = problem
            self.log_error("refused upgrade: %s", reason)
            status, headers, body = gateway_answer(status)
            if status == 426:
                headers = {**headers, "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
            self.answer(status, headers, body, close=True)
            return
        self._parse_payload()  # an upgrade has no body; a bad Content-Length is still refused

        def respond(status: int, headers: dict[str, str], body: bytes | None) -> None:
            if status == 101:
                self.send_response(101)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.flush()
            elif body is None:
                self.answer(*gateway_answer(status), close=True)
            else:
                self.answer(status, {"Content-Type": "application/json"}, body, close=True)

        self.connection.settimeout(None)
        self.websocket.serve(
            self.connection,
            self.rfile,
            self.client_address,
            list(self.headers.items()),
            urlsplit(self.path).query,
            respond,
        )

    # The base class binds its own `_generic_handle` to every method; bind the one above.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


def api_id() -> str:
    """A WebSocket API id as API Gateway makes them: 10 lower-case letters and digits."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))


def intervals(env: dict[str, str]) -> dict[str, float]:
    """`LOCAL_SCHEDULES`: `name=seconds,...`, the local run's own pace for scheduled functions."""
    pairs = (item.split("=", 1) for item in env.get("LOCAL_SCHEDULES", "").split(",") if "=" in item)
    return {name.strip(): float(seconds) for name, seconds in pairs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("stage", nargs="?", default="local")
    parser.add_argument("--preload", help="a module to import before the app")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name=args.stage)
    os.environ.update(config.environment_variables)
    if args.preload:
        importlib.import_module(args.preload)
    app_obj = config.chalice_app
    validate_routes(app_obj.routes)
    functions = Functions(app_obj, config, args.stage)
    import boto3

    region = boto3.session.Session().region_name or "us-east-1"
    event_sources.start(functions, intervals(dict(os.environ)), region, boto3.client("dynamodbstreams"))
    OnedataRequestHandler.websocket = WebsocketApi(
        functions, events.Api(api_id(), config.api_gateway_stage), Limits.from_env(os.environ), args.port
    )
    # What chalice's own `create_local_server` does, with our handler.
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app_obj.__class__)
    app_obj.__class__ = local.CustomLocalChalice
    server = local.LocalDevServer(app_obj, config, args.host, args.port, handler_cls=OnedataRequestHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
