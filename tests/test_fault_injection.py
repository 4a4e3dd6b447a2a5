"""Bad days: every AWS call on the token and registration paths fails in turn.

Failures are injected through botocore's own event system on the app's real clients
(`before-call.<service>.<Operation>`), after botocore's retry layer would have given up, and the
test then checks what a client sees and what is left behind: retryable failures are 503 with
`Retry-After`, others 500 with a reference; the token stays unused; no provider, cluster,
subdomain claim or DNS record exists; and once AWS recovers the same request succeeds.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from chalicelib import context
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.test_registration import a_records, delegated, nothing_registered, register, usage

TOKEN_PATH = "/user/clusters/provider_registration_token"


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


FAILURES = {
    "throttled": lambda op: client_error("ThrottlingException", op),
    "over capacity": lambda op: client_error("ProvisionedThroughputExceededException", op),
    "read timeout": lambda op: ReadTimeoutError(endpoint_url="https://aws.invalid"),
    "connect timeout": lambda op: ConnectTimeoutError(endpoint_url="https://aws.invalid"),
    "internal": lambda op: client_error("InternalServerError", op),
    "validation": lambda op: client_error("ValidationException", op),
}
RETRYABLE = {"throttled", "over capacity", "read timeout", "connect timeout", "internal"}


def inject(service: str, operation: str, failure: Any) -> list[str]:
    """Fail every `operation` of the app's `service` client; returns the calls it refused."""
    client = getattr(context.current().aws, service)
    refused: list[str] = []

    def fail(**_kwargs: Any) -> None:
        refused.append(operation)
        raise failure

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", fail)
    return refused


def recover() -> None:
    """A fresh container: clients without the injected failure."""
    context.reset()


def assert_clear_error(response: Any, kind: str) -> None:
    error = error_of(response)
    if kind in RETRYABLE:
        assert response.status_code == 503
        assert error["id"] in ("temporaryFailure", "timeout", "serviceUnavailable")
        assert response.headers["Retry-After"] == "1"
    else:
        assert (response.status_code, error["id"]) == (500, "internalServerError")
        assert error["details"]["reference"] in error["description"]


REGISTRATION_CALLS = [
    ("dynamodb", "GetItem"),  # the token record, the admin user
    ("dynamodb", "PutItem"),  # the subdomain reservation
    ("route53", "ChangeResourceRecordSets"),  # the delegation
    ("dynamodb", "TransactWriteItems"),  # the commit, after DNS was written
]


@pytest.mark.parametrize(("service", "operation"), REGISTRATION_CALLS)
@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_registration_survives_each_failure(api: Api, service: str, operation: str, kind: str) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    refused = inject(service, operation, FAILURES[kind](operation))
    response = register(api, delegated(token, oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000))
    assert refused, "the injected call was never made"
    assert_clear_error(response, kind)
    nothing_registered(api)
    recover()
    assert usage(token) == 0
    assert register(api, delegated(token)).status_code == 200


@pytest.mark.parametrize(
    ("code", "status"),
    [("PriorRequestNotComplete", 503), ("InvalidChangeBatch", 500), ("Throttling", 503), ("NoSuchHostedZone", 500)],
)
def test_route53_errors(api: Api, code: str, status: int) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    inject("route53", "ChangeResourceRecordSets", client_error(code, "ChangeResourceRecordSets"))
    response = register(api, delegated(token))
    assert response.status_code == status
    nothing_registered(api)
    recover()
    assert usage(token) == 0


def test_transaction_conflict_is_retryable(api: Api) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
            "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
        },
        "TransactWriteItems",
    )
    inject("dynamodb", "TransactWriteItems", conflict)
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    nothing_registered(api)
    recover()
    assert usage(token) == 0


@pytest.mark.parametrize(
    ("service", "operation"),
    [("secretsmanager", "GetSecretValue"), ("dynamodb", "TransactWriteItems"), ("dynamodb", "GetItem")],
)
@pytest.mark.parametrize("kind", ["throttled", "read timeout", "validation"])
def test_token_endpoint_survives_each_failure(api: Api, service: str, operation: str, kind: str) -> None:
    api.create_user("alice")
    inject(service, operation, FAILURES[kind](operation))
    response = api.call("POST", TOKEN_PATH, headers=api.basic("alice", USER_PASSWORD))
    assert_clear_error(response, kind)
    recover()
    assert api.call("POST", TOKEN_PATH, headers=api.basic("alice", USER_PASSWORD)).status_code == 200


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self.body


def lose_responses(service: str, operation: str, code: str, attempts: list[str], status: int = 400) -> None:
    """AWS does the work (moto's own handler runs) but every answer is replaced by an error."""
    client = getattr(context.current().aws, service)
    name = client.meta.service_model.service_name

    def replace(request: Any, **_kwargs: Any) -> AWSResponse:
        attempts.append(request.url)
        body = f'{{"__type": "com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}}'.encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))

    client.meta.events.register(f"before-send.{name}.{operation}", replace)


def test_botocore_retries_throttling_three_times(api: Api) -> None:
    """Standard retry mode (chalicelib/aws.py): a throttled call is sent three times, then 503."""
    api.create_user("alice")
    attempts: list[str] = []
    lose_responses("dynamodb", "TransactWriteItems", "ThrottlingException", attempts)
    response = api.call("POST", TOKEN_PATH, headers=api.basic("alice", USER_PASSWORD))
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert len(attempts) == 3


def test_commit_whose_answer_was_lost_is_not_undone(api: Api) -> None:
    """The transaction committed but every answer was lost: the registration stands, with DNS."""
    api.create_user("alice")
    token = api.registration_token("alice")
    attempts: list[str] = []
    lose_responses("dynamodb", "TransactWriteItems", "InternalServerError", attempts, status=500)
    response = register(api, delegated(token))
    assert response.status_code == 200, response.body
    assert len(attempts) == 3
    recover()
    assert usage(token) == 1
    assert a_records(api) == {"krakow.onezone.test.": ["192.0.2.1", "192.0.2.2"]}
