"""POST /providers over the HTTP surface: modes, records, token rules, subdomains, all or nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import context
from chalicelib.store import clusters as cluster_store
from chalicelib.store import memberships
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.token_helpers import access_token, forged, identifier_of, macaroon_of, resigned

SEED_BODY = """{
  "token" : "%s",
  "name" : "My provider",
  "adminEmail" : "person@example.com",
  "subdomainDelegation" : "false",
  "domain" : "my-provider.example.com",
  "latitude" : "50.0647",
  "longitude" : "19.9450",
}"""


def delegated(token: str, subdomain: str = "krakow", **extra: Any) -> dict[str, Any]:
    return {
        "token": token,
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": ["192.0.2.1", "192.0.2.2"],
        **extra,
    }


def a_records(api: Api) -> dict[str, list[str]]:
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    return {
        s["Name"]: sorted(r["Value"] for r in s["ResourceRecords"])
        for s in sets["ResourceRecordSets"]
        if s["Type"] == "A"
    }


def items(api: Api, table: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=api.env[table])["Items"]


def usage(token: str) -> int:
    record = token_store.TABLE.get(context.current(), identifier_of(token).id)
    assert record is not None
    return record.usageCount


def nothing_registered(api: Api) -> None:
    assert items(api, "PROVIDERS_TABLE") == []
    assert items(api, "CLUSTERS_TABLE") == []
    assert [
        i["identifier"]["S"] for i in items(api, "IDENTIFIERS_TABLE") if i["identifier"]["S"].startswith("sub")
    ] == []
    assert a_records(api) == {}


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


def register(api: Api, body: dict[str, Any] | str) -> Any:
    return api.call("POST", "/providers", raw=body if isinstance(body, str) else json.dumps(body))


def test_seed_example_verbatim_registers_with_own_domain(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    response = register(api, SEED_BODY % token)
    assert response.status_code == 200, response.body
    body = response.json_body
    assert set(body) == {"providerId", "providerRootToken", "macaroon", "adminUserId"}
    assert body["adminUserId"] == alice
    provider = provider_store.TABLE.get(context.current(), body["providerId"])
    assert provider is not None
    assert (provider.name, provider.adminEmail, provider.domain) == (
        "My provider",
        "person@example.com",
        "my-provider.example.com",
    )
    assert (provider.subdomainDelegation, provider.subdomain) == (False, None)
    assert (provider.latitude, provider.longitude) == (50.0647, 19.945)
    assert a_records(api) == {}
    assert usage(token) == 1


def test_records_created_by_registration(api: Api, alice: str) -> None:
    response = register(api, delegated(api.registration_token("alice")))
    assert response.status_code == 200, response.body
    provider_id = response.json_body["providerId"]
    ctx = context.current()
    provider = provider_store.TABLE.get(ctx, provider_id)
    cluster = cluster_store.TABLE.get(ctx, provider_id)
    assert provider is not None
    assert cluster is not None
    assert (cluster.type, cluster.serviceId, cluster.creatorId) == ("oneprovider", provider_id, alice)
    assert [m.userId for m in memberships.of_cluster(ctx, provider_id)] == [alice]
    assert user_store.get(ctx, alice).clusters == [provider_id]
    assert (provider.latitude, provider.longitude) == (0.0, 0.0)

    root = macaroon_of(response.json_body["providerRootToken"])
    assert identifier_of(response.json_body["providerRootToken"]).id == provider.rootTokenId
    root_record = token_store.TABLE.get(ctx, provider.rootTokenId)
    assert (root_record.subjectType, root_record.subjectId) == ("oneprovider", provider_id)
    stored = json.dumps(items(api, "TOKENS_TABLE"))
    assert response.json_body["providerRootToken"] not in stored
    assert root.signature not in stored


def test_subdomain_with_worker_ips(api: Api, alice: str) -> None:
    response = register(api, delegated(api.registration_token("alice"), opWorkerPort=443))
    assert response.status_code == 200, response.body
    provider = provider_store.TABLE.get(context.current(), response.json_body["providerId"])
    assert provider.domain == "krakow.onezone.test"
    assert provider.opWorkerPort == 443
    assert a_records(api) == {"krakow.onezone.test.": ["192.0.2.1", "192.0.2.2"]}
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    [record] = [s for s in sets["ResourceRecordSets"] if s["Name"] == "krakow.onezone.test."]
    assert record["TTL"] == 120


def test_subdomain_with_deprecated_ip_list(api: Api, alice: str) -> None:
    body = delegated(api.registration_token("alice"))
    body["ipList"] = body.pop("opWorkerIpAddresses")
    response = register(api, body)
    assert response.status_code == 200, response.body
    assert a_records(api) == {"krakow.onezone.test.": ["192.0.2.1", "192.0.2.2"]}


def test_subdomain_with_ones3(api: Api, alice: str) -> None:
    body = delegated(api.registration_token("alice"), oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)
    response = register(api, body)
    assert response.status_code == 200, response.body
    assert a_records(api) == {
        "krakow.onezone.test.": ["192.0.2.1", "192.0.2.2"],
        "s3.krakow.onezone.test.": ["192.0.2.9"],
    }
    provider = provider_store.TABLE.get(context.current(), response.json_body["providerId"])
    assert (provider.oneS3IpAddresses, provider.oneS3Port) == (["192.0.2.9"], 9000)


def test_empty_worker_list_claims_the_name_without_records(api: Api, alice: str) -> None:
    response = register(api, delegated(api.registration_token("alice"), opWorkerIpAddresses=[]))
    assert response.status_code == 200, response.body
    assert a_records(api) == {}
    again = register(api, delegated(api.registration_token("alice")))
    assert error_of(again)["id"] == "badValueIdentifierOccupied"


def test_token_is_single_use(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    assert register(api, delegated(token)).status_code == 200
    again = register(api, delegated(token, subdomain="other"))
    assert again.status_code == 400
    assert error_of(again)["id"] == "inviteTokenUsageLimitReached"
    assert "other.onezone.test." not in a_records(api)


def test_occupied_subdomain_leaves_the_new_token_usable(api: Api, alice: str) -> None:
    assert register(api, delegated(api.registration_token("alice"))).status_code == 200
    token = api.registration_token("alice")
    taken = register(api, delegated(token, opWorkerIpAddresses=["192.0.2.66"]))
    assert taken.status_code == 400
    assert error_of(taken) == {
        "id": "badValueIdentifierOccupied",
        "description": 'Bad value: provided identifier ("subdomain") is already occupied.',
        "details": {"key": "subdomain"},
    }
    assert a_records(api)["krakow.onezone.test."] == ["192.0.2.1", "192.0.2.2"]
    assert usage(token) == 0
    assert register(api, delegated(token, subdomain="warsaw")).status_code == 200


@pytest.mark.parametrize("label", ["ns", "ns1", "ns42"])
def test_reserved_subdomains(api: Api, alice: str, label: str) -> None:
    response = register(api, delegated(api.registration_token("alice"), subdomain=label))
    assert (response.status_code, error_of(response)["id"]) == (400, "badValueIdentifierOccupied")


def test_delegation_not_supported_comes_first(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "false")
    context.reset()
    response = register(api, {"subdomainDelegation": "true"})
    assert error_of(response)["id"] == "subdomainDelegationNotSupported"
    token = api.registration_token("alice")
    own = register(api, SEED_BODY % token)
    assert own.status_code == 200


def test_order_of_checks(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    assert register(api, {}).json_body["error"]["details"] == {"key": "adminEmail"}
    missing_then_range = {"token": token, "name": "Pp", "subdomainDelegation": False, "latitude": 100}
    assert error_of(register(api, missing_then_range))["details"]["key"] == "adminEmail"
    range_then_token = {**delegated("garbage"), "latitude": 100}
    assert error_of(register(api, range_then_token))["id"] == "badValueNotInRange"
    assert register(api, delegated(token)).status_code == 200
    token_then_subdomain = delegated(token)  # used token and occupied subdomain: the token speaks
    assert error_of(register(api, token_then_subdomain))["id"] == "inviteTokenUsageLimitReached"


def set_token(token: str, **changes: Any) -> None:
    ctx = context.current()
    op = token_store.TABLE.update_op(ctx, identifier_of(token).id, changes)["Update"]
    ctx.aws.dynamodb.update_item(**op)


@pytest.mark.parametrize(
    ("mangle", "error_id"),
    [
        (lambda t: forged(t), "tokenInvalid"),
        (lambda t: resigned(t, [f"time < {int(time.time()) - 5}"]), "tokenCaveatUnverified"),
        (lambda t: resigned(t, ["ip = 192.0.2.1"]), "tokenCaveatUnverified"),  # not from there
        (lambda t: resigned(t, ["ip == 192.0.2.1"]), "tokenCaveatUnknown"),
    ],
)
def test_token_verification_errors(api: Api, alice: str, mangle: Any, error_id: str) -> None:
    token = api.registration_token("alice")
    response = register(api, delegated(mangle(token)))
    assert (response.status_code, error_of(response)["id"]) == (400, error_id)
    assert usage(token) == 0
    nothing_registered(api)


@pytest.mark.parametrize(("value", "error_id"), [("garbage", "badToken"), ("M" * (1024 * 1024 + 1), "tokenTooLarge")])
def test_unparseable_tokens(api: Api, value: str, error_id: str) -> None:
    response = register(api, delegated(value))
    error = error_of(response)
    assert (error["id"], error["details"]["key"], error["details"]["tokenError"]["id"]) == (
        "badValueToken",
        "token",
        error_id,
    )


def test_empty_token(api: Api) -> None:
    assert error_of(register(api, delegated("")))["id"] == "badValueEmpty"


def test_revoked_token(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    set_token(token, revoked=True)
    assert error_of(register(api, delegated(token)))["id"] == "tokenRevoked"


def test_access_token_is_not_an_invite(api: Api, alice: str) -> None:
    error = error_of(register(api, delegated(access_token(alice))))
    assert error["id"] == "notAnInviteToken"
    assert error["details"] == {"expectedInviteType": "registerOneprovider", "received": {"accessToken": {}}}


def test_admin_user_gone(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    boto3.client("dynamodb").delete_item(TableName=api.env["USERS_TABLE"], Key={"userId": {"S": alice}})
    assert error_of(register(api, delegated(token)))["id"] == "tokenSubjectInvalid"  # alice issued it
    nothing_registered(api)


def test_restricted_policy_rechecks_the_issuer(api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inviter = api.create_user("inviter", ("oz_providers_invite",))
    api.set_policy(monkeypatch, "restricted")
    token = api.registration_token("inviter")
    api.call(
        "PATCH",
        f"/users/{inviter}/privileges",
        body={"revoke": ["oz_providers_invite"]},
        headers=api.basic("admin", USER_PASSWORD),
    )
    assert error_of(register(api, delegated(token)))["id"] == "inviteTokenSubjectNotAuthorized"
    assert usage(token) == 0
    nothing_registered(api)


def test_restricted_policy_with_the_privilege_registers(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_user("inviter", ("oz_providers_invite",))
    api.set_policy(monkeypatch, "restricted")
    assert register(api, delegated(api.registration_token("inviter"))).status_code == 200


# ---- all or nothing -------------------------------------------------------------------------


def fail_call(api: Api, service: str, operation: str, code: str) -> list[str]:
    """Make every `operation` call of the app's `service` client fail with `code`; return a log."""
    client = getattr(context.current().aws, service)
    seen: list[str] = []

    def failing(**_kwargs: Any) -> None:
        seen.append(operation)
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", failing)
    return seen


