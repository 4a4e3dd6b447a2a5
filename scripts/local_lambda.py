"""The Lambda runtime's side of the local run: a function of the app invoked with an event, as the
runtime invokes the deployed function.

On AWS every function Chalice deploys is the module attribute its decorator returned (`app.<name>`,
Chalice's wrapped handler), called with the event's JSON and a Lambda context. Here the same
wrapped handler is found on the Chalice app object (`app.handler_map`), never by a list of names
of our own, and called with a dict of the same shape and a context carrying the deployed
function's name, memory and timeout (`.chalice/config.json`, per function as `chalice deploy`
reads it). All functions share this one process; on AWS each has containers of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import LambdaContext

log = logging.getLogger("local_lambda")

# The names Chalice gives the WebSocket API's functions (chalice/deploy/appgraph.py), by route.
WEBSOCKET_FUNCTIONS = {"$connect": "websocket_connect", "$disconnect": "websocket_disconnect"}
WEBSOCKET_MESSAGE_FUNCTION = "websocket_message"


@dataclass
class Functions:
    """The app's functions of one stage."""

    app: Chalice
    config: Config
    stage: str

    def deployed_name(self, function: str) -> str:
        return f"{self.config.app_name}-{self.stage}-{function}"

    def context(self, function: str) -> LambdaContext:
        scoped = self.config.scope(self.stage, function)
        timeout = scoped.lambda_timeout or 900  # 900 s: Lambda's maximum, what Chalice assumes unset
        return LambdaContext(
            function_name=self.deployed_name(function),
            memory_size=scoped.lambda_memory_size,
            max_runtime_ms=timeout * 1000,
        )

    def invoke(self, handler_name: str, function: str, event: dict[str, Any]) -> Any:
        """Call the wrapped handler registered as `handler_name` (what `app.handler_map` knows
        it by) as the deployed function `function`. What it raises is the invocation's error."""
        return self.app.handler_map[handler_name](event, self.context(function))

    def websocket_route(self, route_key: str) -> tuple[str, str] | None:
        """(handler name, function name) of the route's handler, None when the app has none."""
        config = self.app.websocket_handlers.get(route_key)
        if config is None:
            return None
        return config.name, WEBSOCKET_FUNCTIONS.get(route_key, WEBSOCKET_MESSAGE_FUNCTION)
