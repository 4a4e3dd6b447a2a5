"""Fault injection on the wire: each AWS call of the token and registration paths fails in turn.

Faults go through botocore's event system on the app's real clients, so botocore's own parser,
error classes and standard-mode retries (`chalicelib/aws.py`) handle them exactly as they would
an answer from AWS:

- `refuse`: a `before-send` handler answers for AWS (an error response with its status and code,
  a cancelled transaction with its reasons, or a timeout) and the request never reaches moto:
  the call did nothing. Every attempt botocore makes is counted, which pins down the retry policy
  (throttling and timeouts: three attempts; definite refusals: one); backoff delays are recorded
  instead of slept.
- `lose_answers`: the request reaches moto and takes effect, then its answer is replaced by an
  error: the call did its work and the caller cannot know.

After every failure the client must get a clear Onedata error (retryable: 503 with `Retry-After`;
otherwise 500 with a reference), the token must be unused, no provider, cluster, subdomain claim
or DNS record may exist (the tables are scanned, the zone listed), and once AWS recovers the very
same request must succeed. `tests/test_fault_injection.py` injects the same failures one level up
(`before-call`, past the retry layer); this file covers the wire, retries and lost answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff

from chalicelib import context
from chalicelib.store import db
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.test_registration import delegated, register, usage

TOKEN_PATH = "/user/clusters/provider_registration_token"
WORKERS = ["192.0.2.1", "192.0.2.2"]
ONES3 = ["192.0.2.9"]
RECORDS = {"krakow.onezone.test.": WORKERS, "s3.krakow.onezone.test.": ONES3}
PROTOCOL = {
    "dynamodb": ("application/x-amz-json-1.0", "com.amazonaws.dynamodb.v20120810#"),
    "secretsmanager": ("application/x-amz-json-1.1", ""),
}


# ---- what AWS answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way an AWS call fails, and what the client must see when it does."""

    name: str
    status: int  # HTTP status of AWS's answer; 0: no answer at all (a timeout)
    code: str = ""
    reasons: tuple[str, ...] = ()  # a cancelled transaction's reasons
    timeout: type[Exception] | None = None
    client_status: int = 503
    client_error: str = "temporaryFailure"
    attempts: int = 3

    def answer(self, service: str, request: Any) -> AWSResponse:
        if self.timeout is not None:
            raise self.timeout(endpoint_url=request.url)
        if service == "route53":
            body = (
                '<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
                f"<Error><Type>Sender</Type><Code>{self.code}</Code><Message>injected</Message></Error>"
                "<RequestId>fault</RequestId></ErrorResponse>"
            )
            return _response(request, self.status, "text/xml", body.encode())
        content_type, prefix = PROTOCOL[service]
        error: dict[str, Any] = {"__type": prefix + self.code, "message": "injected"}
        if self.reasons:
            error["CancellationReasons"] = [{"Code": reason} for reason in self.reasons]
        return _response(request, self.status, content_type, json.dumps(error).encode())


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.body


def _response(request: Any, status: int, content_type: str, body: bytes) -> AWSResponse:
    return AWSResponse(request.url, status, {"Content-Type": content_type}, _Body(body))


THROTTLED = {
    "dynamodb": Fault("throttled", 400, "ThrottlingException"),
    "route53": Fault("throttled", 400, "Throttling"),
    "secretsmanager": Fault("throttled", 400, "ThrottlingException"),
}
OVER_CAPACITY = Fault("over capacity", 400, "ProvisionedThroughputExceededException")
READ_TIMEOUT = Fault("read timeout", 0, timeout=ReadTimeoutError, client_error="timeout")
CONNECT_TIMEOUT = Fault("connect timeout", 0, timeout=ConnectTimeoutError, client_error="timeout")
CONFLICT = Fault(
    "transaction conflict", 400, "TransactionCanceledException", ("None", "TransactionConflict"), attempts=1
)
PRIOR_REQUEST = Fault("prior request not complete", 400, "PriorRequestNotComplete")
INVALID_BATCH = Fault(
    "invalid change batch", 400, "InvalidChangeBatch", client_status=500, client_error="internalServerError", attempts=1
)
INVALID_REQUEST = Fault(
    "validation", 400, "ValidationException", client_status=500, client_error="internalServerError", attempts=1
)
DYNAMODB_DOWN = Fault("internal server error", 500, "InternalServerError")


