"""GET /user/clusters, GET /clusters/{id} and GET /configuration, through the HTTP surface."""

from __future__ import annotations

import json

import pytest

from chalicelib import context
from tests.conftest import USER_PASSWORD, Api, error_of, refused
from tests.provider_helpers import register_provider
from tests.token_helpers import access_token as user_access_token
from tests.token_helpers import forged


def test_user_clusters_follow_registrations_and_deregistrations(api: Api) -> None:
    alice = api.create_user("alice")
    api.create_user("bob")
    auth = api.basic("alice", USER_PASSWORD)
    assert api.call("GET", "/user/clusters", headers=auth).json_body == {"clusters": []}
    first = register_provider(api, subdomain="krk")
    second = register_provider(api, subdomain=None)
    for headers in (auth, {"X-Auth-Token": user_access_token(alice)}):
        response = api.call("GET", "/user/clusters", headers=headers)
        assert response.status_code == 200
        assert sorted(response.json_body["clusters"]) == sorted([first.id, second.id])
    # Somebody else's registrations are not mine.
    assert api.call("GET", "/user/clusters", headers=api.basic("bob", USER_PASSWORD)).json_body == {"clusters": []}
    assert api.call("DELETE", "/provider", headers=first.headers).status_code == 204
    assert api.call("GET", "/user/clusters", headers=auth).json_body == {"clusters": [second.id]}


def test_cluster_details_for_members_and_viewers(api: Api) -> None:
    alice = api.create_user("alice")
    api.create_user("bob")
    api.create_user("viewer", ("oz_clusters_view",))
    provider = register_provider(api)
    path = f"/clusters/{provider.id}"
    member = api.call("GET", path, headers=api.basic("alice", USER_PASSWORD))
    assert member.status_code == 200, member.body
    details = member.json_body
    assert isinstance(details.pop("creationTime"), int)
    unknown = {"release": "18.02.*", "build": "unknown", "gui": "empty"}  # Onezone's until Onepanel reports
    assert details == {
        "clusterId": provider.id,
        "type": "oneprovider",
        "workerVersion": unknown,
        "onepanelVersion": unknown,
        "onepanelProxy": True,
        "creator": {"type": "user", "id": alice},
        "serviceId": provider.id,
        "creatorId": alice,
    }
    viewer = api.call("GET", path, headers=api.basic("viewer", USER_PASSWORD))
    assert viewer.json_body == member.json_body
    # The provider sees its own cluster (Onepanel reads it right after registering).
    assert api.call("GET", path, headers=provider.headers).json_body == member.json_body

    # Non-members learn nothing, not even whether the cluster exists.
    for target in (path, "/clusters/no-such-cluster"):
        denied = api.call("GET", target, headers=api.basic("bob", USER_PASSWORD))
        assert denied.status_code == 403
        assert "oz_clusters_view" in error_of(denied)["details"]["hint"]
    missing = api.call("GET", "/clusters/no-such-cluster", headers=api.basic("viewer", USER_PASSWORD))
    assert (missing.status_code, error_of(missing)["id"]) == (404, "notFound")

    # Once deregistered, the cluster is gone for its former members too.
    assert api.call("DELETE", "/provider", headers=provider.headers).status_code == 204
    assert api.call("GET", path, headers=api.basic("alice", USER_PASSWORD)).status_code == 403
    assert api.call("GET", path, headers=api.basic("viewer", USER_PASSWORD)).status_code == 404


def test_invited_admin_is_the_member_not_the_issuer(api: Api, admin: str) -> None:
    bob = api.create_user("bob")
    created = api.call(
        "POST",
        "/user/tokens/named",
        headers=api.basic("admin", USER_PASSWORD),
        body={"name": "for-bob", "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": bob}}},
    )
    provider = register_provider(api, token=created.json_body["token"])
    assert api.call("GET", "/user/clusters", headers=api.basic("bob", USER_PASSWORD)).json_body == {
        "clusters": [provider.id]
    }
    assert api.call("GET", "/user/clusters", headers=api.basic("admin", USER_PASSWORD)).json_body == {"clusters": []}
    details = api.call("GET", f"/clusters/{provider.id}", headers=api.basic("bob", USER_PASSWORD)).json_body
    assert details["creatorId"] == bob


