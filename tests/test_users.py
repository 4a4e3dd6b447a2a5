"""Users, authentication and Onezone admin privileges, through the HTTP surface."""

from __future__ import annotations

import pytest

from chalicelib import context, passwords
from chalicelib.store import users as user_store
from tests.conftest import USER_PASSWORD, Api, error_of


def test_current_user(api: Api) -> None:
    user_id = api.create_user("alice")
    response = api.call("GET", "/user", headers=api.basic("alice", USER_PASSWORD))
    assert response.status_code == 200
    # Onezone's protected view, its deprecated aliases included: Onepanel reads userId, name,
    # linkedAccounts, username and emails, with no default.
    assert response.json_body == {
        "userId": user_id,
        "username": "alice",
        "fullName": "Alice",
        "basicAuthEnabled": True,
        "blocked": False,
        "emails": [],
        "linkedAccounts": [],
        "creationTime": 0,
        "name": "Alice",
        "login": "alice",
        "alias": "alice",
        "emailList": [],
    }
    assert "passwordHash" not in response.body.decode()


def test_admin_creates_a_user_who_can_log_in(api: Api, admin: str) -> None:
    body = {"username": "bob", "password": "correct horse".replace(" ", "-"), "fullName": "Bob Builder"}
    created = api.call("POST", "/users", body=body, headers=api.basic("admin", USER_PASSWORD))
    assert created.status_code == 201
    user_id = created.json_body["userId"]
    assert created.headers["Location"] == f"https://onezone.test/api/v3/onezone/users/{user_id}"
    stored = user_store.get(context.current(), user_id)
    assert stored is not None
    assert stored.passwordHash.startswith("scrypt$ln=15,r=8,p=3$")
    assert body["password"] not in stored.passwordHash
    me = api.call("GET", "/user", headers=api.basic("bob", body["password"]))
    assert me.json_body["fullName"] == "Bob Builder"


