"""A registered provider's life: reading and changing itself, its domain configuration, listing,
and deregistration (by itself or by an admin), all or nothing, through the HTTP surface."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib import context, paging
from chalicelib.dns import names, records, route53, transitions
from chalicelib.errors import OnedataError
from chalicelib.providers import deregistration, domain_config
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store import users as user_store
from tests.conftest import USER_PASSWORD, Api, error_of, refused
from tests.provider_helpers import (
    WORKERS,
    Registered,
    a_records,
    claims,
    client_error,
    inject,
    recover,
    register_provider,
    scan,
    snapshot,
    strict_route53,
    zone_a_records,
)
from tests.token_helpers import access_token as user_access_token
from tests.token_helpers import forged, identifier_of


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


@pytest.fixture
def krk(api: Api, alice: str) -> Registered:
    return register_provider(api, subdomain="krk", oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)


# ---- GET / PATCH /provider ------------------------------------------------------------------


def test_provider_reads_itself_with_every_token_header(api: Api, krk: Registered) -> None:
    created_at = provider_store.TABLE.get(context.current(), krk.id).createdAt
    expected = {
        "providerId": krk.id,
        "clusterId": krk.id,
        "creationTime": created_at,
        "name": "Krakow DC",
        "domain": "krk.onezone.test",
        "latitude": 0.0,
        "longitude": 0.0,
        "online": False,
    }
    with_service = {"X-Auth-Token": f"opw-{krk.root_token}"}  # as op-worker presents it
    for headers in (
        krk.headers,
        {"Authorization": f"Bearer {krk.root_token}"},
        {"Macaroon": krk.root_token},
        with_service,
    ):
        response = api.call("GET", "/provider", headers=headers)
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"] == "application/json"
        assert response.json_body == expected
    assert "adminEmail" not in api.call("GET", "/provider", headers=krk.headers).json_body


def test_patch_provider_changes_only_what_is_sent(api: Api, krk: Registered) -> None:
    body = {"name": "Krakow DC 2", "adminEmail": "new@example.com", "latitude": 50.06, "longitude": "19.94"}
    assert api.call("PATCH", "/provider", body=body, headers=krk.headers).status_code == 204
    shown = api.call("GET", "/provider", headers=krk.headers).json_body
    assert (shown["name"], shown["latitude"], shown["longitude"]) == ("Krakow DC 2", 50.06, 19.94)
    stored = provider_store.TABLE.get(context.current(), krk.id)
    assert stored.adminEmail == "new@example.com"

    # A null counts as absent; the other fields and everything else stay as they were, but for
    # the GraphSync revision, which every change raises.
    response = api.call("PATCH", "/provider", body={"name": None, "latitude": -12.5}, headers=krk.headers)
    assert response.status_code == 204
    after = provider_store.TABLE.get(context.current(), krk.id)
    assert after == stored.model_copy(update={"latitude": -12.5, "revision": stored.revision + 1})


PATCH_PROVIDER_ERRORS: list[tuple[Any, str, dict[str, Any] | None]] = [
    ({}, "missingAtLeastOneValue", {"keys": ["adminEmail", "latitude", "longitude", "name"]}),
    ({"name": None, "color": "red"}, "missingAtLeastOneValue", None),
    ({"latitude": 90.5}, "badValueNotInRange", {"key": "latitude", "low": -90.0, "high": 90.0}),
    ({"longitude": -180.01}, "badValueNotInRange", {"key": "longitude", "low": -180.0, "high": 180.0}),
    ({"latitude": "north"}, "badValueFloat", {"key": "latitude"}),
    ({"longitude": True}, "badValueFloat", {"key": "longitude"}),
    ({"name": "x"}, "badValueName", None),
    ({"name": 7}, "badValueString", {"key": "name"}),
    ({"adminEmail": "not-an-email"}, "badValueEmail", None),
    ({"adminEmail": ""}, "badValueEmpty", {"key": "adminEmail"}),
    ({"name": "Fine name", "latitude": 91}, "badValueNotInRange", {"key": "latitude", "low": -90.0, "high": 90.0}),
    ("{", "malformedData", None),
    ("[1]", "malformedData", None),
]


def test_patch_provider_validation_changes_nothing(api: Api, krk: Registered) -> None:
    before = snapshot(api)
    for body, error_id, details in PATCH_PROVIDER_ERRORS:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = api.call("PATCH", "/provider", raw=raw, headers=krk.headers)
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["id"] == error_id, body
        if details is not None:
            assert error["details"] == details, body
    assert snapshot(api) == before


PROVIDER_ENDPOINTS = [
    ("GET", "/provider", None),
    ("PATCH", "/provider", {"name": "Renamed"}),
    ("DELETE", "/provider", None),
    ("GET", "/provider/domain_config", None),
    ("PATCH", "/provider/domain_config", {"subdomainDelegation": False, "domain": "own.example.com"}),
]


def test_provider_endpoints_reject_every_other_credential(api: Api, alice: str, krk: Registered) -> None:
    """No credentials, unusable tokens, and a user's credentials: nothing happens to the provider."""
    invite = api.registration_token("alice")
    user_token = user_access_token(alice)
    before = snapshot(api)
    cases: list[tuple[dict[str, str], int, str | None]] = [
        ({}, 401, None),
        ({"X-Auth-Token": "garbage"}, 401, "badToken"),
        ({"Authorization": "Bearer garbage"}, 401, "badToken"),
        ({"Authorization": "Digest abc"}, 401, "badToken"),
        ({"X-Auth-Token": forged(krk.root_token)}, 401, "tokenInvalid"),
        ({"X-Auth-Token": invite}, 401, "notAnAccessToken"),
        (api.basic("alice", USER_PASSWORD), 403, None),
        (api.basic("alice", "wrong"), 403, None),  # Basic is never a provider's credential
        ({"X-Auth-Token": user_token}, 403, None),
    ]
    for method, path, body in PROVIDER_ENDPOINTS:
        for headers, status, auth_error in cases:
            response = api.call(method, path, body=body, headers=headers)
            case = f"{method} {path} with {headers}"
            assert response.status_code == status, case
            error = error_of(response)
            if status == 401:
                assert error["id"] == "unauthorized", case
                if auth_error is None:
                    assert "details" not in error, case
                else:
                    assert error["details"]["authError"]["id"] == auth_error, case
            else:
                assert error["id"] == "forbidden", case
                assert "provider" in error["details"]["hint"], case
    assert snapshot(api) == before


