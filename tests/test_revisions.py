"""GraphSync revisions: every write of a provider or cluster raises its revision by one, whichever
surface made it (REST here; the channel's writes go through the same store functions), a write
that changes nothing raises nothing, and the DNS lease - which no view shows - raises nothing."""

from __future__ import annotations

import time

import pytest

from chalicelib import context
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from tests.conftest import Api
from tests.provider_helpers import Registered, register_provider

VERSION = {"release": "21.02.7", "build": "abc", "gui": "f" * 64}


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


def revisions(provider_id: str) -> tuple[int, int]:
    ctx = context.current()
    provider = provider_store.TABLE.get(ctx, provider_id)
    cluster = cluster_store.TABLE.get(ctx, provider_id)
    assert provider is not None
    assert cluster is not None
    return provider.revision, cluster.revision


def test_every_rest_write_raises_the_revision(api: Api, krk: Registered) -> None:
    assert revisions(krk.id) == (1, 1)
    steps = [
        ("PATCH", "/provider", {"name": "Krakow 2"}, (2, 1)),
        (
            "PATCH",
            "/provider/domain_config",
            {"subdomainDelegation": True, "subdomain": "krk2", "ipList": ["192.0.2.7"]},
            (3, 1),
        ),
        ("PUT", "/provider/dns_txt_record/_acme-challenge", {"content": "token"}, (4, 1)),
        ("DELETE", "/provider/dns_txt_record/_acme-challenge", None, (5, 1)),
        # The worker's release is the provider's `version`: both change, in one transaction.
        ("PATCH", f"/clusters/{krk.id}", {"workerVersion": VERSION}, (6, 2)),
        ("PATCH", f"/clusters/{krk.id}", {"onepanelVersion": VERSION}, (6, 3)),
    ]
    for method, path, body, expected in steps:
        response = api.call(method, path, body, headers=krk.headers)
        assert response.status_code == 204, (path, response.body)
        assert revisions(krk.id) == expected, path
    assert provider_store.TABLE.get(context.current(), krk.id).workerRelease == "21.02.7"


def test_a_change_that_changes_nothing_raises_nothing(api: Api, krk: Registered) -> None:
    same = {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.1", "192.0.2.2"]}
    assert api.call("PATCH", "/provider/domain_config", same, headers=krk.headers).status_code == 204
    assert api.call("DELETE", "/provider/dns_txt_record/absent", headers=krk.headers).status_code == 204
    assert revisions(krk.id) == (1, 1)


def test_the_dns_lease_raises_nothing(api: Api, krk: Registered) -> None:
    ctx = context.current()
    now = int(time.time())
    assert provider_store.lease_dns(ctx, krk.id, 0, now, now + 60)
    provider_store.end_dns_lease(ctx, krk.id, 0)
    assert revisions(krk.id) == (1, 1)


def test_an_item_from_before_revisions_counts_as_the_first(api: Api, krk: Registered) -> None:
    """A provider registered before revisions existed shows revision 1; its next write is 2."""
    ctx = context.current()
    ctx.aws.dynamodb.update_item(
        TableName=api.env["PROVIDERS_TABLE"],
        Key=provider_store.TABLE.key_of(krk.id),
        UpdateExpression="REMOVE #revision",
        ExpressionAttributeNames=db.BUMP_NAMES,
    )
    assert provider_store.TABLE.get(ctx, krk.id).revision == 1
    assert api.call("PATCH", "/provider", {"name": "Renamed"}, headers=krk.headers).status_code == 204
    assert provider_store.TABLE.get(ctx, krk.id).revision == 2


def test_revisions_and_sets_are_not_written_as_plain_attributes(stack_env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="writes of their own"):
        provider_store.TABLE.update_op(context.current(), "p", {"revision": 7})
    with pytest.raises(ValueError, match="writes of their own"):
        provider_store.TABLE.update_op(context.current(), "p", {"connections": []})


def test_an_item_from_before_revisions_can_be_deregistered(api: Api, krk: Registered) -> None:
    context.current().aws.dynamodb.update_item(
        TableName=api.env["PROVIDERS_TABLE"],
        Key=provider_store.TABLE.key_of(krk.id),
        UpdateExpression="REMOVE #revision",
        ExpressionAttributeNames=db.BUMP_NAMES,
    )
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert provider_store.TABLE.get(context.current(), krk.id) is None