def test_cluster_endpoints_reject_missing_bad_and_provider_credentials(api: Api) -> None:
    alice = api.create_user("alice")
    provider = register_provider(api)
    other = register_provider(api, subdomain="gdn")
    cases: list[tuple[dict[str, str], int, str | None]] = [
        ({}, 401, None),
        ({"X-Auth-Token": "garbage"}, 401, "badToken"),
        ({"X-Auth-Token": forged(user_access_token(alice))}, 401, "tokenInvalid"),
        (api.basic("alice", "wrong"), 401, "badBasicCredentials"),
        (other.headers, 403, None),
        ({"Authorization": f"Bearer {other.root_token}"}, 403, None),
    ]
    for path in ("/user/clusters", f"/clusters/{provider.id}"):
        for headers, status, auth_error in cases:
            response = api.call("GET", path, headers=headers)
            case = f"GET {path} with {headers}"
            if path == "/user/clusters" and status == 403:  # the path names the caller's own user
                assert (response.status_code, error_of(response)["id"]) == (404, "notFound"), case
                continue
            refused(response, status, auth_error, case)


COMPATIBLE = [*(f"20.02.{patch}" for patch in range(1, 21)), "21.02.1", "21.02.2", "21.02.3", "21.02.4"]


def test_configuration_is_public(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "name": None,
        "version": "21.02.4",
        "build": "onezone-registry",
        "domain": "onezone.test",
        "subdomainDelegationSupported": True,
        "supportedIdPs": [],
        "compatibilityRegistryRevision": 2024012700,
        "compatibleOneproviderVersions": COMPATIBLE,
        "openDataXrootdServerDomain": None,
        "bagitUploaderWorkflowSchemaId": None,
        "availableSpaceTags": {"general": [], "domains": []},
        "providerRegistrationPolicy": "open",
    }
    response = api.call("GET", "/configuration")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json_body == expected
    # Credentials, even unusable ones, change nothing on a public endpoint.
    assert api.call("GET", "/configuration", headers={"X-Auth-Token": "garbage"}).json_body == expected
    # Onezone's legacy path, outside the API prefix, says the same.
    legacy = api.client.http.get("/configuration")
    assert (legacy.status_code, json.loads(legacy.body)) == (200, expected)

    for name, value in {
        "REGISTRATION_POLICY": "restricted",
        "SUBDOMAIN_DELEGATION_SUPPORTED": "false",
        "ZONE_DOMAIN": "Zone.Example.ORG.",
        "ONEZONE_NAME": "Example Zone",
        "ONEZONE_VERSION": "21.02.8",
        "ONEZONE_BUILD": "42-abc",
        "COMPATIBLE_ONEPROVIDER_VERSIONS": "21.02.7, 21.02.8",
        "COMPATIBILITY_REGISTRY_REVISION": "2025010100",
    }.items():
        monkeypatch.setenv(name, value)
    context.reset()
    assert api.call("GET", "/configuration").json_body == {
        **expected,
        "name": "Example Zone",
        "version": "21.02.8",
        "build": "42-abc",
        "domain": "zone.example.org",
        "subdomainDelegationSupported": False,
        "compatibilityRegistryRevision": 2025010100,
        "compatibleOneproviderVersions": ["21.02.7", "21.02.8"],
        "providerRegistrationPolicy": "restricted",
    }


def test_configuration_is_read_only(api: Api) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = api.call(method, "/configuration", body={})
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "GET", method
        assert error_of(response)["id"] == "notSupported", method