# ---- GET / PATCH /provider/domain_config ------------------------------------------------------


def test_domain_config_of_delegated_and_own_domain_providers(api: Api, krk: Registered) -> None:
    delegated = api.call("GET", "/provider/domain_config", headers=krk.headers)
    assert delegated.status_code == 200
    assert delegated.json_body == {
        "subdomainDelegation": True,
        "domain": "krk.onezone.test",
        "subdomain": "krk",
        "ipList": WORKERS,
    }
    own = register_provider(api, subdomain=None)
    assert api.call("GET", "/provider/domain_config", headers=own.headers).json_body == {
        "subdomainDelegation": False,
        "domain": "own.example.com",
        "subdomain": None,
        "ipList": [],
    }


def patch_domain(api: Api, provider: Registered, body: dict[str, Any]) -> Any:
    return api.call("PATCH", "/provider/domain_config", body=body, headers=provider.headers)


def test_moving_to_another_subdomain_moves_records_and_claim(api: Api, krk: Registered) -> None:
    other = register_provider(api, subdomain="gdn", workers=["198.51.100.1"])
    body = {"subdomainDelegation": True, "subdomain": "WAW", "opWorkerIpAddresses": ["192.0.2.7"]}
    response = patch_domain(api, krk, body)
    assert response.status_code == 204, response.body
    assert a_records(api) == {
        "waw.onezone.test.": ["192.0.2.7"],
        "s3.waw.onezone.test.": ["192.0.2.9"],
        "gdn.onezone.test.": ["198.51.100.1"],
    }
    assert claims(api) == {"waw": krk.id, "gdn": other.id}
    assert api.call("GET", "/provider/domain_config", headers=krk.headers).json_body == {
        "subdomainDelegation": True,
        "domain": "waw.onezone.test",
        "subdomain": "waw",
        "ipList": ["192.0.2.7"],
    }
    assert api.call("GET", "/provider", headers=krk.headers).json_body["domain"] == "waw.onezone.test"
    # The old label is free for anybody again.
    assert register_provider(api, subdomain="krk").id


