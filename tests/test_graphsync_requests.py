"""What op-worker does after its handshake, module level: its on-connect steps, its own record
in every scope, its domain configuration and TXT records, the zone's clock, subscriptions, and
what is refused (another provider's resources, what this registry keeps not, what is unknown)."""

from __future__ import annotations

import time

import pytest

from chalicelib import context
from chalicelib.store import connections as connection_store
from chalicelib.store import providers as provider_store
from tests.conftest import Api
from tests.graphsync_helpers import OpWorker, Wire
from tests.provider_helpers import Registered, a_records, register_provider, txt_records

VERSION = {"release": "21.02.7", "build": "1-gabc", "gui": "a" * 64}
PRIVATE_FIELDS = {
    "name",
    "adminEmail",
    "subdomainDelegation",
    "domain",
    "subdomain",
    "version",
    "latitude",
    "longitude",
    "online",
    "effectiveSpaces",
    "spaces",
    "storages",
    "effectiveUsers",
    "effectiveGroups",
    "gri",
    "revision",
}


@pytest.fixture
def krk(api: Api) -> Registered:
    api.create_user("alice")
    return register_provider(api, subdomain="krk")


@pytest.fixture
def worker(krk: Registered, wire: Wire) -> OpWorker:
    worker = OpWorker(wire, krk.root_token)
    worker.connect()
    assert worker.handshake()["success"] is True
    return worker


def resource(data: dict) -> dict:
    assert data["format"] == "resource"
    return data["resource"]


def subscriptions(worker: OpWorker) -> list[str]:
    return connection_store.get(context.current(), worker.id).subscriptions


