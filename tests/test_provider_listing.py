"""GET /providers: paginated with an opaque token, one bounded Scan page per request."""

from __future__ import annotations

import pytest

from tests.conftest import USER_PASSWORD, Api, error_of


def register_some(api: Api, count: int) -> set[str]:
    api.create_user("alice")
    ids = set()
    for i in range(count):
        body = {
            "token": api.registration_token("alice"),
            "name": f"Provider {i}",
            "adminEmail": "ops@example.com",
            "subdomainDelegation": False,
            "domain": f"p{i}.example.com",
        }
        response = api.call("POST", "/providers", body=body)
        assert response.status_code == 200, response.body
        ids.add(response.json_body["providerId"])
    return ids


def test_pages_cover_every_provider_once(api: Api, admin: str) -> None:
    registered = register_some(api, 5)
    auth = api.basic("admin", USER_PASSWORD)
    seen: list[str] = []
    path = "/providers?limit=2"
    for _ in range(10):
        page = api.call("GET", path, headers=auth).json_body
        assert len(page["providers"]) <= 2
        seen += page["providers"]
        if "nextPageToken" not in page:
            break
        path = f"/providers?limit=2&page_token={page['nextPageToken']}"
    assert sorted(seen) == sorted(registered)


def test_default_page_holds_everything_small(api: Api, admin: str) -> None:
    registered = register_some(api, 3)
    page = api.call("GET", "/providers", headers=api.basic("admin", USER_PASSWORD)).json_body
    assert set(page["providers"]) == registered


@pytest.mark.parametrize(
    ("query", "error_id"),
    [
        ("limit=0", "badValueNotInRange"),
        ("limit=1001", "badValueNotInRange"),
        ("limit=abc", "badValueInteger"),
        ("page_token=%25%25%25", "badData"),
    ],
)
def test_bad_paging_parameters(api: Api, admin: str, query: str, error_id: str) -> None:
    response = api.call("GET", f"/providers?{query}", headers=api.basic("admin", USER_PASSWORD))
    assert (response.status_code, error_of(response)["id"]) == (400, error_id)


def test_listing_needs_the_privilege(api: Api) -> None:
    api.create_user("alice")
    response = api.call("GET", "/providers", headers=api.basic("alice", USER_PASSWORD))
    assert response.status_code == 403
    assert "oz_providers_list" in error_of(response)["details"]["hint"]