def test_changing_ips_only_updates_the_record(api: Api, krk: Registered) -> None:
    for ips_key, given, expected in [
        ("opWorkerIpAddresses", ["192.0.2.3", "192.0.2.3", "192.0.2.4"], ["192.0.2.3", "192.0.2.4"]),
        ("ipList", ["192.0.2.5"], ["192.0.2.5"]),  # the deprecated name of the same list
    ]:
        body = {"subdomainDelegation": "true", "subdomain": "krk", ips_key: given}
        assert patch_domain(api, krk, body).status_code == 204
        assert a_records(api) == {"krk.onezone.test.": expected, "s3.krk.onezone.test.": ["192.0.2.9"]}
        assert claims(api) == {"krk": krk.id}
        config = api.call("GET", "/provider/domain_config", headers=krk.headers).json_body
        assert (config["subdomain"], config["ipList"]) == ("krk", expected)

    # The same configuration again changes nothing at all.
    before = snapshot(api)
    assert (
        patch_domain(api, krk, {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.5"]}).status_code
        == 204
    )
    assert snapshot(api) == before


def test_own_domain_and_back(api: Api, krk: Registered) -> None:
    own = {"subdomainDelegation": False, "domain": "Data.Example.org.", "subdomain": "ignored"}
    assert patch_domain(api, krk, own).status_code == 204
    assert a_records(api) == {}
    assert claims(api) == {}
    config = api.call("GET", "/provider/domain_config", headers=krk.headers).json_body
    assert (config["subdomainDelegation"], config["domain"], config["subdomain"]) == (False, "data.example.org", None)
    stored = provider_store.TABLE.get(context.current(), krk.id)
    assert (stored.subdomain, stored.domain) == (None, "data.example.org")

    # Meanwhile somebody else takes the old label: going back to it is occupied, nothing changes.
    squatter = register_provider(api, subdomain="krk", workers=["203.0.113.5"])
    before = snapshot(api)
    taken = patch_domain(api, krk, {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.1"]})
    assert (taken.status_code, error_of(taken)["id"]) == (400, "badValueIdentifierOccupied")
    assert snapshot(api) == before

    back = {"subdomainDelegation": True, "subdomain": "waw", "ipList": ["192.0.2.1"]}
    assert patch_domain(api, krk, back).status_code == 204
    assert claims(api) == {"krk": squatter.id, "waw": krk.id}
    assert a_records(api) == {
        "krk.onezone.test.": ["203.0.113.5"],
        "waw.onezone.test.": ["192.0.2.1"],
        "s3.waw.onezone.test.": ["192.0.2.9"],
    }

    # Own domain to another own domain touches no DNS.
    own_provider = register_provider(api, subdomain=None)
    dns_before = a_records(api)
    assert patch_domain(api, own_provider, {"subdomainDelegation": False, "domain": "b.example.net"}).status_code == 204
    assert api.call("GET", "/provider", headers=own_provider.headers).json_body["domain"] == "b.example.net"
    assert a_records(api) == dns_before


DOMAIN_CONFIG_ERRORS: list[tuple[Any, str, str | None]] = [
    ({}, "missingRequiredValue", "subdomainDelegation"),
    ({"subdomain": "waw", "ipList": WORKERS}, "missingRequiredValue", "subdomainDelegation"),
    ({"subdomainDelegation": True, "ipList": WORKERS}, "missingRequiredValue", "subdomain"),
    ({"subdomainDelegation": True, "subdomain": "waw"}, "missingRequiredValue", "opWorkerIpAddresses"),
    ({"subdomainDelegation": False}, "missingRequiredValue", "domain"),
    ({"subdomainDelegation": False, "subdomain": "waw"}, "missingRequiredValue", "domain"),
    ({"subdomainDelegation": "maybe"}, "badValueBoolean", "subdomainDelegation"),
    ({"subdomainDelegation": True, "subdomain": "bad_label", "ipList": WORKERS}, "badValueSubdomain", None),
    ({"subdomainDelegation": True, "subdomain": "", "ipList": WORKERS}, "badValueEmpty", "subdomain"),
    (
        {"subdomainDelegation": True, "subdomain": "waw", "ipList": ["192.0.2.300"]},
        "badValueListOfIPv4Addresses",
        "ipList",
    ),
    (
        {"subdomainDelegation": True, "subdomain": "waw", "ipList": ["192.0.2.1"], "opWorkerIpAddresses": WORKERS},
        "badData",
        "ipList",
    ),
    ({"subdomainDelegation": False, "domain": "https://x.example.com"}, "badValueDomain", None),
    ({"subdomainDelegation": True, "subdomain": "ns1", "ipList": WORKERS}, "badValueIdentifierOccupied", "subdomain"),
    ({"subdomainDelegation": True, "subdomain": "www", "ipList": WORKERS}, "badValueIdentifierOccupied", "subdomain"),
    ({"subdomainDelegation": True, "subdomain": "gdn", "ipList": WORKERS}, "badValueIdentifierOccupied", "subdomain"),
    ({"subdomainDelegation": True, "subdomain": "x" * 64, "ipList": WORKERS}, "badValueSubdomain", None),
    ("not json", "malformedData", None),
]


def test_domain_config_validation_changes_nothing(api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch) -> None:
    register_provider(api, subdomain="gdn")
    monkeypatch.setenv("RESERVED_SUBDOMAINS", "www,api")
    context.reset()
    before = snapshot(api)
    for body, error_id, key in DOMAIN_CONFIG_ERRORS:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = api.call("PATCH", "/provider/domain_config", raw=raw, headers=krk.headers)
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["id"] == error_id, body
        if key is not None:
            assert error["details"]["key"] == key, body
    assert snapshot(api) == before


def test_delegation_not_supported_comes_before_anything_else(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUBDOMAIN_DELEGATION_SUPPORTED", "false")
    context.reset()
    before = snapshot(api)
    response = patch_domain(api, krk, {"subdomainDelegation": "true", "subdomain": "ns1", "ipList": "nope"})
    assert (response.status_code, error_of(response)["id"]) == (400, "subdomainDelegationNotSupported")
    assert snapshot(api) == before
    # Leaving delegation is still allowed: it needs nothing this Onezone lacks.
    assert patch_domain(api, krk, {"subdomainDelegation": False, "domain": "own.example.com"}).status_code == 204
    assert a_records(api) == {}


def test_pending_reservations_block_until_they_expire(api: Api, krk: Registered) -> None:
    """A reservation left by a crashed request holds the label until `PENDING_SECONDS` pass."""
    ctx = context.current()
    now = int(time.time())
    assert identifiers.reserve(ctx, identifiers.SUBDOMAIN, "waw", "crashed-request", now)
    body = {"subdomainDelegation": True, "subdomain": "waw", "ipList": WORKERS}
    assert error_of(patch_domain(api, krk, body))["id"] == "badValueIdentifierOccupied"
    assert identifiers.reserve(
        ctx, identifiers.SUBDOMAIN, "gdn", "crashed-request", now - identifiers.PENDING_SECONDS - 1
    )
    body = {"subdomainDelegation": True, "subdomain": "gdn", "ipList": WORKERS}
    assert patch_domain(api, krk, body).status_code == 204
    assert claims(api) == {"waw": "crashed-request?", "gdn": krk.id}


# ---- GET /providers/{id} ----------------------------------------------------------------------


def test_get_provider_for_members_and_viewers(api: Api, alice: str, krk: Registered) -> None:
    api.create_user("viewer", ("oz_providers_view",))
    api.create_user("bob")
    expected = api.call("GET", "/provider", headers=krk.headers).json_body
    path = f"/providers/{krk.id}"
    for headers in (
        api.basic("alice", USER_PASSWORD),
        {"X-Auth-Token": user_access_token(alice)},
        api.basic("viewer", USER_PASSWORD),
    ):
        response = api.call("GET", path, headers=headers)
        assert response.status_code == 200, response.body
        assert response.json_body == expected

    # Others learn nothing, not even whether the provider exists.
    for target in (path, "/providers/no-such-provider"):
        denied = api.call("GET", target, headers=api.basic("bob", USER_PASSWORD))
        assert denied.status_code == 403
        assert "oz_providers_view" in error_of(denied)["details"]["hint"]
    missing = api.call("GET", "/providers/no-such-provider", headers=api.basic("viewer", USER_PASSWORD))
    assert (missing.status_code, error_of(missing)["id"]) == (404, "notFound")


# ---- user endpoints about providers: authentication ----------------------------------------------


# (`GET /providers/{id}` is for providers too: Onepanel reads other providers with its own.)
USER_PROVIDER_ENDPOINTS = [("GET", "/providers"), ("DELETE", "/providers/{id}")]


def test_user_provider_endpoints_reject_missing_bad_and_provider_credentials(
    api: Api, admin: str, krk: Registered
) -> None:
    admin_token = forged(user_access_token(admin))
    before = snapshot(api)
    cases: list[tuple[dict[str, str], int, str | None]] = [
        ({}, 401, None),
        ({"X-Auth-Token": "garbage"}, 401, "badToken"),
        ({"X-Auth-Token": admin_token}, 401, "tokenInvalid"),
        (api.basic("admin", "wrong"), 401, "badBasicCredentials"),
        (krk.headers, 403, None),
        ({"Authorization": f"Bearer {krk.root_token}"}, 403, None),
    ]
    for method, template in USER_PROVIDER_ENDPOINTS:
        path = template.format(id=krk.id)
        for headers, status, auth_error in cases:
            response = api.call(method, path, headers=headers)
            case = f"{method} {path} with {headers}"
            error = refused(response, status, auth_error, case)
            if status == 403:
                assert error["details"]["hint"] == "this operation is for users, not providers", case
    assert snapshot(api) == before


# ---- GET /providers -------------------------------------------------------------------------


def test_pages_hold_every_provider_exactly_once(api: Api, admin: str, alice: str) -> None:
    registered = {register_provider(api, subdomain=None).id for _ in range(5)}
    scans: list[dict[str, Any]] = []
    context.current().aws.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.Scan", lambda params, **_: scans.append(dict(params))
    )
    auth = api.basic("admin", USER_PASSWORD)
    seen: list[str] = []
    path = "/providers?limit=2"
    for _ in range(5):
        response = api.call("GET", path, headers=auth)
        assert response.status_code == 200, response.body
        page = response.json_body
        assert set(page) <= {"providers", "nextPageToken"}
        assert len(page["providers"]) <= 2
        seen += page["providers"]
        if "nextPageToken" not in page:
            break
        path = f"/providers?limit=2&page_token={page['nextPageToken']}"
    else:
        pytest.fail("paging never ended")
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == registered
    # One bounded read per page: never more than the page size, never the whole table.
    assert scans
    assert all(scan["Limit"] == 2 for scan in scans)

    everything = api.call("GET", "/providers", headers=auth).json_body
    assert set(everything["providers"]) == registered
    assert "nextPageToken" not in everything


def test_paging_continues_past_a_provider_deregistered_meanwhile(api: Api, admin: str, alice: str) -> None:
    registered = {register_provider(api, subdomain=None).id for _ in range(4)}
    auth = api.basic("admin", USER_PASSWORD)
    first = api.call("GET", "/providers?limit=2", headers=auth).json_body
    last_seen = first["providers"][-1]
    assert api.call("DELETE", f"/providers/{last_seen}", headers=auth).status_code == 204
    rest: list[str] = []
    token = first["nextPageToken"]
    while token:
        page = api.call("GET", f"/providers?limit=2&page_token={token}", headers=auth).json_body
        rest += page["providers"]
        token = page.get("nextPageToken")
    assert sorted(first["providers"] + rest) == sorted(registered)


PAGING_ERRORS: list[tuple[str, str, dict[str, Any]]] = [
    ("limit=0", "badValueNotInRange", {"key": "limit", "low": 1, "high": 1000}),
    ("limit=1001", "badValueNotInRange", {"key": "limit", "low": 1, "high": 1000}),
    ("limit=abc", "badValueInteger", {"key": "limit"}),
    ("limit=-1", "badValueInteger", {"key": "limit"}),
    ("limit=2.5", "badValueInteger", {"key": "limit"}),
    ("page_token=%25%25%25", "badData", {"key": "page_token"}),
    ("page_token=YS1i", "badData", {"key": "page_token"}),  # "a-b": not an id
    ("page_token=_w", "badData", {"key": "page_token"}),  # not UTF-8
]


def test_bad_paging_parameters(api: Api, admin: str) -> None:
    for query, error_id, details in PAGING_ERRORS:
        response = api.call("GET", f"/providers?{query}", headers=api.basic("admin", USER_PASSWORD))
        assert response.status_code == 400, query
        error = error_of(response)
        assert (error["id"], error["details"]) == (error_id, details), query


def test_listing_needs_the_privilege(api: Api, alice: str, krk: Registered) -> None:
    response = api.call("GET", "/providers", headers=api.basic("alice", USER_PASSWORD))
    assert response.status_code == 403
    assert "oz_providers_list" in error_of(response)["details"]["hint"]
    api.create_user("lister", ("oz_providers_list",))
    listed = api.call("GET", "/providers", headers=api.basic("lister", USER_PASSWORD))
    assert listed.json_body == {"providers": [krk.id]}


def test_page_tokens_are_opaque_and_round_trip() -> None:
    for provider_id in ("a", "ab", "abc", "0123456789abcdef0123456789abcdef"):
        token = paging._encode(provider_id)
        assert "=" not in token
        assert provider_id not in token
        assert paging._decode(token) == provider_id
    for bad in ("", "=", "!!", "YS1i", "_w"):
        with pytest.raises(OnedataError) as raised:
            paging._decode(bad)
        assert (raised.value.id, raised.value.details) == ("badData", {"key": "page_token"})


# ---- deregistration ----------------------------------------------------------------------------


def assert_deregistered(api: Api, provider: Registered, members: list[str]) -> None:
    """Nothing of `provider` is left: records, claim, memberships, DNS, a working root token."""
    assert provider.id not in [p["providerId"] for p in scan(api, "PROVIDERS_TABLE")]
    assert provider.id not in [c["clusterId"] for c in scan(api, "CLUSTERS_TABLE")]
    root_id = identifier_of(provider.root_token).id
    assert root_id not in [t["tokenId"] for t in scan(api, "TOKENS_TABLE")]
    assert provider.id not in [t["subjectId"] for t in scan(api, "TOKENS_TABLE")]
    assert provider.id not in claims(api).values()
    for user in scan(api, "USERS_TABLE"):
        assert provider.id not in user.get("clusters", []), user["username"]
    for user_id in members:
        assert provider.id not in user_store.get(context.current(), user_id).clusters
    response = api.call("GET", "/provider", headers=provider.headers)
    assert response.status_code == 401
    assert error_of(response)["details"]["authError"]["id"] == "tokenInvalid"


def test_provider_deregisters_itself(api: Api, alice: str, krk: Registered) -> None:
    other = register_provider(api, subdomain="gdn", workers=["198.51.100.1"])
    response = api.call("DELETE", "/provider", headers=krk.headers)
    assert response.status_code == 204
    assert response.body in (b"", "", None)
    assert_deregistered(api, krk, [alice])
    assert api.call("GET", "/user/clusters", headers=api.basic("alice", USER_PASSWORD)).json_body == {
        "clusters": [other.id]
    }
    assert a_records(api) == {"gdn.onezone.test.": ["198.51.100.1"]}
    assert claims(api) == {"gdn": other.id}
    # The other provider is untouched and still works.
    assert api.call("GET", "/provider", headers=other.headers).status_code == 200

    again = api.call("DELETE", "/provider", headers=krk.headers)
    assert error_of(again)["details"]["authError"]["id"] == "tokenInvalid"

    # The subdomain is free for a new registration, with a new token.
    successor = register_provider(api, subdomain="krk", workers=["203.0.113.1"])
    assert successor.id != krk.id
    assert claims(api)["krk"] == successor.id
    assert a_records(api)["krk.onezone.test."] == ["203.0.113.1"]


def test_own_domain_provider_deregisters(api: Api, alice: str) -> None:
    own = register_provider(api, subdomain=None)
    before_tokens = len(scan(api, "TOKENS_TABLE"))
    assert api.call("DELETE", "/provider", headers=own.headers).status_code == 204
    assert_deregistered(api, own, [alice])
    assert len(scan(api, "TOKENS_TABLE")) == before_tokens - 1  # the root token; the used invite stays
    assert scan(api, "PROVIDERS_TABLE") == scan(api, "CLUSTERS_TABLE") == []


def test_deregistration_removes_the_invited_admins_membership(api: Api, admin: str) -> None:
    bob = api.create_user("bob")
    created = api.call(
        "POST",
        "/user/tokens/named",
        headers=api.basic("admin", USER_PASSWORD),
        body={"name": "for-bob", "type": {"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": bob}}},
    )
    provider = register_provider(api, subdomain="krk", token=created.json_body["token"])
    assert user_store.get(context.current(), bob).clusters == [provider.id]
    assert api.call("DELETE", "/provider", headers=provider.headers).status_code == 204
    assert_deregistered(api, provider, [bob, admin])
    assert a_records(api) == {}


def test_admin_deregisters_a_provider(api: Api, admin: str, alice: str, krk: Registered) -> None:
    response = api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 204
    assert_deregistered(api, krk, [alice])
    assert a_records(api) == {}
    assert api.call("GET", "/user/clusters", headers=api.basic("alice", USER_PASSWORD)).json_body == {"clusters": []}
    gone = api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD))
    assert (gone.status_code, error_of(gone)["id"]) == (404, "notFound")
    assert register_provider(api, subdomain="krk").id


def test_admin_deregistration_needs_the_privilege(api: Api, alice: str, krk: Registered) -> None:
    api.create_user("viewer", ("oz_providers_view", "oz_providers_list"))
    before = snapshot(api)
    # Not even the cluster's own admin may deregister through this endpoint without the privilege.
    for username in ("alice", "viewer"):
        response = api.call("DELETE", f"/providers/{krk.id}", headers=api.basic(username, USER_PASSWORD))
        assert response.status_code == 403
        assert "oz_providers_delete" in error_of(response)["details"]["hint"]
    unknown = api.call("DELETE", "/providers/no-such-provider", headers=api.basic("viewer", USER_PASSWORD))
    assert unknown.status_code == 403
    assert snapshot(api) == before


# ---- all or nothing ----------------------------------------------------------------------------


def still_registered(api: Api, provider: Registered, before: dict[str, Any]) -> None:
    """Exactly the state of `before`, and the provider still works with its root token."""
    assert snapshot(api) == before
    assert api.call("GET", "/provider", headers=provider.headers).status_code == 200
    assert (
        provider.id
        in api.call("GET", "/user/clusters", headers=api.basic("alice", USER_PASSWORD)).json_body["clusters"]
    )


@pytest.mark.parametrize(
    ("by", "code", "status", "error_id"),
    [
        ("provider", "ThrottlingException", 503, "temporaryFailure"),
        ("admin", "ValidationException", 500, "internalServerError"),
    ],
)
def test_failed_deregistration_transaction_puts_dns_back(
    api: Api, admin: str, krk: Registered, by: str, code: str, status: int, error_id: str
) -> None:
    before = snapshot(api)
    assert before["dns"] == {"krk.onezone.test.": WORKERS, "s3.krk.onezone.test.": ["192.0.2.9"]}
    dns_seen_by_transaction: list[dict[str, list[str]]] = []

    def fail(**_kwargs: Any) -> None:
        dns_seen_by_transaction.append(a_records(api))
        raise client_error(code, "TransactWriteItems")

    context.current().aws.dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", fail)
    if by == "provider":
        response = api.call("DELETE", "/provider", headers=krk.headers)
    else:
        response = api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD))
    assert (response.status_code, error_of(response)["id"]) == (status, error_id)
    assert dns_seen_by_transaction == [{}]  # the records really were gone while it ran
    recover()
    still_registered(api, krk, before)
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert_deregistered(api, krk, [])


