"""What an operator sees: one JSON object per log line, and CloudWatch metrics in log lines.

Logs go through AWS Lambda Powertools' `Logger` (`make bench` measures what it adds to a cold
start; see README "Observability"): every line of the `chalicelib` loggers is one JSON object with
`level`, `message`, `timestamp`, `service`, `name`, and the request's keys - API Gateway's
`requestId`, Lambda's `lambdaRequestId`, `route`, `method`, and, once known, `subject` and
`errorId`. Each request ends with one access line (`"message": "request"`) adding `status` and
`latencyMs`. Keys are kept per thread, so `chalice local`'s threads do not mix them.

Metrics use the embedded metric format (`single_metric`: a log line CloudWatch turns into a
metric, no API call): `ProviderRegistered`, `RegistrationRejected` (by `errorId`), `TokenIssued`,
`DnsChangeFailed`, `DnsLeftInconsistent`, and the DNS reconciler's counts (`summary`), in the
`OnezoneRegistry` namespace with dimension `service`.

Nothing secret is ever logged: no token, password, key or `Authorization` header - only ids.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "onezone-registry"
NAMESPACE = "OnezoneRegistry"


class _Stdout:
    """Whatever `sys.stdout` is when a line is written (Lambda sends it to CloudWatch): a
    redirection after import - a test's capture, say - is followed."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"), use_rfc3339=True, stream=_Stdout())


def setup() -> None:
    """Route the `chalicelib` loggers through the JSON logger: their parent `chalicelib` gets its
    handler, so modules imported later (app.py imports most on first use) log through it too."""
    logging.getLogger("chalicelib")  # registered now, so that its configuration is copied
    copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})


def note(**keys: Any) -> None:
    """Add keys to every further line of this request (`subject`, `errorId`)."""
    logger.thread_safe_append_keys(**keys)


def serve(request: Any, respond: Callable[[Any], Any]) -> Any:
    """Run one request with its keys set, and log its access line."""
    started = time.perf_counter()
    logger.thread_safe_clear_keys()
    context = request.context or {}
    lambda_context = getattr(request, "lambda_context", None)
    note(
        requestId=context.get("requestId"),
        lambdaRequestId=getattr(lambda_context, "aws_request_id", None),
        route=context.get("resourcePath"),
        method=request.method,
    )
    response = respond(request)
    logger.info("request", extra={"status": response.status_code, "latencyMs": _since(started)})
    return response


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def count(name: str, **dimensions: str) -> None:
    """One `name` metric of value 1, with `dimensions` (besides `service`)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


def summary(message: str, counts: dict[str, int], **extra: Any) -> None:
    """One log line that is also one metric per count (EMF: CloudWatch reads the `_aws` block of
    a log line as metric definitions for the line's own keys), so a job's summary is both what
    an operator reads and what an alarm watches."""
    emf = {
        "Timestamp": int(time.time() * 1000),
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["service"]],
                "Metrics": [{"Name": name, "Unit": MetricUnit.Count.value} for name in counts],
            }
        ],
    }
    logger.info(message, extra={"_aws": emf, **counts, **extra})
