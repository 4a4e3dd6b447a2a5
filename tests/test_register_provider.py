"""POST /providers end to end: chalice's test client in front, the infra stack in moto behind.

Three groups:
- successful registrations, each checked against every record it must leave (provider, cluster,
  the admin's membership, the used token, the root token, the subdomain claim, Route 53);
- `TestRejections`: every validation and token rule. These requests write nothing, so they share
  one user and token (a class-scoped fixture), and each one also proves that nothing was written;
- state-dependent errors, the order of checks, and all-or-nothing under injected failures and
  simulated races.

Deploying the stack into moto costs more than most tests, so this module deploys it once and its
`api` fixture (overriding conftest's) empties every table and the zone's A records before each
test, and re-reads the settings if a test changed them: each test still sees a stack as new.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from chalice.test import Client
from moto import mock_aws

from chalicelib import context
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.config import Settings
from chalicelib.providers import registration
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, identifiers, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.tokens import codec
from chalicelib.tokens.codec import Identifier
from tests.conftest import USER_PASSWORD, Api, deploy_stack, error_of, isolate_aws
from tests.token_helpers import (
    access_token,
    forged,
    identifier_of,
    macaroon_of,
    resigned,
    signed,
    without_caveats,
)

PATH = "/providers"
ZONE = "onezone.test"
# The seed's curl example, byte for byte apart from the token: booleans and coordinates as
# strings, and a trailing comma before the closing brace.
SEED_BODY = """{
  "token" : "%s",
  "name" : "My provider",
  "adminEmail" : "person@example.com",
  "subdomainDelegation" : "false",
  "domain" : "my-provider.example.com",
  "latitude" : "50.0647",
  "longitude" : "19.9450",
}"""
WORKERS = ["192.0.2.1", "192.0.2.2"]


# ---- helpers ----------------------------------------------------------------------------------


def register(api: Api, body: dict[str, Any] | str | bytes) -> Any:
    return api.call("POST", PATH, raw=body if isinstance(body, (str, bytes)) else json.dumps(body))


def own_domain(token: str, **extra: Any) -> dict[str, Any]:
    return {
        "token": token,
        "name": "My provider",
        "adminEmail": "person@example.com",
        "subdomainDelegation": False,
        "domain": "my-provider.example.com",
        **extra,
    }


def delegated(token: str, subdomain: str = "krakow", **extra: Any) -> dict[str, Any]:
    return {
        "token": token,
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": WORKERS,
        **extra,
    }


def a_records(api: Api) -> dict[str, tuple[int, list[str]]]:
    """Every A record of the zone: name -> (TTL, sorted values)."""
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    return {
        s["Name"]: (s["TTL"], sorted(r["Value"] for r in s["ResourceRecords"]))
        for s in sets["ResourceRecordSets"]
        if s["Type"] == "A"
    }


def scan(api: Api, table: str) -> list[dict[str, Any]]:
    """Every item of a table (tests only: the service never scans these tables whole)."""
    return [db.decode(item) for item in boto3.client("dynamodb").scan(TableName=api.env[table])["Items"]]


def subdomain_claims(api: Api) -> dict[str, dict[str, Any]]:
    return {
        item["identifier"].removeprefix("subdomain:"): item
        for item in scan(api, "IDENTIFIERS_TABLE")
        if item["identifier"].startswith("subdomain:")
    }


def token_id(token: str) -> str:
    return identifier_of(token).id


def usage(token: str) -> int:
    record = token_store.TABLE.get(context.current(), token_id(token))
    assert record is not None
    return record.usageCount


def update_item(api: Api, table: str, key: dict[str, str], **values: Any) -> None:
    """Change attributes of an item behind the service's back (another request, an operator)."""
    names = {f"#k{i}": name for i, name in enumerate(values)}
    boto3.client("dynamodb").update_item(
        TableName=api.env[table],
        Key=db.encode(key),
        UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{i}": db.encode_value(value) for i, value in enumerate(values.values())},
    )


def assert_nothing_registered(api: Api) -> None:
    """No trace of any registration: no provider, cluster, subdomain claim, A record or root token."""
    assert scan(api, "PROVIDERS_TABLE") == []
    assert scan(api, "CLUSTERS_TABLE") == []
    assert subdomain_claims(api) == {}
    assert a_records(api) == {}
    assert [t for t in scan(api, "TOKENS_TABLE") if t.get("name") == "provider root token"] == []
    assert all(not user.get("clusters") for user in scan(api, "USERS_TABLE"))


def assert_registered(api: Api, response: Any, admin_id: str, token: str) -> provider_store.ProviderRecord:
    """A 200 whose ids match the stored records, with everything a registration must leave."""
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    body = response.json_body
    assert set(body) == {"providerId", "providerRootToken", "macaroon", "adminUserId"}
    assert body["adminUserId"] == admin_id
    ctx = context.current()
    provider_id = body["providerId"]

    provider = provider_store.TABLE.get(ctx, provider_id)
    assert provider is not None
    assert (provider.providerId, provider.adminUserId) == (provider_id, admin_id)

    cluster = cluster_store.TABLE.get(ctx, provider_id)
    assert cluster is not None
    assert (cluster.clusterId, cluster.serviceId, cluster.type) == (provider_id, provider_id, "oneprovider")
    assert cluster.creatorId == admin_id
    [membership] = memberships.of_cluster(ctx, provider_id)
    assert (membership.userId, membership.privileges) == (admin_id, cluster_privileges.ADMIN)

    admin = user_store.get(ctx, admin_id)
    assert admin is not None
    assert provider_id in admin.clusters

    invite = token_store.TABLE.get(ctx, token_id(token))
    assert invite is not None
    assert (invite.usageCount, invite.usageLimit, invite.revoked) == (1, 1, False)

    assert body["macaroon"] == body["providerRootToken"]  # Onezone's deprecated copy
    root = macaroon_of(body["providerRootToken"])
    assert root.location == ZONE
    assert root.caveats == []
    assert root.identifier == f"2/nmd/prv-{provider_id}/act/{provider.rootTokenId}"
    root_record = token_store.TABLE.get(ctx, provider.rootTokenId)
    assert root_record is not None
    assert (root_record.type, root_record.subjectType, root_record.subjectId) == ("act", "oneprovider", provider_id)
    assert (root_record.name, root_record.caveats) == ("root token", [])
    # Only the id is stored, never the token or its signature.
    stored = json.dumps(scan(api, "TOKENS_TABLE") + scan(api, "PROVIDERS_TABLE"))
    assert body["providerRootToken"] not in stored
    assert root.signature not in stored

    # The root token is the provider's identity: it works on provider endpoints, not user ones.
    me = api.call("GET", "/provider", headers={"X-Auth-Token": body["providerRootToken"]})
    assert me.status_code == 200, me.body
    assert (me.json_body["providerId"], me.json_body["name"], me.json_body["domain"]) == (
        provider_id,
        provider.name,
        provider.domain,
    )
    # `/user` names the caller's own user, which a provider has not: 404, as in Onezone.
    as_user = api.call("GET", "/user", headers={"X-Auth-Token": body["providerRootToken"]})
    assert (as_user.status_code, error_of(as_user)["id"]) == (404, "notFound")
    return provider


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