def test_failed_dns_change_leaves_the_provider_registered(api: Api, admin: str, krk: Registered) -> None:
    before = snapshot(api)
    own, by_admin = (krk.headers, "/provider"), (api.basic("admin", USER_PASSWORD), f"/providers/{krk.id}")
    for code, status, (headers, path) in [
        ("PriorRequestNotComplete", 503, own),
        ("Throttling", 503, by_admin),
        ("NoSuchHostedZone", 500, own),
    ]:
        refused = inject("route53", "ChangeResourceRecordSets", client_error(code, "ChangeResourceRecordSets"))
        transactions = inject("dynamodb", "TransactWriteItems", AssertionError("no transaction after DNS failed"))
        response = api.call("DELETE", path, headers=headers)
        assert response.status_code == status, (code, path)
        assert refused
        assert transactions == []
        recover()
        still_registered(api, krk, before)


def test_failed_dns_restore_is_logged_and_the_transaction_error_wins(
    api: Api, krk: Registered, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(api)
    route53 = context.current().aws.route53
    changes: list[str] = []

    def second_change_fails(**_kwargs: Any) -> None:
        changes.append("change")
        if len(changes) > 1:
            raise client_error("InvalidChangeBatch", "ChangeResourceRecordSets", "something else")

    route53.meta.events.register("before-call.route53.ChangeResourceRecordSets", second_change_fails)
    inject("dynamodb", "TransactWriteItems", client_error("ThrottlingException", "TransactWriteItems"))
    response = api.call("DELETE", "/provider", headers=krk.headers)
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert any("DNS LEFT INCONSISTENT" in r.getMessage() and krk.id in r.getMessage() for r in caplog.records)
    recover()
    # Only DNS is off (and logged for an operator); every record still stands.
    after = snapshot(api)
    assert {k: v for k, v in after.items() if k != "dns"} == {k: v for k, v in before.items() if k != "dns"}
    assert after["dns"] == {}


DOMAIN_CHANGES = [
    {"subdomainDelegation": True, "subdomain": "waw", "opWorkerIpAddresses": ["192.0.2.7"]},
    {"subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.7"]},
    {"subdomainDelegation": False, "domain": "own.example.com"},
]


