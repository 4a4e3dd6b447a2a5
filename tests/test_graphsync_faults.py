"""Bad days on the channel: each AWS call of its writes fails in turn (botocore's own events on
the app's clients, past its retries). The request is answered with a clear error, and what the
service keeps - every table, the zone's records - is as it was; once AWS recovers, the same
request succeeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire
from tests.provider_helpers import Registered, client_error, inject, recover, register_provider, snapshot

THROTTLED = client_error("ThrottlingException", "op")
TIMEOUT = ReadTimeoutError(endpoint_url="https://aws.invalid")
MOVE = {"subdomainDelegation": True, "subdomain": "krk2", "ipList": ["192.0.2.50"]}
IPS = {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.51"]}
OWN = {"subdomainDelegation": False, "domain": "krk.example.com"}


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


@pytest.fixture
def worker(krk: Registered, wire: Wire) -> OpWorker:
    worker = OpWorker(wire, krk.root_token)
    assert worker.handshake()["success"] is True
    return worker


def unchanged(api: Api, action: Callable[[], dict[str, Any]], service: str, operation: str, failure: Exception) -> None:
    before = snapshot(api)
    refused = inject(service, operation, failure)
    error = action()
    assert refused, f"{operation} was never called"
    assert error["id"] in ("temporaryFailure", "timeout"), error
    recover()
    assert snapshot(api) == before


# (configuration, service, operation, failure): each write of the update once, throttled; the
# calls whose outcome a timeout leaves unknown (Route 53, the commit) timed out too.
CHANGES = [
    (MOVE, "dynamodb", "PutItem", THROTTLED),  # the new subdomain's reservation
    (MOVE, "dynamodb", "UpdateItem", THROTTLED),  # the provider's DNS lease
    (MOVE, "route53", "ChangeResourceRecordSets", THROTTLED),
    (MOVE, "route53", "ChangeResourceRecordSets", TIMEOUT),
    (MOVE, "dynamodb", "TransactWriteItems", THROTTLED),  # the commit, after DNS moved
    (IPS, "dynamodb", "TransactWriteItems", TIMEOUT),
    (OWN, "dynamodb", "TransactWriteItems", THROTTLED),
]


@pytest.mark.parametrize(
    ("config", "service", "operation", "failure"),
    CHANGES,
    ids=[f"{c[2]}-{type(c[3]).__name__}-{sorted(c[0].values(), key=str)[-1]}" for c in CHANGES],
)
def test_a_failed_domain_config_update_leaves_dns_and_the_store_as_they_were(
    api: Api, worker: OpWorker, config: dict, service: str, operation: str, failure: Exception
) -> None:
    def update() -> dict[str, Any]:
        return worker.refused("provider.self.domain_config:private", "update", config)

    unchanged(api, update, service, operation, failure)
    assert worker.ok("provider.self.domain_config:private", "update", config) is None


def test_a_failed_txt_record_leaves_nothing(api: Api, worker: OpWorker) -> None:
    def create() -> dict[str, Any]:
        return worker.refused("provider.self.dns_txt_record,_acme-challenge:private", "create", {"content": "c"})

    unchanged(api, create, "route53", "ChangeResourceRecordSets", THROTTLED)
    unchanged(api, create, "dynamodb", "TransactWriteItems", TIMEOUT)


@pytest.mark.parametrize(
    ("gri", "operation", "data", "call"),
    [
        ("storage.null.instance:private", "create", {"name": "posix"}, "TransactWriteItems"),
        (
            "cluster.self-id.instance:private",
            "update",
            {"workerVersion": {"release": "1", "build": "2", "gui": "3"}},
            "TransactWriteItems",
        ),
        ("provider.self.instance:private", "update", {"name": "Renamed"}, "UpdateItem"),
    ],
    ids=["storage", "cluster", "provider"],
)
def test_other_failed_writes_leave_nothing(
    api: Api, krk: Registered, worker: OpWorker, gri: str, operation: str, data: dict, call: str
) -> None:
    gri = gri.replace("self-id", krk.id)
    unchanged(api, lambda: worker.refused(gri, operation, data), "dynamodb", call, THROTTLED)
    assert worker.ok(gri, operation, data) is not False


def test_a_failed_handshake_registration_leaves_nothing(api: Api, krk: Registered, wire: Wire) -> None:
    worker = OpWorker(wire, krk.root_token)

    def handshake() -> dict[str, Any]:
        reply = worker.handshake()
        assert reply["success"] is False
        return reply["error"]

    unchanged(api, handshake, "dynamodb", "TransactWriteItems", THROTTLED)
    assert worker.handshake()["success"] is True