# ---- injection --------------------------------------------------------------------------------


@dataclass
class Injected:
    calls: int = 0  # API calls of the operation the app made
    attempts: int = 0  # HTTP attempts of the failing call, retries included
    seen: Callable[[], Any] | None = None  # evaluated at the first failing attempt
    snapshot: Any = None


_installed: list[tuple[Any, str, Callable[..., Any]]] = []


def _client(service: str) -> Any:
    return getattr(context.current().aws, service)


def _install(client: Any, event: str, handler: Callable[..., Any]) -> None:
    client.meta.events.register(event, handler)
    _installed.append((client, event, handler))


def recover() -> None:
    """AWS is healthy again: the injected faults are gone."""
    while _installed:
        client, event, handler = _installed.pop()
        client.meta.events.unregister(event, handler)


def cold_start() -> None:
    """A fresh container: new clients, and the token root key not read yet."""
    context.reset()


@pytest.fixture(autouse=True)
def healthy_afterwards() -> Iterator[None]:
    yield
    recover()


def refuse(
    service: str, operation: str, fault: Fault, call: int = 0, seen: Callable[[], Any] | None = None
) -> Injected:
    """Make the `call`-th `operation` of the app's `service` client fail with `fault` on every
    attempt, without reaching moto (`seen` is evaluated at the first failing attempt)."""
    client = _client(service)
    state = Injected(seen=seen)

    def count_call(**_kwargs: Any) -> None:
        state.calls += 1

    def answer(request: Any, **_kwargs: Any) -> AWSResponse | None:
        if state.calls - 1 != call:
            return None
        if state.attempts == 0 and state.seen is not None:
            state.snapshot = state.seen()
        state.attempts += 1
        # Somewhere moto does not answer, so that this handler's answer is the only one.
        request.url = "https://fault.invalid/"
        return fault.answer(service, request)

    _install(client, f"before-call.{service}.{operation}", count_call)
    _install(client, f"before-send.{service}.{operation}", answer)
    return state


def lose_answers(service: str, operation: str, fault: Fault, first: int) -> Injected:
    """Let moto carry out every attempt of `operation`, but replace the answers of the first
    `first` attempts with `fault`'s."""
    client = _client(service)
    state = Injected()

    def answer(request: Any, **_kwargs: Any) -> AWSResponse | None:
        state.attempts += 1
        # Moto's own `before-send` handler runs after this one whatever it returns and carries the
        # request out; the first answer given is the one botocore reads.
        return fault.answer(service, request) if state.attempts <= first else None

    _install(client, f"before-send.{service}.{operation}", answer)
    return state