@pytest.mark.parametrize("failing", ["transaction", "dns"])
def test_failed_domain_config_change_changes_nothing(api: Api, krk: Registered, failing: str) -> None:
    """A move, an IP change and a switch to an own domain, each failing in DynamoDB or Route 53."""
    before = snapshot(api)
    for body in DOMAIN_CHANGES:
        if failing == "transaction":
            error = client_error("ValidationException", "TransactWriteItems")
            refused = inject("dynamodb", "TransactWriteItems", error)
            expected = (500, "internalServerError")
        else:
            refused = inject(
                "route53", "ChangeResourceRecordSets", client_error("Throttling", "ChangeResourceRecordSets")
            )
            expected = (503, "temporaryFailure")
        response = patch_domain(api, krk, body)
        assert (response.status_code, error_of(response)["id"]) == expected, body
        assert refused
        recover()
        # No reservation left behind, DNS as it was, the provider as it was.
        still_registered(api, krk, before)
    assert patch_domain(api, krk, DOMAIN_CHANGES[0]).status_code == 204


def test_failed_move_restores_the_old_records_exactly(api: Api, krk: Registered) -> None:
    seen: list[dict[str, list[str]]] = []
    seen_claims: list[dict[str, str]] = []

    def fail(**_kwargs: Any) -> None:
        seen.append(a_records(api))
        seen_claims.append(claims(api))
        raise client_error("ThrottlingException", "TransactWriteItems")

    context.current().aws.dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", fail)
    body = {"subdomainDelegation": True, "subdomain": "waw", "opWorkerIpAddresses": ["192.0.2.7"]}
    assert patch_domain(api, krk, body).status_code == 503
    # While the transaction ran, DNS already showed the new subdomain, held by a reservation.
    assert seen == [{"waw.onezone.test.": ["192.0.2.7"], "s3.waw.onezone.test.": ["192.0.2.9"]}]
    assert seen_claims == [{"krk": krk.id, "waw": krk.id + "?"}]
    assert a_records(api) == {"krk.onezone.test.": WORKERS, "s3.krk.onezone.test.": ["192.0.2.9"]}
    assert claims(api) == {"krk": krk.id}