def test_duplicate_username_is_occupied(api: Api, admin: str) -> None:
    api.create_user("bob")
    body = {"username": "bob", "password": "password-1"}
    response = api.call("POST", "/users", body=body, headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 400
    assert error_of(response) == {
        "id": "badValueIdentifierOccupied",
        "description": 'Bad value: provided identifier ("username") is already occupied.',
        "details": {"key": "username"},
    }


def test_creating_users_needs_the_privilege(api: Api) -> None:
    api.create_user("alice")
    response = api.call(
        "POST", "/users", body={"username": "bob", "password": "password-1"}, headers=api.basic("alice", USER_PASSWORD)
    )
    assert response.status_code == 403
    assert error_of(response)["id"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        ({"password": "password-1"}, "missingRequiredValue"),
        ({"username": "bob"}, "missingRequiredValue"),
        ({"username": 7, "password": "password-1"}, "badValueString"),
        ({"username": "b", "password": "password-1"}, "badValueUsername"),
        ({"username": "-bob", "password": "password-1"}, "badValueUsername"),
        ({"username": "bob", "password": "short"}, "badValuePassword"),
        ({"username": "bob", "password": "has:colon1"}, "badValuePassword"),
        ({"username": "bob", "password": "has space1"}, "badValuePassword"),
        ({"username": "bob", "password": "password-1", "fullName": ""}, "badValueFullName"),
    ],
)
def test_user_validation(api: Api, admin: str, body: dict, error_id: str) -> None:
    response = api.call("POST", "/users", body=body, headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 400
    assert error_of(response)["id"] == error_id


@pytest.mark.parametrize("raw", ["{", "[]", "", "null", '{"username": NaN}', b"\xff\xfe"])
def test_malformed_bodies_are_400(api: Api, admin: str, raw: str | bytes) -> None:
    response = api.call("POST", "/users", raw=raw, headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 400
    assert error_of(response)["id"] == "malformedData"


def test_privileges_read_grant_and_revoke(api: Api, admin: str) -> None:
    bob = api.create_user("bob")
    auth = api.basic("admin", USER_PASSWORD)
    assert api.call("GET", f"/users/{bob}/privileges", headers=auth).json_body == {"privileges": []}

    granted = api.call(
        "PATCH", f"/users/{bob}/privileges", body={"grant": ["oz_providers_invite", "oz_users_list"]}, headers=auth
    )
    assert granted.status_code == 204
    assert user_store.get(context.current(), bob).privileges == ["oz_providers_invite", "oz_users_list"]

    revoked = api.call("PATCH", f"/users/{bob}/privileges", body={"revoke": ["oz_users_list"]}, headers=auth)
    assert revoked.status_code == 204
    privileges = api.call("GET", f"/users/{bob}/privileges", headers=auth).json_body["privileges"]
    assert privileges == ["oz_providers_invite"]


def test_granted_invite_privilege_takes_effect_under_restricted_policy(
    api: Api, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = api.create_user("bob")
    api.set_policy(monkeypatch, "restricted")
    path = "/user/clusters/provider_registration_token"
    assert api.call("POST", path, headers=api.basic("bob", USER_PASSWORD)).status_code == 403
    api.call(
        "PATCH",
        f"/users/{bob}/privileges",
        body={"grant": ["oz_providers_invite"]},
        headers=api.basic("admin", USER_PASSWORD),
    )
    assert api.call("POST", path, headers=api.basic("bob", USER_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("body", "error_id", "key"),
    [
        ({}, "missingAtLeastOneValue", None),
        ({"grant": ["oz_fly"]}, "badValueListNotAllowed", "grant"),
        ({"revoke": "oz_users_list"}, "badValueListOfStrings", "revoke"),
    ],
)
def test_privilege_validation(api: Api, admin: str, body: dict, error_id: str, key: str | None) -> None:
    bob = api.create_user("bob")
    response = api.call("PATCH", f"/users/{bob}/privileges", body=body, headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 400
    error = error_of(response)
    assert error["id"] == error_id
    if key:
        assert error["details"]["key"] == key


def test_privileges_of_unknown_user_are_404(api: Api, admin: str) -> None:
    response = api.call("GET", "/users/nobody/privileges", headers=api.basic("admin", USER_PASSWORD))
    assert response.status_code == 404
    assert error_of(response)["id"] == "notFound"


@pytest.mark.parametrize(("method", "privilege"), [("GET", "oz_view_privileges"), ("PATCH", "oz_set_privileges")])
def test_privilege_endpoints_need_privileges(api: Api, method: str, privilege: str) -> None:
    bob = api.create_user("bob")
    response = api.call(method, f"/users/{bob}/privileges", body={"grant": []}, headers=api.basic("bob", USER_PASSWORD))
    assert response.status_code == 403
    assert privilege in error_of(response)["details"]["hint"]


def test_wrong_password_and_unknown_user_look_the_same(api: Api) -> None:
    api.create_user("alice")
    wrong = api.call("GET", "/user", headers=api.basic("alice", "nope"))
    unknown = api.call("GET", "/user", headers=api.basic("mallory", "nope"))
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown)


def test_bootstrap_admin_comes_from_the_secret(api: Api) -> None:
    import boto3

    from chalicelib import bootstrap

    boto3.client("secretsmanager").put_secret_value(
        SecretId=api.env["ADMIN_PASSWORD_SECRET_ID"], SecretString='{"password": "from-the-secret"}'
    )
    assert bootstrap.run(context.current()) == {"username": "admin", "created": True}
    assert bootstrap.run(context.current()) == {"username": "admin", "created": False}
    admin = user_store.get_by_username(context.current(), "admin")
    assert passwords.verify_password("from-the-secret", admin.passwordHash)
    assert "oz_providers_invite" in admin.privileges


def test_generated_admin_secret_is_used_when_not_overridden(api: Api) -> None:
    from chalicelib import bootstrap

    generated = bootstrap.admin_password(context.current())
    assert len(generated) == 32
    assert generated != "password"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/json; charset=utf-8"]
)
def test_json_is_read_whatever_the_declared_type(api: Api, admin: str, content_type: str) -> None:
    headers = {**api.basic("admin", USER_PASSWORD), "Content-Type": content_type}
    body = {"username": "carol", "password": "password-1"}
    assert api.call("POST", "/users", body=body, headers=headers).status_code == 201