@pytest.fixture(autouse=True)
def backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Botocore's backoff delays, recorded instead of slept."""
    delays: list[float] = []
    real = ExponentialBackoff.delay_amount

    def recorded(self: ExponentialBackoff, retry_context: Any) -> float:
        delays.append(real(self, retry_context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", recorded)
    return delays


# ---- what is left -----------------------------------------------------------------------------


def scan(api: Api, table: str) -> list[dict[str, Any]]:
    """Every item of a table (a test's view: the service never scans)."""
    return [db.decode(item) for item in _client("dynamodb").scan(TableName=api.env[table])["Items"]]


def a_records(api: Api) -> dict[str, list[str]]:
    sets = _client("route53").list_resource_record_sets(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    return {
        s["Name"]: sorted(r["Value"] for r in s["ResourceRecords"])
        for s in sets["ResourceRecordSets"]
        if s["Type"] == "A"
    }


def subdomain_claims(api: Api) -> list[str]:
    return [
        item["identifier"] for item in scan(api, "IDENTIFIERS_TABLE") if item["identifier"].startswith("subdomain:")
    ]


def assert_nothing_left(api: Api, token: str) -> None:
    assert scan(api, "PROVIDERS_TABLE") == []
    assert scan(api, "CLUSTERS_TABLE") == []
    assert subdomain_claims(api) == []
    assert a_records(api) == {}
    assert [item["type"][:4] for item in scan(api, "TOKENS_TABLE")] == ["rop:"]  # the invite; no root token
    assert usage(token) == 0


def assert_clear_error(response: Any, fault: Fault) -> None:
    error = error_of(response)
    assert (response.status_code, error["id"]) == (fault.client_status, fault.client_error)
    if fault.client_status == 503:
        assert response.headers["Retry-After"] == "1"
    else:
        assert len(error["details"]["reference"]) == 32
        assert error["details"]["reference"] in error["description"]
        assert "injected" not in response.body.decode()


def assert_registered(api: Api, response: Any, token: str) -> None:
    assert response.status_code == 200, response.body
    assert [item["providerId"] for item in scan(api, "PROVIDERS_TABLE")] == [response.json_body["providerId"]]
    assert len(scan(api, "CLUSTERS_TABLE")) == 1
    assert subdomain_claims(api) == ["subdomain:krakow"]
    assert a_records(api) == RECORDS
    assert usage(token) == 1


def body(token: str) -> dict[str, Any]:
    return delegated(token, opWorkerIpAddresses=WORKERS, oneS3IpAddresses=ONES3, oneS3Port=9000)


# ---- registration: each call refused ----------------------------------------------------------

# (service, operation, which call of that operation) on POST /providers, in the order they run.
TOKEN_READ = ("dynamodb", "GetItem", 0)
ADMIN_READ = ("dynamodb", "GetItem", 1)
RESERVATION = ("dynamodb", "PutItem", 0)
DNS_CHANGE = ("route53", "ChangeResourceRecordSets", 0)
COMMIT = ("dynamodb", "TransactWriteItems", 0)
ROOT_KEY = ("secretsmanager", "GetSecretValue", 0)  # a cold container reads it first

REGISTRATION_FAULTS = [
    (TOKEN_READ, OVER_CAPACITY),
    (COMMIT, OVER_CAPACITY),
    *[
        (call, fault)
        for call in (ROOT_KEY, TOKEN_READ, ADMIN_READ, RESERVATION, DNS_CHANGE, COMMIT)
        for fault in (THROTTLED[call[0]], READ_TIMEOUT)
    ],
    (RESERVATION, CONNECT_TIMEOUT),
    (DNS_CHANGE, CONNECT_TIMEOUT),
    (DNS_CHANGE, PRIOR_REQUEST),
    (DNS_CHANGE, INVALID_BATCH),
    (COMMIT, CONFLICT),
    (COMMIT, INVALID_REQUEST),
    (COMMIT, CONNECT_TIMEOUT),
]


@pytest.mark.parametrize(
    ("call", "fault"),
    REGISTRATION_FAULTS,
    ids=[f"{op}#{index}-{fault.name}" for (_, op, index), fault in REGISTRATION_FAULTS],
)
def test_registration_call_refused(api: Api, backoff: list[float], call: tuple[str, str, int], fault: Fault) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    service, operation, index = call
    if call == ROOT_KEY:
        cold_start()  # the token's root key is read from Secrets Manager first
    backoff.clear()
    injected = refuse(service, operation, fault, index, seen=lambda: a_records(api))

    response = register(api, body(token))

    assert injected.attempts == fault.attempts
    assert len(backoff) == fault.attempts - 1  # botocore backed off before each retry
    assert_clear_error(response, fault)
    if call == COMMIT:  # the DNS change had succeeded when the transaction failed
        assert injected.snapshot == RECORDS
    recover()
    assert_nothing_left(api, token)
    assert_registered(api, register(api, body(token)), token)


# ---- registration: a call that did its work, but whose answer was lost -------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault("internal failure", 500, "InternalFailure"), Fault("service unavailable", 503, "ServiceUnavailable")],
    ids=lambda fault: fault.name,
)
def test_dns_change_applied_but_every_answer_lost(api: Api, fault: Fault) -> None:
    """Route 53 applied the change (three times: UPSERT is idempotent) and every answer was a 5xx:
    the registration fails, and the records the caller could not know about are removed."""
    api.create_user("alice")
    token = api.registration_token("alice")
    lost = lose_answers("route53", "ChangeResourceRecordSets", fault, first=3)
    response = register(api, body(token))
    assert lost.attempts == 4  # three for the change, one to remove what it may have done
    assert_clear_error(response, fault)
    recover()
    assert_nothing_left(api, token)
    assert_registered(api, register(api, body(token)), token)


def test_error_raised_after_the_dns_change_succeeded(api: Api) -> None:
    """The change went through and botocore got its answer, then the call failed all the same
    (here: an `after-call` handler raising a timeout): the records are removed again."""
    api.create_user("alice")
    token = api.registration_token("alice")
    seen: list[dict[str, list[str]]] = []

    def fail_after(**_kwargs: Any) -> None:
        seen.append(a_records(api))
        if len(seen) == 1:
            raise ReadTimeoutError(endpoint_url="https://route53.invalid")

    _install(_client("route53"), "after-call.route53.ChangeResourceRecordSets", fail_after)
    response = register(api, body(token))
    assert seen[0] == RECORDS  # the change had been applied
    assert len(seen) == 2  # and was undone
    assert_clear_error(response, READ_TIMEOUT)
    recover()
    assert_nothing_left(api, token)
    assert_registered(api, register(api, body(token)), token)


def test_reservation_written_but_its_answer_lost(api: Api) -> None:
    """The subdomain reservation was written, its answer lost and the write retried by botocore:
    the retry finds the request's own reservation, not a taken name, and registration succeeds."""
    api.create_user("alice")
    token = api.registration_token("alice")
    lost = lose_answers("dynamodb", "PutItem", DYNAMODB_DOWN, first=1)
    response = register(api, body(token))
    assert lost.attempts == 2
    assert_registered(api, response, token)


def test_reservation_written_but_every_answer_lost(api: Api) -> None:
    """Every answer of the reservation write was lost: the client gets a 503 and the reservation
    it could not know about is given back at once (not left to expire)."""
    api.create_user("alice")
    token = api.registration_token("alice")
    lose_answers("dynamodb", "PutItem", DYNAMODB_DOWN, first=3)
    response = register(api, body(token))
    assert_clear_error(response, DYNAMODB_DOWN)
    recover()
    assert_nothing_left(api, token)
    assert_registered(api, register(api, body(token)), token)


# ---- the token endpoint -----------------------------------------------------------------------

# POST /user/clusters/provider_registration_token with Basic credentials, in the order they run.
USERNAME_READ = ("dynamodb", "GetItem", 0)
USER_READ = ("dynamodb", "GetItem", 1)
TOKEN_WRITE = ("dynamodb", "TransactWriteItems", 0)
TOKEN_FAULTS = [
    (call, fault)
    for call in (USERNAME_READ, USER_READ, TOKEN_WRITE, ROOT_KEY)
    for fault in (THROTTLED[call[0]], READ_TIMEOUT)
] + [(TOKEN_WRITE, INVALID_REQUEST), (ROOT_KEY, CONNECT_TIMEOUT)]


@pytest.mark.parametrize(
    ("call", "fault"), TOKEN_FAULTS, ids=[f"{op}#{index}-{fault.name}" for (_, op, index), fault in TOKEN_FAULTS]
)
def test_token_call_refused(api: Api, call: tuple[str, str, int], fault: Fault) -> None:
    api.create_user("alice")
    if call == ROOT_KEY:
        cold_start()
    service, operation, index = call
    injected = refuse(service, operation, fault, index)
    response = api.call("POST", TOKEN_PATH, headers=api.basic("alice", USER_PASSWORD))
    assert injected.attempts == fault.attempts
    assert_clear_error(response, fault)
    # Nothing was stored: the token is minted (with the root key) before its item is written.
    assert scan(api, "TOKENS_TABLE") == []
    recover()
    retried = api.call("POST", TOKEN_PATH, headers=api.basic("alice", USER_PASSWORD))
    assert retried.status_code == 200
    assert usage(retried.json_body["token"]) == 0