# ---- races: a failed transaction must not resurrect records somebody else removed -------------
#
# A provider's records change under a lease, one change at a time (next test). The races below
# are what the lease cannot exclude: a request that stalled past its lease (`stalled`: leases and
# reservations expire at once), overtaken by another; the commit's `dnsRevision` condition and the
# settled switch-back must then keep DNS as the winner left it.


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identifiers, "PENDING_SECONDS", -1)


def test_one_dns_change_of_a_provider_at_a_time(
    api: Api, admin: str, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deregistration asked while a domain change is between Route 53 and its commit gets a
    retryable 503 and touches nothing; the change completes, and the deregistration retried works."""
    real_transact = db.transact
    answers: list[Any] = []

    def deregister_meanwhile(client: Any, items: Any, **kwargs: Any) -> None:
        if not answers:
            answers.append(api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD)))
        real_transact(client, items, **kwargs)

    strict_route53()
    monkeypatch.setattr(db, "transact", deregister_meanwhile)
    body = {"subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.7"]}
    assert patch_domain(api, krk, body).status_code == 204
    [refused] = answers
    assert (refused.status_code, error_of(refused)["id"], refused.headers["Retry-After"]) == (
        503,
        "temporaryFailure",
        "1",
    )
    assert a_records(api) == {"krk.onezone.test.": ["192.0.2.7"], "s3.krk.onezone.test.": ["192.0.2.9"]}
    monkeypatch.undo()
    assert api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD)).status_code == 204
    assert a_records(api) == {}


def test_losing_a_deregistration_race_does_not_resurrect_dns(
    api: Api, admin: str, krk: Registered, monkeypatch: pytest.MonkeyPatch, stalled: None
) -> None:
    """The provider deregisters itself while an admin's deregistration is between its read of
    the provider and its transaction; the loser must not put the records back."""
    real_transact = db.transact
    raced: list[bool] = []

    def transact_after_the_other(client: Any, items: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(True)
            stored = provider_store.TABLE.get(context.current(), krk.id)
            deregistration.deregister(context.current(), stored)  # the winner, start to end
        real_transact(client, items, **kwargs)

    strict_route53()
    monkeypatch.setattr(db, "transact", transact_after_the_other)
    response = api.call("DELETE", f"/providers/{krk.id}", headers=api.basic("admin", USER_PASSWORD))
    assert (response.status_code, error_of(response)["id"]) == (404, "notFound")
    assert raced
    assert a_records(api) == {}
    assert claims(api) == {}
    assert scan(api, "PROVIDERS_TABLE") == []


def test_losing_a_domain_config_race_to_deregistration_leaves_no_records(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IP change that finds the provider deregistered since it read it: it never touches
    Route 53 (its lease finds the provider gone), and the records do not come back."""
    real_check = names.check_subdomain

    def deregistered_meanwhile(ctx: Any, subdomain: str) -> None:
        real_check(ctx, subdomain)
        stored = provider_store.TABLE.get(ctx, krk.id)
        if stored is not None:
            deregistration.deregister(ctx, stored)

    strict_route53()
    monkeypatch.setattr(names, "check_subdomain", deregistered_meanwhile)
    body = {"subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.7"]}
    response = patch_domain(api, krk, body)
    assert (response.status_code, error_of(response)["id"]) == (404, "notFound")
    assert scan(api, "PROVIDERS_TABLE") == []
    assert claims(api) == {}
    assert a_records(api) == {}


