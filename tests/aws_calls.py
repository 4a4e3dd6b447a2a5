"""A pytest plugin that records every AWS operation the app's own boto3 clients perform.

Clients are made by `chalicelib.aws.Clients.create`; wrapping it lets each new client report
its calls through botocore's event system (`before-parameter-build`), with their parameters, so
`tests/test_zz_iam_policy.py` can hold the recorded calls against the IAM policies in `.chalice/`.
Calls made by test fixtures (stack deployment, seeding) use other clients and are not recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import aws


@dataclass(frozen=True)
class Call:
    service: str  # the IAM service prefix: dynamodb, route53, secretsmanager
    operation: str  # the API operation, e.g. TransactWriteItems
    params: tuple[tuple[str, str], ...]  # the resource-naming parameters, as strings

    @classmethod
    def of(cls, service: str, operation: str, params: dict[str, Any]) -> list[Call]:
        """One call per IAM action: a transaction is checked item by item, as IAM does."""
        if operation == "TransactWriteItems":  # Put/Update/Delete/ConditionCheck -> <kind>Item
            return [
                cls(service, f"{kind}Item", _names(body))
                for item in params.get("TransactItems", [])
                for kind, body in item.items()
            ]
        return [cls(service, operation, _names(params))]


def _names(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    keys = ("TableName", "HostedZoneId", "SecretId")
    return tuple((key, str(params[key])) for key in keys if key in params)


RECORDED: set[Call] = set()


@pytest.fixture(autouse=True, scope="session")
def record_app_aws_calls() -> Iterator[set[Call]]:
    original = aws.Clients.create

    def create() -> aws.Clients:
        clients = original()
        for client in (clients.dynamodb, clients.route53, clients.secretsmanager):
            service = client.meta.service_model.endpoint_prefix

            def record(params: dict[str, Any], model: Any, service: str = service, **_: Any) -> None:
                RECORDED.update(Call.of(service, model.name, params))

            client.meta.events.register("before-parameter-build.*.*", record)
        return clients

    aws.Clients.create = create  # type: ignore[method-assign]
    try:
        yield RECORDED
    finally:
        aws.Clients.create = original  # type: ignore[method-assign]