@dataclass
class Stack:
    client: Client
    env: dict[str, str]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    import app

    with pytest.MonkeyPatch.context() as env, mock_aws():
        isolate_aws(env)
        outputs = deploy_stack(env)
        with Client(app.app, stage_name="local") as client:
            yield Stack(client=client, env=outputs)
        context.reset()


def wipe(env: dict[str, str]) -> None:
    """Every item of every table, and every A record of the zone, gone."""
    dynamodb = boto3.client("dynamodb")
    keys = {
        "USERS_TABLE": "userId",
        "TOKENS_TABLE": "tokenId",
        "PROVIDERS_TABLE": "providerId",
        "CLUSTERS_TABLE": "clusterId",
        "IDENTIFIERS_TABLE": "identifier",
    }
    for table, key in keys.items():
        for item in dynamodb.scan(TableName=env[table], ProjectionExpression=key)["Items"]:
            dynamodb.delete_item(TableName=env[table], Key=item)
    route53 = boto3.client("route53")
    sets = route53.list_resource_record_sets(HostedZoneId=env["HOSTED_ZONE_ID"])["ResourceRecordSets"]
    changes = [{"Action": "DELETE", "ResourceRecordSet": s} for s in sets if s["Type"] == "A"]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=env["HOSTED_ZONE_ID"], ChangeBatch={"Changes": changes})


def fresh_context() -> None:
    """Settings as the environment now says (a test may have changed and restored them). The
    clients are kept: building them is what costs, and tests patch them only via `monkeypatch`,
    which undoes itself."""
    if context.current().settings != Settings.from_env():
        context.reset()


@pytest.fixture
def api(stack: Stack) -> Api:
    wipe(stack.env)
    fresh_context()
    return Api(client=stack.client, env=stack.env)


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


# ---- successful registrations -------------------------------------------------------------------


