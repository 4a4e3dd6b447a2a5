"""After registration: the provider's own endpoints, admins' views, clusters, /configuration."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import context
from chalicelib.store import users as user_store
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.test_registration import a_records, delegated, items, register


@pytest.fixture
def provider(api: Api) -> dict[str, Any]:
    """A provider registered by alice with subdomain krakow; its ids and root-token header."""
    api.create_user("alice")
    response = register(api, delegated(api.registration_token("alice")))
    assert response.status_code == 200, response.body
    body = response.json_body
    return {**body, "auth": {"X-Auth-Token": body["providerRootToken"]}}


def alice(api: Api) -> dict[str, str]:
    return api.basic("alice", USER_PASSWORD)


def fail(service: str, operation: str, code: str = "ValidationException") -> None:
    client = getattr(context.current().aws, service)

    def refuse(**_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", refuse)


def state(api: Api) -> tuple[Any, ...]:
    """Everything a DNS-changing operation may touch."""
    return (
        a_records(api),
        sorted(str(i) for i in items(api, "PROVIDERS_TABLE")),
        sorted(str(i) for i in items(api, "CLUSTERS_TABLE")),
        sorted(str(i) for i in items(api, "IDENTIFIERS_TABLE")),
        sorted(str(i) for i in items(api, "TOKENS_TABLE")),
        sorted(str(i) for i in items(api, "USERS_TABLE")),
    )


# ---- GET/PATCH /provider ------------------------------------------------------------------


def test_provider_reads_itself(api: Api, provider: dict[str, Any]) -> None:
    shown = api.call("GET", "/provider", headers=provider["auth"]).json_body
    assert isinstance(shown.pop("creationTime"), int)
    assert shown == {
        "providerId": provider["providerId"],
        "clusterId": provider["providerId"],
        "name": "Krakow DC",
        "domain": "krakow.onezone.test",
        "latitude": 0.0,
        "longitude": 0.0,
        "online": False,
    }
    bearer = api.call("GET", "/provider", headers={"Authorization": f"Bearer {provider['providerRootToken']}"})
    assert bearer.json_body["providerId"] == provider["providerId"]


@pytest.mark.parametrize(
    ("headers", "status", "error_id"),
    [({}, 401, "unauthorized"), ({"X-Auth-Token": "garbage"}, 401, "unauthorized")],
)
def test_provider_endpoints_need_a_provider_token(api: Api, headers: dict, status: int, error_id: str) -> None:
    for method, path in [
        ("GET", "/provider"),
        ("PATCH", "/provider"),
        ("DELETE", "/provider"),
        ("GET", "/provider/domain_config"),
        ("PATCH", "/provider/domain_config"),
    ]:
        response = api.call(method, path, body={"name": "xx"}, headers=headers)
        assert (response.status_code, error_of(response)["id"]) == (status, error_id), (method, path)


def test_users_are_not_providers_and_providers_not_users(api: Api, provider: dict[str, Any]) -> None:
    as_user = api.call("GET", "/provider", headers=alice(api))
    assert (as_user.status_code, error_of(as_user)["id"]) == (403, "forbidden")
    as_provider = api.call("GET", "/user", headers=provider["auth"])  # no user of the provider's id
    assert (as_provider.status_code, error_of(as_provider)["id"]) == (404, "notFound")


def test_patch_provider(api: Api, provider: dict[str, Any]) -> None:
    changed = api.call(
        "PATCH", "/provider", headers=provider["auth"], body={"name": "Cracow", "latitude": "50.06", "longitude": 19.9}
    )
    assert changed.status_code == 204
    me = api.call("GET", "/provider", headers=provider["auth"]).json_body
    assert (me["name"], me["latitude"], me["longitude"]) == ("Cracow", 50.06, 19.9)


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        ({}, "missingAtLeastOneValue"),
        ({"name": "x"}, "badValueName"),
        ({"latitude": 91}, "badValueNotInRange"),
        ({"adminEmail": "nope"}, "badValueEmail"),
    ],
)
def test_patch_provider_validation(api: Api, provider: dict[str, Any], body: dict, error_id: str) -> None:
    response = api.call("PATCH", "/provider", headers=provider["auth"], body=body)
    assert (response.status_code, error_of(response)["id"]) == (400, error_id)


# ---- domain config ------------------------------------------------------------------------


def test_domain_config(api: Api, provider: dict[str, Any]) -> None:
    config = api.call("GET", "/provider/domain_config", headers=provider["auth"]).json_body
    assert config == {
        "subdomainDelegation": True,
        "domain": "krakow.onezone.test",
        "subdomain": "krakow",
        "ipList": ["192.0.2.1", "192.0.2.2"],
    }


def patch_domain(api: Api, provider: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.call("PATCH", "/provider/domain_config", headers=provider["auth"], body=body)


def claims(api: Api) -> list[str]:
    return sorted(i["identifier"]["S"] for i in items(api, "IDENTIFIERS_TABLE") if "subdomain:" in i["identifier"]["S"])


def test_changing_ips_updates_the_record(api: Api, provider: dict[str, Any]) -> None:
    response = patch_domain(
        api, provider, {"subdomainDelegation": True, "subdomain": "krakow", "ipList": ["192.0.2.9"]}
    )
    assert response.status_code == 204
    assert a_records(api) == {"krakow.onezone.test.": ["192.0.2.9"]}
    assert claims(api) == ["subdomain:krakow"]


def test_moving_to_another_subdomain_moves_record_and_claim(api: Api, provider: dict[str, Any]) -> None:
    body = {"subdomainDelegation": True, "subdomain": "warsaw", "opWorkerIpAddresses": ["192.0.2.5"]}
    assert patch_domain(api, provider, body).status_code == 204
    assert a_records(api) == {"warsaw.onezone.test.": ["192.0.2.5"]}
    assert claims(api) == ["subdomain:warsaw"]
    assert api.call("GET", "/provider", headers=provider["auth"]).json_body["domain"] == "warsaw.onezone.test"
    # the old name is free again
    assert register(api, delegated(api.registration_token("alice"), subdomain="krakow")).status_code == 200


def test_switching_to_own_domain_and_back(api: Api, provider: dict[str, Any]) -> None:
    assert patch_domain(api, provider, {"subdomainDelegation": False, "domain": "dc.example.org"}).status_code == 204
    assert (a_records(api), claims(api)) == ({}, [])
    config = api.call("GET", "/provider/domain_config", headers=provider["auth"]).json_body
    assert (config["subdomainDelegation"], config["domain"], config.get("subdomain")) == (False, "dc.example.org", None)
    back = {"subdomainDelegation": True, "subdomain": "krakow", "ipList": ["192.0.2.7"]}
    assert patch_domain(api, provider, back).status_code == 204
    assert (a_records(api), claims(api)) == ({"krakow.onezone.test.": ["192.0.2.7"]}, ["subdomain:krakow"])


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        ({}, "missingRequiredValue"),
        ({"subdomainDelegation": True, "ipList": ["192.0.2.1"]}, "missingRequiredValue"),
        ({"subdomainDelegation": False}, "missingRequiredValue"),
        ({"subdomainDelegation": True, "subdomain": "ns1", "ipList": []}, "badValueIdentifierOccupied"),
        ({"subdomainDelegation": True, "subdomain": "a.b", "ipList": []}, "badValueSubdomain"),
        ({"subdomainDelegation": True, "subdomain": "x", "ipList": ["999.1.1.1"]}, "badValueListOfIPv4Addresses"),
    ],
)
def test_domain_config_validation(api: Api, provider: dict[str, Any], body: dict, error_id: str) -> None:
    before = state(api)
    response = patch_domain(api, provider, body)
    assert (response.status_code, error_of(response)["id"]) == (400, error_id)
    assert state(api) == before


def test_taking_an_occupied_subdomain(api: Api, provider: dict[str, Any]) -> None:
    other = register(api, delegated(api.registration_token("alice"), subdomain="warsaw"))
    assert other.status_code == 200
    before = state(api)
    response = patch_domain(
        api, provider, {"subdomainDelegation": True, "subdomain": "warsaw", "ipList": ["192.0.2.3"]}
    )
    assert error_of(response)["id"] == "badValueIdentifierOccupied"
    assert state(api) == before


def test_delegation_switched_off_in_this_onezone(
    api: Api, provider: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "false")
    context.reset()
    response = patch_domain(api, provider, {"subdomainDelegation": "true"})
    assert error_of(response)["id"] == "subdomainDelegationNotSupported"


@pytest.mark.parametrize(
    ("service", "operation"), [("dynamodb", "TransactWriteItems"), ("route53", "ChangeResourceRecordSets")]
)
@pytest.mark.parametrize(
    "body",
    [
        {"subdomainDelegation": True, "subdomain": "warsaw", "ipList": ["192.0.2.5"]},
        {"subdomainDelegation": True, "subdomain": "krakow", "ipList": ["192.0.2.5"]},
        {"subdomainDelegation": False, "domain": "dc.example.org"},
    ],
)
def test_domain_config_is_all_or_nothing(
    api: Api, provider: dict[str, Any], service: str, operation: str, body: dict
) -> None:
    before = state(api)
    fail(service, operation)
    response = patch_domain(api, provider, body)
    assert (response.status_code, error_of(response)["id"]) == (500, "internalServerError")
    assert state(api) == before


# ---- deregistration -----------------------------------------------------------------------


def test_deregistration_removes_everything(api: Api, provider: dict[str, Any]) -> None:
    token_count = len(items(api, "TOKENS_TABLE"))
    assert api.call("DELETE", "/provider", headers=provider["auth"]).status_code == 204
    assert (a_records(api), claims(api)) == ({}, [])
    assert items(api, "PROVIDERS_TABLE") == []
    assert items(api, "CLUSTERS_TABLE") == []
    assert len(items(api, "TOKENS_TABLE")) == token_count - 1
    assert user_store.get(context.current(), provider["adminUserId"]).clusters == []
    again = api.call("GET", "/provider", headers=provider["auth"])
    assert error_of(again)["details"]["authError"]["id"] == "tokenInvalid"
    assert register(api, delegated(api.registration_token("alice"))).status_code == 200


@pytest.mark.parametrize(
    ("service", "operation"), [("dynamodb", "TransactWriteItems"), ("route53", "ChangeResourceRecordSets")]
)
def test_deregistration_is_all_or_nothing(api: Api, provider: dict[str, Any], service: str, operation: str) -> None:
    before = state(api)
    fail(service, operation)
    response = api.call("DELETE", "/provider", headers=provider["auth"])
    assert response.status_code == 500
    assert state(api) == before
    context.reset()
    assert api.call("GET", "/provider", headers=provider["auth"]).status_code == 200


# ---- admins: /providers/{id} --------------------------------------------------------------


def test_get_provider_by_members_and_admins(api: Api, admin: str, provider: dict[str, Any]) -> None:
    path = f"/providers/{provider['providerId']}"
    assert api.call("GET", path, headers=alice(api)).json_body["name"] == "Krakow DC"
    assert api.call("GET", path, headers=api.basic("admin", USER_PASSWORD)).status_code == 200
    api.create_user("eve")
    stranger = api.call("GET", path, headers=api.basic("eve", USER_PASSWORD))
    assert (stranger.status_code, error_of(stranger)["id"]) == (403, "forbidden")
    missing = api.call("GET", "/providers/nope", headers=api.basic("admin", USER_PASSWORD))
    assert (missing.status_code, error_of(missing)["id"]) == (404, "notFound")


def test_admin_deregisters_a_provider(api: Api, admin: str, provider: dict[str, Any]) -> None:
    path = f"/providers/{provider['providerId']}"
    denied = api.call("DELETE", path, headers=alice(api))
    assert (denied.status_code, error_of(denied)["details"]["hint"]) == (
        403,
        "requires the Onezone privilege oz_providers_delete",
    )
    assert api.call("DELETE", path, headers=api.basic("admin", USER_PASSWORD)).status_code == 204
    assert a_records(api) == {}
    assert api.call("DELETE", path, headers=api.basic("admin", USER_PASSWORD)).status_code == 404


# ---- clusters and configuration -----------------------------------------------------------


def test_user_clusters_and_cluster_details(api: Api, provider: dict[str, Any]) -> None:
    assert api.call("GET", "/user/clusters", headers=alice(api)).json_body == {"clusters": [provider["providerId"]]}
    details = api.call("GET", f"/clusters/{provider['providerId']}", headers=alice(api)).json_body
    assert (details["clusterId"], details["type"], details["serviceId"], details["creatorId"]) == (
        provider["providerId"],
        "oneprovider",
        provider["providerId"],
        provider["adminUserId"],
    )
    api.create_user("eve")
    stranger = api.call("GET", f"/clusters/{provider['providerId']}", headers=api.basic("eve", USER_PASSWORD))
    assert stranger.status_code == 403
    assert api.call("GET", "/user/clusters", headers=api.basic("eve", USER_PASSWORD)).json_body == {"clusters": []}


def test_cluster_of_nobody_is_404_for_admins(api: Api, admin: str) -> None:
    response = api.call("GET", "/clusters/nope", headers=api.basic("admin", USER_PASSWORD))
    assert (response.status_code, error_of(response)["id"]) == (404, "notFound")