def test_losing_a_domain_config_race_to_another_change_keeps_the_winners_records(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch, stalled: None
) -> None:
    """Two moves of the same provider at once (krk -> waw wins, krk -> gdn loses): DNS ends as
    the stored provider says, with no stale krk or gdn record."""
    real_transact = db.transact
    raced: list[bool] = []

    def transact_after_the_other(client: Any, items: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(True)
            ctx = context.current()
            winner = {"subdomainDelegation": True, "subdomain": "waw", "opWorkerIpAddresses": ["192.0.2.8"]}
            domain_config.update(ctx, provider_store.TABLE.get(ctx, krk.id), json.dumps(winner).encode())
        real_transact(client, items, **kwargs)

    strict_route53()
    monkeypatch.setattr(db, "transact", transact_after_the_other)
    loser = {"subdomainDelegation": True, "subdomain": "gdn", "opWorkerIpAddresses": ["192.0.2.7"]}
    response = patch_domain(api, krk, loser)
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    stored = provider_store.TABLE.get(context.current(), krk.id)
    assert (stored.subdomain, stored.opWorkerIpAddresses) == ("waw", ["192.0.2.8"])
    assert claims(api) == {"waw": krk.id}
    assert a_records(api) == {"waw.onezone.test.": ["192.0.2.8"], "s3.waw.onezone.test.": ["192.0.2.9"]}


# ---- module level: the DNS steps those operations rely on ----------------------------------------


def test_deleting_records_of_which_one_is_gone_deletes_the_others(stack_env: dict[str, str]) -> None:
    """Route 53 rejects a whole batch when one deletion finds nothing; the other deletions and
    the upserts of the batch must still happen."""
    ctx = context.current()
    refusals = strict_route53()
    krk = records.record_sets(ctx, "krk", ["192.0.2.1"], ["192.0.2.9"])
    route53.upsert(ctx, krk)
    route53.delete(ctx, krk[1:])  # the s3 record is gone already
    waw = records.record_sets(ctx, "waw", ["192.0.2.7"], [])
    route53.replace(ctx, krk, waw)
    assert zone_a_records(stack_env["HOSTED_ZONE_ID"]) == {"waw.onezone.test.": ["192.0.2.7"]}
    # Refused in the batch, then once more on its own: the only deletion that did not happen.
    gone = "Tried to delete resource record set [name='s3.krk.onezone.test.', type='A'] but it was not found"
    assert refusals == [gone, gone]
    route53.delete(ctx, krk + waw)
    assert zone_a_records(stack_env["HOSTED_ZONE_ID"]) == {}
    # A record whose values differ was edited by hand: not "gone", a retryable failure.
    route53.upsert(ctx, records.record_sets(ctx, "krk", ["203.0.113.1"], []))
    with pytest.raises(OnedataError) as raised:
        route53.delete(ctx, krk[:1])
    assert raised.value.id == "temporaryFailure"
    assert zone_a_records(stack_env["HOSTED_ZONE_ID"]) == {"krk.onezone.test.": ["203.0.113.1"]}


def test_transition_settles_on_what_the_store_says(stack_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    ctx = context.current()
    old = records.record_sets(ctx, "krk", ["192.0.2.1"], [])
    new = records.record_sets(ctx, "waw", ["192.0.2.7"], [])
    settled = records.record_sets(ctx, "gdn", ["192.0.2.8"], [])
    zone = stack_env["HOSTED_ZONE_ID"]

    def fail_within(**settle: Any) -> None:
        with pytest.raises(KeyError), transitions.transition(ctx, old, new, reference="r-1", **settle):
            raise KeyError("transaction cancelled")

    route53.upsert(ctx, old)
    fail_within(settled=lambda: settled)
    assert zone_a_records(zone) == {"gdn.onezone.test.": ["192.0.2.8"]}

    route53.replace(ctx, settled, old)

    def unreadable() -> list[records.RecordSet]:
        raise RuntimeError("DynamoDB is down")

    fail_within(settled=unreadable)  # cannot tell: the records it had come back
    assert zone_a_records(zone) == {"krk.onezone.test.": ["192.0.2.1"]}
    assert any("r-1" in r.getMessage() and r.exc_info for r in caplog.records)

    fail_within()  # no store to ask (registration): back to `old`
    assert zone_a_records(zone) == {"krk.onezone.test.": ["192.0.2.1"]}
    assert transitions.stored_records(ctx, "no-such-provider") == []
