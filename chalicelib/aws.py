"""AWS clients: one botocore session per container, each service's client made on first use.

Most requests land on a cold Lambda container, so what a request does not need it does not pay
for: a token request never makes a Route 53 client, `GET /configuration` makes none at all. The
clients come from botocore's own session, not boto3's, which would also import `s3transfer` and
boto3's resource layer (about 25 ms of every cold start, for nothing this code uses).

Endpoints are never set here: botocore reads `AWS_ENDPOINT_URL` (and the per-service
`AWS_ENDPOINT_URL_<SERVICE>`), which is how the local run and the black-box tests point the very
same code at a moto server, while unit tests swap the backend with moto's `mock_aws`. The one
exception is API Gateway's `@connections` API, whose endpoint is the WebSocket API stage itself:
its clients are made per endpoint (`Clients.connections`), and the endpoint comes from the
connection (`chalicelib.graphsync.connections`).

Retries use botocore's *standard* mode on purpose: it retries throttling and transient 5xx
errors with jittered exponential backoff and a client-side retry quota, so a brownout of DynamoDB
or Route 53 does not turn into a retry storm. Three attempts keep the worst case well inside
API Gateway's 29 s integration timeout; what still fails is answered as a 503 for the caller to
retry. Timeouts are short because every call here is a small key-value or DNS operation.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.session import Session

CLIENT_SETTINGS: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 3},
    "connect_timeout": 2,
    "read_timeout": 5,
}
# botocore sessions are not thread-safe (clients are): `chalice local` serves requests in threads.
_creating = threading.Lock()


@functools.cache
def _session() -> Session:
    """One session per process: it loads and caches the service models every client is built
    from, so a context built anew (tests do, for each moto backend) does not parse them again."""
    import botocore.session

    return botocore.session.get_session()


def new_client(service: str, endpoint_url: str | None = None) -> Any:
    from botocore.config import Config

    return _session().create_client(service, endpoint_url=endpoint_url, config=Config(**CLIENT_SETTINGS))


def region() -> str | None:
    """The region the clients use (on Lambda, the function's: `AWS_REGION`/`AWS_DEFAULT_REGION`)."""
    return _session().get_config_variable("region")


class Clients:
    """The clients of one context, each made when first used and kept for the context's life."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str | None], Any] = {}

    def _client(self, service: str, endpoint_url: str | None = None) -> Any:
        with _creating:
            if (service, endpoint_url) not in self._made:
                self._made[service, endpoint_url] = new_client(service, endpoint_url)
            return self._made[service, endpoint_url]

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def route53(self) -> Any:
        return self._client("route53")

    @property
    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    def connections(self, endpoint: str) -> Any:
        """API Gateway's `@connections` API of one WebSocket API stage, at `endpoint`
        (`https://{api id}.execute-api.{region}.amazonaws.com/{stage}` on AWS)."""
        return self._client("apigatewaymanagementapi", endpoint)
