"""Every response leaves through here: bodies as JSON, failures as Onedata error bodies.

This is the one place where exceptions become HTTP: an `OnedataError` is rendered as is;
retryable AWS failures (throttling, a conflicting transaction, Route 53's
`PriorRequestNotComplete`, timeouts) become 503 with `Retry-After`, once botocore's own retries
are spent; anything else is a 500 `internalServerError` whose reference appears in the log line
that carries the traceback, never in the body.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib import observability
from chalicelib.errors import OnedataError

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger(__name__)

JSON = {"Content-Type": "application/json"}
RETRY_AFTER_SECONDS = "1"
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionCanceledException",
        "TransactionInProgressException",
        "PriorRequestNotComplete",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def ok(
    body: BaseModel | dict[str, Any] | str | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response (a `str` body is a JSON string; `None`, no body at all)."""
    dump = getattr(body, "model_dump", None)  # a pydantic model (pydantic is not imported here: zone.py)
    if dump is not None:
        # Nulls are part of Onezone's bodies (`"ttl": null`, a subject's `"id": null`); fields
        # that are left out instead say so themselves (`models.omitted_if_none`).
        body = dump(mode="json")
    text = "" if body is None else json.dumps(body)
    return Response(body=text, status_code=status, headers={**JSON, **(headers or {})})


def error(exc: OnedataError) -> Response:
    observability.note(errorId=exc.id)
    return Response(
        body=json.dumps({"error": exc.body()}),
        status_code=exc.status,
        headers={**JSON, **exc.headers},
    )


def as_onedata_error(exc: BaseException) -> OnedataError:
    """The Onedata error a client sees for `exc`; unexpected failures are logged here."""
    if isinstance(exc, OnedataError):
        return exc
    retry = {"Retry-After": RETRY_AFTER_SECONDS}
    # botocore's exceptions are imported here, on the way out of a failure: a request that never
    # reached AWS (GET /configuration) does not pay for them.
    from botocore.exceptions import ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError

    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in RETRYABLE_CODES:
        log.warning("retryable AWS failure: %s", exc)
        return OnedataError("temporaryFailure", headers=retry)
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        log.warning("AWS call timed out: %s", exc)
        return OnedataError("timeout", headers=retry)
    if isinstance(exc, ConnectionError):
        log.warning("AWS endpoint unreachable: %s", exc)
        return OnedataError("serviceUnavailable", headers=retry)
    reference = os.urandom(16).hex()
    log.error("internal error, reference %s", reference, exc_info=exc)
    return OnedataError("internalServerError", reference=reference)


def handle(view: Callable[[], Response]) -> Response:
    """Run a view; whatever it raises becomes a Onedata error response."""
    try:
        return view()
    except Exception as exc:  # noqa: BLE001 - this is the service's last line of defence
        return error(as_onedata_error(exc))
