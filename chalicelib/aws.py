"""boto3 clients, created once per Lambda container.

Endpoints are never set here: botocore reads `AWS_ENDPOINT_URL` (and the per-service
`AWS_ENDPOINT_URL_<SERVICE>`), which is how the local run and the black-box tests point the very
same code at a moto server, while unit tests swap the backend with moto's `mock_aws`.

Retries use botocore's *standard* mode on purpose: it retries throttling and transient 5xx
errors with jittered exponential backoff and a client-side retry quota, so a brownout of DynamoDB
or Route 53 does not turn into a retry storm. Three attempts keep the worst case well inside
API Gateway's 29 s integration timeout; what still fails is answered as a 503 for the caller to
retry. Timeouts are short because every call here is a small key-value or DNS operation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
)


@dataclass(frozen=True)
class Clients:
    dynamodb: Any
    route53: Any
    secretsmanager: Any

    @classmethod
    def create(cls) -> Clients:
        session = _session()
        return cls(
            dynamodb=session.client("dynamodb", config=CLIENT_CONFIG),
            route53=session.client("route53", config=CLIENT_CONFIG),
            secretsmanager=session.client("secretsmanager", config=CLIENT_CONFIG),
        )


@functools.cache
def _session() -> boto3.session.Session:
    """One session per process: it loads and caches the service models every client is built
    from, so a context built anew (tests do, for each moto backend) does not parse them again."""
    return boto3.session.Session()