def test_the_on_connect_steps_of_op_worker_21_02_7(api: Api, krk: Registered, worker: OpWorker) -> None:
    # 1. its worker version: must succeed (null), whatever GUI hash it reports
    assert worker.ok(f"cluster.{krk.id}.instance:private", "update", {"workerVersion": VERSION}) is None
    # 2. its own record, subscribed, with every field it requires
    first = resource(worker.ok(f"provider.{krk.id}.instance:private", subscribe=True))
    assert set(first) == PRIVATE_FIELDS
    assert first == {
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "domain": "krk.onezone.test",
        "subdomain": "krk",
        "version": "21.02.7",
        "latitude": 0.0,
        "longitude": 0.0,
        "online": True,
        "effectiveSpaces": {},
        "spaces": {},
        "storages": [],
        "effectiveUsers": [],
        "effectiveGroups": [],
        "gri": f"provider.{krk.id}.instance:private",
        "revision": first["revision"],
    }
    assert subscriptions(worker) == [f"provider.{krk.id}.instance:private"]
    # 3. delegation on: its IPs (here new ones), then the record again
    config = {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.50"]}
    assert worker.ok("provider.self.domain_config:private", "update", config) is None
    assert a_records(api) == {"krk.onezone.test.": ["192.0.2.50"]}
    again = resource(worker.ok(f"provider.{krk.id}.instance:private", subscribe=True))
    assert again["revision"] > first["revision"]
    assert subscriptions(worker) == [f"provider.{krk.id}.instance:private"]
    # REST says what the channel did
    assert api.call("GET", "/provider/domain_config", headers=krk.headers).json_body["ipList"] == ["192.0.2.50"]
    cluster = api.call("GET", f"/clusters/{krk.id}", headers=krk.headers).json_body
    assert cluster["workerVersion"] == VERSION


def test_21_02_8_reads_its_cluster(api: Api, krk: Registered, worker: OpWorker) -> None:
    worker.ok(f"cluster.{krk.id}.instance:private", "update", {"workerVersion": VERSION})
    cluster = resource(worker.ok(f"cluster.{krk.id}.instance:private", subscribe=True))
    assert (cluster["workerReleaseVersion"], cluster["workerBuildVersion"], cluster["workerGuiHash"]) == (
        "21.02.7",
        "1-gabc",
        "a" * 64,
    )
    assert (cluster["gri"], cluster["revision"]) == (f"cluster.{krk.id}.instance:private", 2)
    assert subscriptions(worker) == [f"cluster.{krk.id}.instance:private"]


def test_the_other_scopes_and_self(krk: Registered, worker: OpWorker) -> None:
    protected = resource(worker.ok(f"provider.{krk.id}.instance:protected"))
    assert set(protected) == {"name", "domain", "version", "latitude", "longitude", "online", "gri", "revision"}
    assert protected["version"] == "18.02.*"  # what Onezone says before the worker reported one
    assert resource(worker.ok(f"provider.{krk.id}.instance:shared"))["name"] == "Krakow DC"
    by_self = resource(worker.ok("provider.self.instance:private"))
    assert by_self["gri"] == f"provider.{krk.id}.instance:private"
    auto = resource(worker.ok("provider.self.instance:auto", subscribe=True))
    assert auto["gri"] == f"provider.{krk.id}.instance:auto"
    assert set(auto) == PRIVATE_FIELDS
    assert subscriptions(worker) == [f"provider.{krk.id}.instance:auto"]


def test_updates_of_its_record_and_unsub(api: Api, krk: Registered, worker: OpWorker) -> None:
    gri = f"provider.{krk.id}.instance:private"
    before = resource(worker.ok(gri, subscribe=True))
    assert worker.ok("provider.self.instance:private", "update", {"name": "Renamed", "latitude": 10.5}) is None
    after = resource(worker.ok(gri))
    assert (after["name"], after["latitude"], after["revision"]) == ("Renamed", 10.5, before["revision"] + 1)
    assert worker.refused("provider.self.instance:private", "update", {"latitude": 91})["id"] == "badValueNotInRange"
    assert worker.refused("provider.self.instance:private", "update", {})["id"] == "missingAtLeastOneValue"
    unsub = worker.request("unsub", {"gri": gri})
    assert unsub == {"success": True, "error": None, "data": {}}
    assert subscriptions(worker) == []


def test_domain_config_and_txt_records(api: Api, krk: Registered, worker: OpWorker) -> None:
    config = resource(worker.ok("provider.self.domain_config:private"))
    assert {k: config[k] for k in ("subdomainDelegation", "subdomain", "domain", "ipList")} == {
        "subdomainDelegation": True,
        "subdomain": "krk",
        "domain": "krk.onezone.test",
        "ipList": ["192.0.2.1", "192.0.2.2"],
    }
    record = "provider.self.dns_txt_record,_acme-challenge:private"
    assert worker.ok(record, "create", {"content": "challenge", "ttl": 60}) is None
    assert txt_records(api) == {"_acme-challenge.krk.onezone.test.": (60, ['"challenge"'])}
    assert worker.refused(record, "create", {"content": ""})["id"] == "badValueEmpty"
    assert worker.refused("provider.self.dns_txt_record,s3:private", "create", {"content": "x"})["id"] == (
        "badValueIdentifierOccupied"
    )
    assert worker.ok(record, "delete") is None
    assert txt_records(api) == {}
    # a subdomain that is taken or invalid: refused, DNS and the record as they were
    assert (
        worker.refused(
            "provider.self.domain_config:private",
            "update",
            {"subdomainDelegation": True, "subdomain": "-x", "ipList": []},
        )["id"]
        == "badValueSubdomain"
    )
    assert a_records(api) == {"krk.onezone.test.": ["192.0.2.1", "192.0.2.2"]}
    own = {"subdomainDelegation": False, "domain": "krk.example.com"}
    assert worker.ok("provider.self.domain_config:private", "update", own) is None
    assert a_records(api) == {}
    assert worker.refused(record, "create", {"content": "x"})["id"] == "subdomainDelegationDisabled"


def test_the_zones_clock(worker: OpWorker) -> None:
    before = int(time.time() * 1000)
    clock = resource(worker.ok("provider.null.current_time:private"))
    assert before <= clock["timeMillis"] <= int(time.time() * 1000)
    assert clock["gri"] == "provider.null.current_time:private"


def test_what_is_refused(api: Api, krk: Registered, worker: OpWorker) -> None:
    other = register_provider(api, subdomain="waw")
    refusals = [
        (f"provider.{other.id}.instance:private", "get", False, "forbidden"),
        (f"provider.{other.id}.instance:protected", "get", False, "forbidden"),
        ("provider.nobody.instance:private", "get", False, "notFound"),
        (f"cluster.{other.id}.instance:private", "get", False, "forbidden"),
        ("user.self.instance:private", "get", False, "notFound"),
        ("space.s1.instance:private", "get", False, "notFound"),
        ("share.s1.instance:public", "get", False, "notFound"),
        ("provider.self.eff_users:private", "get", False, "notSupported"),
        ("provider.self.domain_config:private", "get", True, "notSubscribable"),
        ("provider.null.current_time:private", "get", True, "notSubscribable"),
        ("provider.self.instance:private", "create", False, "notSupported"),
        ("token.null.offline_user_access_token,u1:private", "create", False, "notSupported"),
        ("nothing.at.all:private", "get", False, "badGRI"),
        ("provider.self", "get", False, "badGRI"),
    ]
    for gri, operation, subscribe, error in refusals:
        assert worker.refused(gri, operation, subscribe=subscribe)["id"] == error, gri
    assert worker.request("rpc", {"function": "getSupportedIdPs", "args": {}})["error"]["id"] == "rpcUndefined"
    on_behalf = {
        "id": "x1",
        "type": "request",
        "subtype": "graph",
        "authOverride": {"clientAuth": {"token": "t"}},
        "payload": {"gri": "user.self.instance:private", "operation": "get"},
    }
    [answer] = worker.send_text(__import__("json").dumps(on_behalf))
    assert answer["payload"]["error"]["id"] == "forbidden"
    assert subscriptions(worker) == []


def test_api_caveats_of_the_handshake_token_bound_every_request(api: Api, krk: Registered, wire: Wire) -> None:
    from tests.token_helpers import resigned

    caveats = [f"time < {int(time.time()) + 900}", f"api = ozw/get/provider.{krk.id}.instance:*"]
    worker = OpWorker(wire)
    assert worker.handshake("opw-" + resigned(krk.root_token, caveats))["success"] is True
    assert resource(worker.ok(f"provider.{krk.id}.instance:protected"))["name"] == "Krakow DC"
    error = worker.refused(f"cluster.{krk.id}.instance:private", "update", {"workerVersion": VERSION})
    assert error["id"] == "unauthorized"
    assert error["details"]["authError"]["id"] == "tokenCaveatUnverified"


def test_aws_failing_is_answered(api: Api, krk: Registered, worker: OpWorker) -> None:
    from tests.provider_helpers import client_error, inject, recover

    inject("dynamodb", "GetItem", client_error("ProvisionedThroughputExceededException", "GetItem"))
    assert worker.refused("provider.self.instance:private")["id"] == "temporaryFailure"
    recover()
    assert worker.ok("provider.self.instance:private")["resource"]["online"] is True


def test_a_deregistered_provider_left_connected_is_answered_not_found(
    api: Api, krk: Registered, worker: OpWorker
) -> None:
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert provider_store.TABLE.get(context.current(), krk.id) is None
    assert worker.refused("provider.self.instance:private")["id"] == "notFound"