@pytest.mark.parametrize(
    ("code", "status", "error_id"),
    [("ThrottlingException", 503, "temporaryFailure"), ("ValidationException", 500, "internalServerError")],
)
def test_failed_transaction_leaves_no_trace(api: Api, alice: str, code: str, status: int, error_id: str) -> None:
    token = api.registration_token("alice")
    seen = fail_call(api, "dynamodb", "TransactWriteItems", code)
    response = register(api, delegated(token, oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000))
    assert (response.status_code, error_of(response)["id"]) == (status, error_id)
    assert seen
    if status == 503:
        assert response.headers["Retry-After"] == "1"
    else:
        assert error_of(response)["details"]["reference"]
    nothing_registered(api)
    assert usage(token) == 0

    context.reset()  # a new container: clients without the injected failure
    assert register(api, delegated(token)).status_code == 200


def test_failed_dns_change_leaves_no_trace(api: Api, alice: str) -> None:
    token = api.registration_token("alice")
    fail_call(api, "route53", "ChangeResourceRecordSets", "PriorRequestNotComplete")
    response = register(api, delegated(token))
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    nothing_registered(api)
    assert usage(token) == 0


def test_token_used_concurrently_loses_at_commit(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    real_get = token_store.TABLE.get

    def stale_read(ctx: Any, token_id: str) -> Any:
        record = real_get(ctx, token_id)
        set_token(token, usageCount=1)  # another registration used it right after our read
        return record

    monkeypatch.setattr(token_store.TABLE, "get", stale_read)
    response = register(api, delegated(token))
    assert error_of(response)["id"] == "inviteTokenUsageLimitReached"
    nothing_registered(api)


def test_admin_deleted_before_commit(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token = api.registration_token("alice")
    real_get = user_store.get

    def stale_read(ctx: Any, user_id: str) -> Any:
        user = real_get(ctx, user_id)
        boto3.client("dynamodb").delete_item(TableName=api.env["USERS_TABLE"], Key={"userId": {"S": alice}})
        return user

    monkeypatch.setattr(user_store, "get", stale_read)
    assert error_of(register(api, delegated(token)))["id"] == "inviteTokenTargetIdInvalid"
    nothing_registered(api)


@pytest.mark.parametrize(
    ("field", "value", "error_id"),
    [
        ("latitude", 10**400, "badValueFloat"),
        ("opWorkerPort", 10**400, "badValueInteger"),
        ("longitude", "1e400", "badValueFloat"),
        ("opWorkerPort", 443.5, "badValueInteger"),
    ],
)
def test_numbers_beyond_floats_are_bad_values_not_500s(api: Api, field: str, value: Any, error_id: str) -> None:
    response = register(api, delegated("t", **{field: value}))
    assert (response.status_code, error_of(response)["id"]) == (400, error_id)


def test_issuer_other_than_admin_is_rechecked_at_commit(api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invite naming another admin user: the issuer's privilege is a separate transaction
    condition, which a revocation between the checks and the commit trips."""
    bob = api.create_user("bob")
    api.set_policy(monkeypatch, "restricted")
    created = api.call(
        "POST",
        "/user/tokens/named",
        headers=api.basic("admin", USER_PASSWORD),
        body={"name": "for-bob", "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": bob}}},
    )
    assert created.status_code == 201, created.body
    token = created.json_body["token"]
    real_get = user_store.get

    def revoke_after_read(ctx: Any, user_id: str) -> Any:
        user = real_get(ctx, user_id)
        if user_id == admin:
            op = user_store.TABLE.update_op(ctx, admin, {"privileges": []})["Update"]
            ctx.aws.dynamodb.update_item(**op)
        return user

    monkeypatch.setattr(user_store, "get", revoke_after_read)
    response = register(api, delegated(token))
    assert error_of(response)["id"] == "inviteTokenSubjectNotAuthorized"
    nothing_registered(api)


def test_invite_for_another_admin_makes_them_the_cluster_member(api: Api, admin: str) -> None:
    bob = api.create_user("bob")
    created = api.call(
        "POST",
        "/user/tokens/named",
        headers=api.basic("admin", USER_PASSWORD),
        body={"name": "for-bob", "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": bob}}},
    )
    response = register(api, delegated(created.json_body["token"]))
    assert response.status_code == 200, response.body
    assert response.json_body["adminUserId"] == bob
    assert user_store.get(context.current(), bob).clusters == [response.json_body["providerId"]]
    assert user_store.get(context.current(), admin).clusters == []


def addresses(count: int) -> list[str]:
    return [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(count)]


def test_too_many_addresses_are_refused_up_front(api: Api, alice: str) -> None:
    """3,000 worker addresses are more than one Route 53 change batch takes (1,000 values, an
    UPSERT counting twice): refused before the token is used or the subdomain reserved, so the
    same token and subdomain then register with a list within the limit (100)."""
    token = api.registration_token("alice")
    for key in ("opWorkerIpAddresses", "ipList", "oneS3IpAddresses"):
        body = delegated(token, **{key: addresses(3000)})
        if key == "ipList":
            del body["opWorkerIpAddresses"]
        if key == "oneS3IpAddresses":
            body["oneS3Port"] = 9000
        refused = api.call("POST", "/providers", body)
        error = error_of(refused)
        assert (refused.status_code, error["id"], error["details"]["key"]) == (400, "badData", key)
        assert error["description"] == f'Bad value provided for "{key}": at most 100 addresses.'
    assert usage(token) == 0
    assert a_records(api) == {}
    body = delegated(token, opWorkerIpAddresses=addresses(100), oneS3IpAddresses=addresses(100), oneS3Port=9000)
    registered = api.call("POST", "/providers", body)
    assert registered.status_code == 200, registered.body
    assert len(a_records(api)["krakow.onezone.test."]) == 100
    headers = {"X-Auth-Token": registered.json_body["providerRootToken"]}
    change = {"subdomainDelegation": True, "subdomain": "krakow", "opWorkerIpAddresses": addresses(101)}
    refused = api.call("PATCH", "/provider/domain_config", change, headers=headers)
    assert (refused.status_code, error_of(refused)["details"]["key"]) == (400, "opWorkerIpAddresses")
    assert len(a_records(api)["krakow.onezone.test."]) == 100
    # The largest change there is, moving both full records to another name, fits in one batch.
    change.update(subdomain="krakow2", opWorkerIpAddresses=addresses(100))
    assert api.call("PATCH", "/provider/domain_config", change, headers=headers).status_code == 204
    assert [len(values) for values in a_records(api).values()] == [100, 100]
    # Duplicates collapse first: a long list of one address is no long list.
    change["opWorkerIpAddresses"] = ["10.0.0.1"] * 3000
    assert api.call("PATCH", "/provider/domain_config", change, headers=headers).status_code == 204
    assert a_records(api)["krakow2.onezone.test."] == ["10.0.0.1"]