def test_seed_example_exactly_as_curl_sends_it(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    raw = SEED_BODY % token
    assert raw.rstrip().endswith('"19.9450",\n}')  # the trailing comma really is there
    response = register(api, raw)
    provider = assert_registered(api, response, alice, token)
    assert (provider.name, provider.adminEmail) == ("My provider", "person@example.com")
    assert (provider.subdomainDelegation, provider.subdomain, provider.domain) == (
        False,
        None,
        "my-provider.example.com",
    )
    assert (provider.latitude, provider.longitude) == (50.0647, 19.945)
    assert (provider.opWorkerIpAddresses, provider.oneS3IpAddresses) == ([], [])
    assert a_records(api) == {}
    assert subdomain_claims(api) == {}


def test_seed_example_with_json_types(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    response = register(api, own_domain(token, latitude=50.0647, longitude=19.945))
    provider = assert_registered(api, response, alice, token)
    assert (provider.latitude, provider.longitude) == (50.0647, 19.945)


def test_subdomain_with_worker_addresses(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    response = register(api, delegated(token, opWorkerPort=443))
    provider = assert_registered(api, response, alice, token)
    assert (provider.subdomainDelegation, provider.subdomain, provider.domain) == (
        True,
        "krakow",
        "krakow.onezone.test",
    )
    assert (provider.opWorkerIpAddresses, provider.opWorkerPort) == (WORKERS, 443)
    assert (provider.latitude, provider.longitude) == (0.0, 0.0)
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    claim = subdomain_claims(api)["krakow"]
    assert (claim["ownerId"], claim["pending"]) == (provider.providerId, False)
    assert "pendingUntil" not in claim


def test_subdomain_with_deprecated_ip_list(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = delegated(token)
    body["ipList"] = body.pop("opWorkerIpAddresses")
    provider = assert_registered(api, register(api, body), alice, token)
    assert provider.opWorkerIpAddresses == WORKERS
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}


def test_both_worker_lists_when_they_agree(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = delegated(token, ipList=list(reversed(WORKERS)))
    provider = assert_registered(api, register(api, body), alice, token)
    assert provider.opWorkerIpAddresses == WORKERS
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}


def test_subdomain_with_ones3(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = delegated(token, oneS3IpAddresses=["192.0.2.9", "192.0.2.8"], oneS3Port=9000)
    provider = assert_registered(api, register(api, body), alice, token)
    assert (provider.oneS3IpAddresses, provider.oneS3Port) == (["192.0.2.9", "192.0.2.8"], 9000)
    assert a_records(api) == {
        "krakow.onezone.test.": (120, WORKERS),
        "s3.krakow.onezone.test.": (120, ["192.0.2.8", "192.0.2.9"]),
    }


def test_empty_worker_list_claims_the_subdomain_without_a_record(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    provider = assert_registered(api, register(api, delegated(token, opWorkerIpAddresses=[])), alice, token)
    assert (provider.domain, provider.opWorkerIpAddresses) == ("krakow.onezone.test", [])
    assert a_records(api) == {}
    assert subdomain_claims(api)["krakow"]["ownerId"] == provider.providerId
    second = api.registration_token("alice")
    taken = register(api, delegated(second))
    assert (taken.status_code, error_of(taken)["id"]) == (400, "badValueIdentifierOccupied")
    assert usage(second) == 0


def test_empty_worker_list_with_ones3_gets_only_the_s3_record(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = delegated(token, opWorkerIpAddresses=[], oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)
    assert_registered(api, register(api, body), alice, token)
    assert a_records(api) == {"s3.krakow.onezone.test.": (120, ["192.0.2.9"])}


def test_subdomain_and_addresses_are_normalised(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = delegated(token, subdomain=" Krakow ", opWorkerIpAddresses=["192.0.2.1", "192.0.2.1"])
    provider = assert_registered(api, register(api, body), alice, token)
    assert (provider.subdomain, provider.domain, provider.opWorkerIpAddresses) == (
        "krakow",
        "krakow.onezone.test",
        ["192.0.2.1"],
    )
    assert a_records(api) == {"krakow.onezone.test.": (120, ["192.0.2.1"])}


@pytest.mark.parametrize("flag", ["true", "True", "TRUE"])
def test_delegation_flag_as_a_string(api: Api, alice: str, flag: str) -> None:
    """Regression: "True" skipped the delegation keys' requirement and stored a provider with
    domain ".onezone.test" and no subdomain."""
    token = api.registration_token("alice")
    missing = register(api, {**delegated(token), "subdomainDelegation": flag, "subdomain": None})
    assert (missing.status_code, error_of(missing)["details"]) == (400, {"key": "subdomain"})
    assert_nothing_registered(api)
    provider = assert_registered(api, register(api, {**delegated(token), "subdomainDelegation": flag}), alice, token)
    assert (provider.subdomainDelegation, provider.domain) == (True, "krakow.onezone.test")


def test_labels_that_only_resemble_reserved_ones_register(api: Api, alice: str) -> None:
    for label in ("nsa", "ns-1", "dns", "xns1", "n1"):
        token = api.registration_token("alice")
        provider = assert_registered(api, register(api, delegated(token, subdomain=label)), alice, token)
        assert provider.domain == f"{label}.onezone.test"
    assert set(subdomain_claims(api)) == {"nsa", "ns-1", "dns", "xns1", "n1"}


def test_unknown_keys_are_ignored(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    body = own_domain(token, providerId="chosen-by-client", adminUserId="someone-else", online=True)
    provider = assert_registered(api, register(api, body), alice, token)
    assert provider.providerId != "chosen-by-client"
    assert provider.adminUserId == alice


def test_domains_are_not_unique(api: Api, alice: str) -> None:
    first, second = api.registration_token("alice"), api.registration_token("alice")
    one = assert_registered(api, register(api, own_domain(first)), alice, first)
    two = assert_registered(api, register(api, own_domain(second)), alice, second)
    assert one.providerId != two.providerId
    assert one.domain == two.domain == "my-provider.example.com"
    assert sorted(user_store.get(context.current(), alice).clusters) == sorted([one.providerId, two.providerId])


def test_coordinates_too_small_for_dynamodb_are_stored_as_zero(api: Api, alice: str) -> None:
    """Regression: DynamoDB refuses magnitudes below 1E-130, so a latitude of 1e-200 was a 500."""
    token = api.registration_token("alice")
    provider = assert_registered(
        api, register(api, own_domain(token, latitude=1e-200, longitude=-5e-324)), alice, token
    )
    assert (provider.latitude, provider.longitude) == (0.0, 0.0)


# ---- rejections that write nothing: one shared stack --------------------------------------------


@dataclass
class Shared:
    api: Api
    alice: str
    token: str  # a genuine, unused invite of alice: every rejection must leave it unused

    def rejected(self, body: dict[str, Any] | str | bytes, status: int = 400) -> dict[str, Any]:
        response = register(self.api, body)
        assert response.status_code == status, response.body
        # The commit is one transaction, so no provider item means none of its writes happened;
        # the subdomain reservation and DNS records are the writes that precede it.
        assert scan(self.api, "PROVIDERS_TABLE") == []
        assert subdomain_claims(self.api) == {}
        assert a_records(self.api) == {}
        assert usage(self.token) == 0
        return error_of(response)


@pytest.fixture(scope="class")
def shared(stack: Stack) -> Shared:
    wipe(stack.env)
    fresh_context()
    api = Api(client=stack.client, env=stack.env)
    alice = api.create_user("alice")
    return Shared(api=api, alice=alice, token=api.registration_token("alice"))


class TestRejections:
    @pytest.mark.parametrize(
        ("drop", "key"),
        [
            (("token",), "token"),
            (("name",), "name"),
            (("adminEmail",), "adminEmail"),
            (("subdomainDelegation",), "subdomainDelegation"),
            (("subdomain",), "subdomain"),
            (("opWorkerIpAddresses",), "opWorkerIpAddresses"),
            (("token", "name"), "name"),
            (("token", "subdomain", "opWorkerIpAddresses"), "opWorkerIpAddresses"),
            (("token", "name", "adminEmail", "subdomainDelegation", "subdomain", "opWorkerIpAddresses"), "adminEmail"),
        ],
    )
    def test_missing_keys_in_sorted_order(self, shared: Shared, drop: tuple[str, ...], key: str) -> None:
        body = {k: v for k, v in delegated(shared.token).items() if k not in drop}
        error = shared.rejected(body)
        assert error == {
            "id": "missingRequiredValue",
            "description": f"Missing required value: {key}.",
            "details": {"key": key},
        }

    @pytest.mark.parametrize(
        ("body", "key"),
        [
            ({}, "adminEmail"),
            ({"subdomainDelegation": False, "name": "Pp", "adminEmail": "a@b.co", "token": "t"}, "domain"),
            ({"subdomainDelegation": True, "ipList": [], "name": "Pp", "adminEmail": "a@b.co"}, "subdomain"),
            ({"subdomainDelegation": False, "domain": None, "name": "Pp", "adminEmail": "a@b.co"}, "domain"),
            ({"oneS3IpAddresses": ["192.0.2.9"]}, "oneS3Port"),
            ({"oneS3Port": 9000}, "oneS3IpAddresses"),
        ],
    )
    def test_missing_keys(self, shared: Shared, body: dict[str, Any], key: str) -> None:
        if "oneS3IpAddresses" in body or "oneS3Port" in body:
            body = {**delegated(shared.token), **body}
        assert shared.rejected(body)["details"] == {"key": key}

    @pytest.mark.parametrize(
        ("key", "value", "error_id"),
        [
            ("token", 42, "badValueString"),
            ("token", ["a"], "badValueString"),
            ("name", 42, "badValueString"),
            ("name", None, "missingRequiredValue"),
            ("adminEmail", True, "badValueString"),
            ("subdomain", 7, "badValueString"),
            ("subdomainDelegation", "yes", "badValueBoolean"),
            ("subdomainDelegation", 1, "badValueBoolean"),
            ("latitude", "north", "badValueFloat"),
            ("latitude", False, "badValueFloat"),
            ("longitude", [19.9], "badValueFloat"),
            ("longitude", "1e999", "badValueFloat"),
            ("opWorkerPort", "https", "badValueInteger"),
            ("opWorkerPort", 443.5, "badValueInteger"),
            ("oneS3Port", "9000.1", "badValueInteger"),
            ("opWorkerIpAddresses", "192.0.2.1", "badValueListOfIPv4Addresses"),
            ("opWorkerIpAddresses", ["192.0.2.300"], "badValueListOfIPv4Addresses"),
            ("opWorkerIpAddresses", ["2001:db8::1"], "badValueListOfIPv4Addresses"),
            ("opWorkerIpAddresses", [1, 2, 3, 4], "badValueListOfIPv4Addresses"),
            ("ipList", ["x"], "badValueListOfIPv4Addresses"),
            ("oneS3IpAddresses", ["192.0.2"], "badValueListOfIPv4Addresses"),
        ],
    )
    def test_wrong_types(self, shared: Shared, key: str, value: Any, error_id: str) -> None:
        body = delegated(shared.token, oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)
        body[key] = value
        if key == "ipList":
            del body["opWorkerIpAddresses"]
        error = shared.rejected(body)
        assert (error["id"], error["details"]) == (error_id, {"key": key})

    @pytest.mark.parametrize(
        ("key", "value", "low", "high"),
        [
            ("latitude", 90.01, -90, 90),
            ("latitude", "-90.5", -90, 90),
            ("longitude", 180.01, -180, 180),
            ("longitude", -1000, -180, 180),
            ("opWorkerPort", 0, 1, 65535),
            ("opWorkerPort", 65536, 1, 65535),
            ("oneS3Port", -1, 1, 65535),
            ("oneS3Port", "99999", 1, 65535),
        ],
    )
    def test_out_of_range(self, shared: Shared, key: str, value: Any, low: int, high: int) -> None:
        body = delegated(shared.token, oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)
        error = shared.rejected({**body, key: value})
        assert (error["id"], error["details"]) == ("badValueNotInRange", {"key": key, "low": low, "high": high})
        assert error["description"].startswith(f'Bad value: provided "{key}" must be between <')

    @pytest.mark.parametrize(
        ("key", "value", "error_id"),
        [
            ("adminEmail", "not-an-email", "badValueEmail"),
            ("adminEmail", "person@example", "badValueEmail"),
            ("adminEmail", "x" * 250 + "@example.com", "badValueEmail"),
            ("adminEmail", "\ud800@example.com", "badValueEmail"),  # regression: was badData
            ("domain", "https://my-provider.example.com", "badValueDomain"),
            ("domain", "my-provider.example.com:443", "badValueDomain"),
            ("domain", "localhost", "badValueDomain"),
            ("domain", "a\n.example.com", "badValueDomain"),  # regression: was accepted
            ("domain", "a" * 64 + ".example.com", "badValueDomain"),
            ("name", "P", "badValueName"),
            ("name", "x" * 129, "badValueName"),
            ("name", " leading space", "badValueName"),
            ("name", "My provider\n", "badValueName"),  # regression: was accepted
            ("name", "Bad/name", "badValueName"),
        ],
    )
    def test_bad_values(self, shared: Shared, key: str, value: Any, error_id: str) -> None:
        error = shared.rejected(own_domain(shared.token, **{key: value}))
        assert error["id"] == error_id
        assert "details" not in error

    @pytest.mark.parametrize("value", ["a.b", "krakow.onezone.test", "-krakow", "krakow_1", "a" * 64, "kraków"])
    def test_bad_subdomains(self, shared: Shared, value: str) -> None:
        error = shared.rejected(delegated(shared.token, subdomain=value))
        assert error == {"id": "badValueSubdomain", "description": "Bad value: provided subdomain is not valid."}

    @pytest.mark.parametrize(
        ("key", "body"),
        [
            ("token", own_domain("")),
            ("adminEmail", own_domain("t", adminEmail="")),
            ("domain", own_domain("t", domain="")),
            ("subdomain", delegated("t", subdomain="")),
        ],
    )
    def test_empty_strings(self, shared: Shared, key: str, body: dict[str, Any]) -> None:
        if body["token"]:
            body["token"] = shared.token
        error = shared.rejected(body)
        assert (error["id"], error["details"]) == ("badValueEmpty", {"key": key})
        assert error["description"] == f'Bad value: provided "{key}" must not be empty.'

    @pytest.mark.parametrize(
        "ip_list", [["192.0.2.1"], ["192.0.2.1", "192.0.2.2", "192.0.2.3"], [], ["192.0.2.1", "192.0.2.9"]]
    )
    def test_disagreeing_worker_lists(self, shared: Shared, ip_list: list[str]) -> None:
        error = shared.rejected(delegated(shared.token, ipList=ip_list))
        assert (error["id"], error["details"]["key"]) == ("badData", "ipList")

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"not json",
            b"[]",
            b'[{"token": "t"}]',
            b'"token"',
            b"null",
            b'{"token": "t"',
            b"\xff\xfe\x00{",
            b'{"latitude": NaN}',
            b'{"latitude": Infinity}',
            b"token=t&name=Pp",
        ],
    )
    def test_bodies_that_are_not_json_objects(self, shared: Shared, raw: bytes) -> None:
        assert shared.rejected(raw) == {
            "id": "malformedData",
            "description": "Provided data could not be understood by the server.",
        }

    def test_nan_among_good_values_is_malformed(self, shared: Shared) -> None:
        raw = json.dumps(own_domain(shared.token, latitude=float("nan")))
        assert "NaN" in raw
        assert shared.rejected(raw)["id"] == "malformedData"

    def test_body_over_two_mib_is_bad_message(self, shared: Shared) -> None:
        raw = json.dumps(own_domain(shared.token, padding="x" * (2 * 1024 * 1024)))
        error = shared.rejected(raw)
        assert error["id"] == "badMessage"
        assert error["details"] == {"message": "request body exceeds 2097152 bytes"}

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
    def test_body_is_json_whatever_the_content_type(self, shared: Shared, content_type: str) -> None:
        response = shared.api.call(
            "POST", PATH, raw=json.dumps(own_domain("garbage")), headers={"Content-Type": content_type}
        )
        assert (response.status_code, error_of(response)["id"]) == (400, "badValueToken")

    @pytest.mark.parametrize("label", ["ns", "ns1", "ns42", "NS2"])
    def test_reserved_subdomains_are_occupied(self, shared: Shared, label: str) -> None:
        error = shared.rejected(delegated(shared.token, subdomain=label))
        assert error == {
            "id": "badValueIdentifierOccupied",
            "description": 'Bad value: provided identifier ("subdomain") is already occupied.',
            "details": {"key": "subdomain"},
        }

    # -- the token -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "value",
        [
            "garbage",
            "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW...",  # the seed's truncated sample
            "!!!!",
            "   ",
            "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",  # a JWT
        ],
    )
    def test_unparseable_token(self, shared: Shared, value: str) -> None:
        error = shared.rejected(delegated(value))
        assert error == {
            "id": "badValueToken",
            "description": 'Bad value: provided "token" is not a valid token (see details).',
            "details": {
                "key": "token",
                "tokenError": {
                    "id": "badToken",
                    "description": "Provided token could not be understood by the server.",
                },
            },
        }

    def test_empty_token(self, shared: Shared) -> None:
        error = shared.rejected(delegated(""))
        assert (error["id"], error["details"]) == ("badValueEmpty", {"key": "token"})

    @pytest.mark.parametrize("character", ["M", "é"])
    def test_token_over_one_mib(self, shared: Shared, character: str) -> None:
        """A limit in bytes: 600,000 two-byte characters are over it too (regression: the check
        counted characters, and such a token was a `badToken`)."""
        count = 1024 * 1024 + 1 if character == "M" else 600_000
        value = character * count
        assert len(value.encode()) > 1024 * 1024
        raw = json.dumps(delegated(value), ensure_ascii=False).encode()
        assert len(raw) < 2 * 1024 * 1024
        error = shared.rejected(raw)
        assert (error["id"], error["details"]["key"]) == ("badValueToken", "token")
        assert error["details"]["tokenError"] == {
            "id": "tokenTooLarge",
            "description": "Provided token exceeds the allowed size (1048576 characters).",
            "details": {"limit": 1048576},
        }

    def test_token_exactly_one_mib_is_parsed(self, shared: Shared) -> None:
        error = shared.rejected(delegated("M" * (1024 * 1024)))
        assert error["details"]["tokenError"]["id"] == "badToken"

    def test_forged_signature(self, shared: Shared) -> None:
        error = shared.rejected(delegated(forged(shared.token)))
        assert error == {"id": "tokenInvalid", "description": "Provided token is not valid."}

    def test_genuine_token_with_its_caveat_stripped(self, shared: Shared) -> None:
        assert macaroon_of(shared.token).caveats
        assert shared.rejected(delegated(without_caveats(shared.token)))["id"] == "tokenInvalid"

    def test_signed_token_of_unknown_id(self, shared: Shared) -> None:
        claimed = identifier_of(shared.token)
        unknown = signed(Identifier(id="no-such-token", subject=claimed.subject, type=claimed.type), [])
        assert shared.rejected(delegated(unknown))["id"] == "tokenInvalid"

    def test_expired_token(self, shared: Shared) -> None:
        expiry = int(time.time()) - 60
        expired = resigned(shared.token, [f"time < {expiry}"])
        error = shared.rejected(delegated(expired))
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
        assert error == {
            "id": "tokenCaveatUnverified",
            "description": f"Provided token is not valid - unverified time caveat: this token has expired at '{when}'.",
            "details": {"caveat": {"type": "time", "validUntil": expiry}},
        }
        assert usage(expired) == 0

    @pytest.mark.parametrize("caveat", ["ip < 192.0.2.1", "interface == rest", "time <= 9999999999", "time < soon"])
    def test_unknown_caveat_on_a_genuine_token(self, shared: Shared, caveat: str) -> None:
        extended = resigned(shared.token, [*codec.parse(shared.token).caveats, caveat])
        error = shared.rejected(delegated(extended))
        assert (error["id"], error["details"]) == ("tokenCaveatUnknown", {"caveat": caveat})

    def test_shorter_time_caveat_added_by_the_holder_is_honoured(self, shared: Shared) -> None:
        """Attenuation: anyone holding a macaroon may add caveats (the chain stays valid), and a
        past `time <` caveat then expires the token."""
        attenuated = codec.confine(macaroon_of(shared.token), [f"time < {int(time.time()) - 1}"])
        assert shared.rejected(delegated(attenuated))["id"] == "tokenCaveatUnverified"

    @pytest.mark.parametrize("subject_type", ["user", "oneprovider"])
    def test_access_token_is_not_an_invite(self, shared: Shared, subject_type: str) -> None:
        subject_id = shared.alice if subject_type == "user" else "some-provider"
        error = shared.rejected(delegated(access_token(subject_id, subject_type=subject_type)))
        assert error["id"] == "notAnInviteToken"
        assert error["details"] == {"expectedInviteType": "registerOneprovider", "received": {"accessToken": {}}}

    def test_revoked_token(self, shared: Shared) -> None:
        token = shared.api.registration_token("alice")
        update_item(shared.api, "TOKENS_TABLE", {"tokenId": token_id(token)}, revoked=True)
        error = shared.rejected(delegated(token))
        assert error == {"id": "tokenRevoked", "description": "Provided token has been revoked."}
        assert usage(token) == 0

    def test_used_up_token_record(self, shared: Shared) -> None:
        token = shared.api.registration_token("alice")
        update_item(shared.api, "TOKENS_TABLE", {"tokenId": token_id(token)}, usageCount=1)
        assert shared.rejected(delegated(token))["id"] == "inviteTokenUsageLimitReached"

    def test_issuing_user_deleted(self, shared: Shared) -> None:
        """The token's subject is gone: the token is void (Onezone checks its subject first)."""
        bob = shared.api.create_user("bob")
        token = shared.api.registration_token("bob")
        boto3.client("dynamodb").delete_item(TableName=shared.api.env["USERS_TABLE"], Key={"userId": {"S": bob}})
        error = shared.rejected(delegated(token))
        assert error == {
            "id": "tokenSubjectInvalid",
            "description": "The token subject is invalid (does not exist or is different than expected).",
        }
        assert usage(token) == 0

    def test_admin_user_deleted(self, shared: Shared) -> None:
        """An invite issued for another admin, who is gone: the invitation's target is invalid."""
        carol = shared.api.create_user("carol")
        shared.api.create_user("inviter", ("oz_providers_invite",))
        for_carol = {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": carol}}
        issued = shared.api.call(
            "POST",
            "/user/tokens/named",
            {"name": "for carol", "type": for_carol},
            headers=shared.api.basic("inviter", USER_PASSWORD),
        )
        assert issued.status_code == 201, issued.body
        token = issued.json_body["token"]
        boto3.client("dynamodb").delete_item(TableName=shared.api.env["USERS_TABLE"], Key={"userId": {"S": carol}})
        error = shared.rejected(delegated(token))
        assert error == {
            "id": "inviteTokenTargetIdInvalid",
            "description": f"The target id of this invite token is not valid: {carol}.",
            "details": {"id": carol},
        }
        assert usage(token) == 0

    # -- order of checks that need no state --------------------------------------------------

    def test_missing_keys_before_coordinates(self, shared: Shared) -> None:
        body = {"token": shared.token, "name": "Pp", "subdomainDelegation": False, "latitude": 100, "longitude": "x"}
        assert shared.rejected(body)["details"] == {"key": "adminEmail"}

    def test_coordinates_before_the_token(self, shared: Shared) -> None:
        error = shared.rejected(delegated("garbage", latitude=-100))
        assert (error["id"], error["details"]["key"]) == ("badValueNotInRange", "latitude")
        error = shared.rejected(delegated("garbage", longitude="east"))
        assert (error["id"], error["details"]["key"]) == ("badValueFloat", "longitude")

    def test_values_before_the_token(self, shared: Shared) -> None:
        assert shared.rejected(delegated("garbage", subdomain="a.b"))["id"] == "badValueSubdomain"
        assert shared.rejected(own_domain("garbage", name="P"))["id"] == "badValueName"

    def test_token_before_the_reserved_subdomain(self, shared: Shared) -> None:
        error = shared.rejected(delegated("garbage", subdomain="ns1"))
        assert error["id"] == "badValueToken"
        revoked = shared.api.registration_token("alice")
        update_item(shared.api, "TOKENS_TABLE", {"tokenId": token_id(revoked)}, revoked=True)
        assert shared.rejected(delegated(revoked, subdomain="ns1"))["id"] == "tokenRevoked"


# ---- state-dependent errors and the order of checks -----------------------------------------------


def test_token_is_single_use(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    first = assert_registered(api, register(api, delegated(token)), alice, token)
    again = register(api, delegated(token, subdomain="warsaw"))
    assert (again.status_code, error_of(again)) == (
        400,
        {"id": "inviteTokenUsageLimitReached", "description": "The usage limit of this invite token has been reached."},
    )
    assert usage(token) == 1
    assert [p["providerId"] for p in scan(api, "PROVIDERS_TABLE")] == [first.providerId]
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert set(subdomain_claims(api)) == {"krakow"}


def test_occupied_subdomain_leaves_the_fresh_token_usable(api: Api, alice: str) -> None:
    first_token = api.registration_token("alice")
    first = assert_registered(api, register(api, delegated(first_token)), alice, first_token)
    token = api.registration_token("alice")
    taken = register(api, delegated(token, subdomain="KRAKOW", opWorkerIpAddresses=["198.51.100.7"]))
    assert (taken.status_code, error_of(taken)) == (
        400,
        {
            "id": "badValueIdentifierOccupied",
            "description": 'Bad value: provided identifier ("subdomain") is already occupied.',
            "details": {"key": "subdomain"},
        },
    )
    assert usage(token) == 0
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert subdomain_claims(api)["krakow"]["ownerId"] == first.providerId
    assert len(scan(api, "PROVIDERS_TABLE")) == 1

    second = assert_registered(api, register(api, delegated(token, subdomain="warsaw")), alice, token)
    assert second.domain == "warsaw.onezone.test"
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS), "warsaw.onezone.test.": (120, WORKERS)}


def test_token_before_subdomain_occupancy(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    assert_registered(api, register(api, delegated(token)), alice, token)
    # A used token and an occupied subdomain: the token speaks.
    assert error_of(register(api, delegated(token)))["id"] == "inviteTokenUsageLimitReached"
    assert error_of(register(api, delegated("garbage")))["id"] == "badValueToken"


@pytest.mark.parametrize("flag", [True, "true", "TRUE"])
def test_delegation_not_supported_comes_first(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch, flag: bool | str
) -> None:
    monkeypatch.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "false")
    context.reset()
    expected = {
        "id": "subdomainDelegationNotSupported",
        "description": "Subdomain delegation is not supported by this Onezone.",
    }
    assert error_of(register(api, {"subdomainDelegation": flag})) == expected
    token = api.registration_token("alice")
    assert error_of(register(api, delegated(token, subdomainDelegation=flag, latitude=500))) == expected
    assert usage(token) == 0
    assert_nothing_registered(api)
    # Without delegation the same Onezone registers, and a missing key is reported as usual.
    assert error_of(register(api, {}))["details"] == {"key": "adminEmail"}
    assert_registered(api, register(api, SEED_BODY % token), alice, token)


def test_subdomain_too_long_for_the_zone(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`s3.<subdomain>.<zone>` must fit DNS's 253 characters; a value check, so reported before the
    token (regression: it came after the token)."""
    monkeypatch.setenv("ZONE_DOMAIN", ("z" * 60 + ".") * 3 + "test")  # 187 characters
    context.reset()
    token = api.registration_token("alice")
    label = "a" * 63  # a valid label, but s3.<label>.<zone> has 255 characters
    error = error_of(register(api, delegated("garbage", subdomain=label)))
    assert error == {"id": "badValueSubdomain", "description": "Bad value: provided subdomain is not valid."}
    assert error_of(register(api, delegated(token, subdomain=label)))["id"] == "badValueSubdomain"
    assert usage(token) == 0
    assert_nothing_registered(api)


def test_restricted_policy_rechecks_the_issuer_at_consumption(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    inviter = api.create_user("inviter", ("oz_providers_invite",))
    api.set_policy(monkeypatch, "restricted")
    kept, lost = api.registration_token("inviter"), api.registration_token("inviter")
    update_item(api, "USERS_TABLE", {"userId": inviter}, privileges=[])
    error = error_of(register(api, delegated(lost)))
    assert error == {
        "id": "inviteTokenSubjectNotAuthorized",
        "description": "The subject of this token is not (or no longer) authorized to issue such invitations.",
    }
    assert usage(lost) == 0
    assert_nothing_registered(api)
    # The privilege back: the other token of the same issuer registers.
    update_item(api, "USERS_TABLE", {"userId": inviter}, privileges=["oz_providers_invite"])
    assert_registered(api, register(api, delegated(kept)), inviter, kept)


def test_open_policy_ignores_the_privilege(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    assert "oz_providers_invite" not in user_store.get(context.current(), alice).privileges
    assert_registered(api, register(api, delegated(token)), alice, token)


# ---- all or nothing ---------------------------------------------------------------------------------


def fail_transaction(
    monkeypatch: pytest.MonkeyPatch, api: Api, failure: BaseException, commit_first: bool = False
) -> dict[str, Any]:
    """Make the registration transaction fail (optionally after committing, as when an answer is
    lost); record what DNS and the claims held at that moment."""
    real = db.transact
    seen: dict[str, Any] = {}

    def failing(client: Any, items: Any, request_token: str | None = None) -> None:
        seen["records"] = a_records(api)
        seen["claims"] = subdomain_claims(api)
        if commit_first:
            real(client, items, request_token=request_token)
        raise failure

    monkeypatch.setattr(db, "transact", failing)
    seen["restore"] = lambda: monkeypatch.setattr(db, "transact", real)
    return seen


@pytest.mark.parametrize(
    ("failure", "status", "error_id"),
    [
        (client_error("ThrottlingException", "TransactWriteItems"), 503, "temporaryFailure"),
        (client_error("ProvisionedThroughputExceededException", "TransactWriteItems"), 503, "temporaryFailure"),
        (client_error("TransactionConflictException", "TransactWriteItems"), 503, "temporaryFailure"),
        (ReadTimeoutError(endpoint_url="https://dynamodb.invalid"), 503, "timeout"),
        (client_error("ValidationException", "TransactWriteItems"), 500, "internalServerError"),
        (RuntimeError("boom"), 500, "internalServerError"),
    ],
)
def test_failed_commit_after_dns_leaves_nothing(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch, failure: BaseException, status: int, error_id: str
) -> None:
    token = api.registration_token("alice")
    seen = fail_transaction(monkeypatch, api, failure)
    response = register(api, delegated(token, oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000))
    # The records existed when the transaction was attempted: they were removed afterwards.
    assert seen["records"] == {
        "krakow.onezone.test.": (120, WORKERS),
        "s3.krakow.onezone.test.": (120, ["192.0.2.9"]),
    }
    assert seen["claims"]["krakow"]["pending"] is True
    error = error_of(response)
    assert (response.status_code, error["id"]) == (status, error_id)
    if status == 503:
        assert response.headers["Retry-After"] == "1"
    else:
        assert len(error["details"]["reference"]) == 32
        assert error["details"]["reference"] in error["description"]
        assert "boom" not in response.body.decode()
    assert_nothing_registered(api)
    assert usage(token) == 0

    seen["restore"]()
    assert_registered(api, register(api, delegated(token)), alice, token)
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}


def test_failure_at_the_client_level_is_undone_too(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    dynamodb = context.current().aws.dynamodb

    def throttled(**_kwargs: Any) -> None:
        raise client_error("ThrottlingException", "TransactWriteItems")

    monkeypatch.setattr(dynamodb, "transact_write_items", throttled)
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert_nothing_registered(api)
    assert usage(token) == 0
    context.reset()  # a new container, with clients that work
    assert_registered(api, register(api, delegated(token)), alice, token)


def test_commit_whose_answer_was_lost_stands(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    fail_transaction(monkeypatch, api, ReadTimeoutError(endpoint_url="https://dynamodb.invalid"), commit_first=True)
    response = register(api, delegated(token))
    assert_registered(api, response, alice, token)
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert subdomain_claims(api)["krakow"]["pending"] is False


def test_commit_retried_after_a_lost_answer_stands(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A retry that runs the committed transaction again (moto ignores the idempotency token)
    fails every condition, the token's first. Regression: that was answered
    `inviteTokenUsageLimitReached` while the provider stayed registered without its DNS records,
    as the local-run race of 32 registrations for one token showed under load."""
    token = api.registration_token("alice")
    dynamodb = context.current().aws.dynamodb
    real = dynamodb.transact_write_items
    attempts: list[str] = []

    def run_twice(**kwargs: Any) -> Any:
        attempts.append(kwargs["ClientRequestToken"])
        real(**kwargs)  # committed, but the answer never arrived
        attempts.append(kwargs["ClientRequestToken"])
        return real(**kwargs)  # the retry

    monkeypatch.setattr(dynamodb, "transact_write_items", run_twice)
    response = register(api, delegated(token))
    provider = assert_registered(api, response, alice, token)
    assert attempts == [provider.providerId, provider.providerId]
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    claim = subdomain_claims(api)["krakow"]
    assert (claim["ownerId"], claim["pending"]) == (provider.providerId, False)


@pytest.mark.parametrize(
    ("code", "status"), [("PriorRequestNotComplete", 503), ("Throttling", 503), ("InvalidInput", 500)]
)
def test_route53_failure_writes_nothing(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    token = api.registration_token("alice")
    route53 = context.current().aws.route53
    transactions: list[object] = []
    real_transact = db.transact
    monkeypatch.setattr(db, "transact", lambda *a, **k: transactions.append(a) or real_transact(*a, **k))

    def refuse(**_kwargs: Any) -> None:
        raise client_error(code, "ChangeResourceRecordSets")

    monkeypatch.setattr(route53, "change_resource_record_sets", refuse)
    response = register(api, delegated(token))
    assert response.status_code == status
    assert transactions == []  # the commit was never attempted
    assert_nothing_registered(api)
    assert usage(token) == 0
    context.reset()  # a new container, with clients that work
    assert_registered(api, register(api, delegated(token)), alice, token)


def test_failed_undo_is_logged_and_the_original_error_returned(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.registration_token("alice")
    route53 = context.current().aws.route53
    real_change = route53.change_resource_record_sets
    calls: list[dict[str, Any]] = []

    def first_only(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) > 1:
            raise client_error("PriorRequestNotComplete", "ChangeResourceRecordSets")
        return real_change(**kwargs)

    monkeypatch.setattr(route53, "change_resource_record_sets", first_only)
    fail_transaction(monkeypatch, api, client_error("ThrottlingException", "TransactWriteItems"))
    with caplog.at_level(logging.ERROR, logger="chalicelib.dns"):
        response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert [c["ChangeBatch"]["Changes"][0]["Action"] for c in calls] == ["UPSERT", "DELETE"]
    assert any("DNS LEFT INCONSISTENT" in r.getMessage() for r in caplog.records)
    # The record outlives the failed registration (the operator has the log line); the next
    # holder of the name overwrites it.
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    # What could be undone was: no provider, no claim, an unused token.
    assert scan(api, "PROVIDERS_TABLE") == []
    assert subdomain_claims(api) == {}
    assert usage(token) == 0


# ---- races --------------------------------------------------------------------------------------


def during_commit(monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> list[Any]:
    """Run `action` (another request) once, after the first registration wrote its DNS records
    and right before its transaction: the window in which a concurrent request could interfere."""
    real = registration._commit
    started: list[bool] = []
    results: list[Any] = []

    def interleaved(*args: Any, **kwargs: Any) -> None:
        if not started:  # only the first request: the interfering one commits normally
            started.append(True)
            results.append(action())
        real(*args, **kwargs)

    monkeypatch.setattr(registration, "_commit", interleaved)
    return results


def test_concurrent_request_for_a_subdomain_being_registered(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_token, second_token = api.registration_token("alice"), api.registration_token("alice")
    changes: list[str] = []
    route53 = context.current().aws.route53
    real_change = route53.change_resource_record_sets

    def spy(**kwargs: Any) -> Any:
        changes.append(kwargs["ChangeBatch"]["Changes"][0]["ResourceRecordSet"]["ResourceRecords"][0]["Value"])
        return real_change(**kwargs)

    monkeypatch.setattr(route53, "change_resource_record_sets", spy)
    seen = during_commit(
        monkeypatch,
        lambda: (a_records(api), register(api, delegated(second_token, opWorkerIpAddresses=["198.51.100.7"]))),
    )
    first = register(api, delegated(first_token))
    records_meanwhile, second = seen[0]
    assert records_meanwhile == {"krakow.onezone.test.": (120, WORKERS)}
    assert (second.status_code, error_of(second)["id"]) == (400, "badValueIdentifierOccupied")
    assert usage(second_token) == 0
    assert changes == [WORKERS[0]]  # the loser never touched DNS
    provider = assert_registered(api, first, alice, first_token)
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert subdomain_claims(api)["krakow"]["ownerId"] == provider.providerId


def test_subdomain_held_by_another_provider_whatever_a_read_says(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uniqueness rests on the conditional reservation, not on a read: even with the identifier
    lookup lying ("free"), the second request loses, and the holder's record is left alone."""
    first_token = api.registration_token("alice")
    holder = assert_registered(api, register(api, delegated(first_token)), alice, first_token)
    token = api.registration_token("alice")
    monkeypatch.setattr(identifiers, "owner", lambda *_args: None)
    route53 = context.current().aws.route53
    changes: list[Any] = []
    real_change = route53.change_resource_record_sets
    monkeypatch.setattr(route53, "change_resource_record_sets", lambda **kw: changes.append(kw) or real_change(**kw))
    response = register(api, delegated(token, opWorkerIpAddresses=["198.51.100.7"]))
    assert (response.status_code, error_of(response)) == (
        400,
        {
            "id": "badValueIdentifierOccupied",
            "description": 'Bad value: provided identifier ("subdomain") is already occupied.',
            "details": {"key": "subdomain"},
        },
    )
    assert changes == []
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    claim = subdomain_claims(api)["krakow"]
    assert (claim["ownerId"], claim["pending"]) == (holder.providerId, False)
    assert usage(token) == 0
    assert len(scan(api, "PROVIDERS_TABLE")) == 1


def test_live_reservation_of_another_request_is_respected(api: Api, alice: str) -> None:
    """Another registration reserved `krakow` a moment ago and wrote its record: ours must neither
    take the name nor touch that record."""
    now = int(time.time())
    ctx = context.current()
    assert identifiers.reserve(ctx, identifiers.SUBDOMAIN, "krakow", "in-flight", now)
    boto3.client("route53").change_resource_record_sets(  # the test's own client: not the app's calls
        HostedZoneId=api.env["HOSTED_ZONE_ID"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "krakow.onezone.test.",
                        "Type": "A",
                        "TTL": 120,
                        "ResourceRecords": [{"Value": "198.51.100.7"}],
                    },
                }
            ]
        },
    )
    token = api.registration_token("alice")
    response = register(api, delegated(token))
    assert error_of(response)["id"] == "badValueIdentifierOccupied"
    assert a_records(api) == {"krakow.onezone.test.": (120, ["198.51.100.7"])}
    assert subdomain_claims(api)["krakow"]["ownerId"] == "in-flight"
    assert usage(token) == 0


def test_abandoned_reservation_is_taken_over_and_its_record_healed(api: Api, alice: str) -> None:
    """A crashed attempt left a reservation past its expiry and a record: a new registration of
    the name takes both over."""
    ctx = context.current()
    long_ago = int(time.time()) - identifiers.PENDING_SECONDS - 1
    assert identifiers.reserve(ctx, identifiers.SUBDOMAIN, "krakow", "crashed", long_ago)
    boto3.client("route53").change_resource_record_sets(  # the test's own client: not the app's calls
        HostedZoneId=api.env["HOSTED_ZONE_ID"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "krakow.onezone.test.",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "198.51.100.7"}],
                    },
                }
            ]
        },
    )
    token = api.registration_token("alice")
    provider = assert_registered(api, register(api, delegated(token)), alice, token)
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert subdomain_claims(api)["krakow"]["ownerId"] == provider.providerId


def test_token_used_by_a_concurrent_registration(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    seen = during_commit(monkeypatch, lambda: register(api, delegated(token, subdomain="warsaw")))
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (400, "inviteTokenUsageLimitReached")
    winner = assert_registered(api, seen[0], alice, token)
    assert winner.subdomain == "warsaw"
    # The loser's record and reservation are gone; the winner's are intact.
    assert a_records(api) == {"warsaw.onezone.test.": (120, WORKERS)}
    assert set(subdomain_claims(api)) == {"warsaw"}
    assert [p["providerId"] for p in scan(api, "PROVIDERS_TABLE")] == [winner.providerId]
    assert [c["clusterId"] for c in scan(api, "CLUSTERS_TABLE")] == [winner.providerId]
    assert user_store.get(context.current(), alice).clusters == [winner.providerId]
    # krakow is free again.
    fresh = api.registration_token("alice")
    assert_registered(api, register(api, delegated(fresh)), alice, fresh)


def test_used_token_whose_read_check_is_bypassed_fails_at_commit(
    api: Api, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conditional update, not the read, makes the token single-use."""
    token = api.registration_token("alice")
    first = assert_registered(api, register(api, delegated(token)), alice, token)
    monkeypatch.setattr(registration, "require_uses_left", lambda _record: None)
    response = register(api, delegated(token, subdomain="warsaw"))
    assert (response.status_code, error_of(response)["id"]) == (400, "inviteTokenUsageLimitReached")
    assert a_records(api) == {"krakow.onezone.test.": (120, WORKERS)}
    assert set(subdomain_claims(api)) == {"krakow"}
    assert [p["providerId"] for p in scan(api, "PROVIDERS_TABLE")] == [first.providerId]
    assert usage(token) == 1


def test_token_revoked_between_check_and_commit(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    real = registration.require_uses_left

    def then_revoked(record: Any) -> None:
        real(record)
        update_item(api, "TOKENS_TABLE", {"tokenId": record.tokenId}, revoked=True)

    monkeypatch.setattr(registration, "require_uses_left", then_revoked)
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (400, "tokenRevoked")
    assert_nothing_registered(api)
    assert usage(token) == 0


def test_privilege_revoked_between_check_and_commit(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    inviter = api.create_user("inviter", ("oz_providers_invite",))
    api.set_policy(monkeypatch, "restricted")
    token = api.registration_token("inviter")
    during_commit(monkeypatch, lambda: update_item(api, "USERS_TABLE", {"userId": inviter}, privileges=[]))
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (400, "inviteTokenSubjectNotAuthorized")
    assert_nothing_registered(api)
    assert usage(token) == 0


def test_admin_deleted_between_check_and_commit(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    during_commit(
        monkeypatch,
        lambda: boto3.client("dynamodb").delete_item(TableName=api.env["USERS_TABLE"], Key={"userId": {"S": alice}}),
    )
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)) == (
        400,
        {
            "id": "inviteTokenTargetIdInvalid",
            "description": f"The target id of this invite token is not valid: {alice}.",
            "details": {"id": alice},
        },
    )
    assert scan(api, "PROVIDERS_TABLE") == []
    assert scan(api, "USERS_TABLE") == []  # the update did not recreate a stub user
    assert a_records(api) == {}
    assert subdomain_claims(api) == {}
    assert usage(token) == 0
