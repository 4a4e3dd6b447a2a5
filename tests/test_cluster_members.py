"""Cluster membership through the HTTP surface: who belongs to a provider's cluster, with which
privileges, and who may see or change that (reference §3.2-§3.6, §3.9-§3.11, §4).

Onezone's order of checks holds throughout: the cluster (404), the membership asked about (404),
the caller's rights (403), then the body (400). The membership items are the authority: every
change shows in the item and in the user's `clusters` list together.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import context
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.store import db, memberships
from chalicelib.store import users as user_store
from chalicelib.store.memberships import MembershipRecord
from tests.cluster_fixtures import as_user
from tests.conftest import USER_PASSWORD, Api, error_of
from tests.provider_helpers import Registered, register_provider

ADMIN = cluster_privileges.ADMIN


def join(cluster_id: str, user_id: str, privileges: list[str]) -> None:
    """A membership written as the service writes one (both items, one transaction)."""
    ctx = context.current()
    record = MembershipRecord(clusterId=cluster_id, userId=user_id, privileges=privileges, createdAt=0)
    db.transact(ctx.aws.dynamodb, memberships.join_ops(ctx, record))


def status_and_id(response: Any) -> tuple[int, str | None]:
    return response.status_code, error_of(response)["id"] if response.status_code >= 400 else None


def consistent(user_id: str, cluster_id: str) -> bool:
    """The membership item and the user's `clusters` entry: both there, or both not."""
    ctx = context.current()
    listed = cluster_id in (user_store.get(ctx, user_id) or user_store.UserRecord.model_construct(clusters=[])).clusters
    return listed == (memberships.get(ctx, cluster_id, user_id) is not None)


def test_the_registering_user_is_the_creator_and_an_admin(api: Api, alice: str, krk: Registered) -> None:
    cluster = api.call("GET", f"/clusters/{krk.id}", headers=as_user(alice)).json_body
    assert cluster["creator"] == {"type": "user", "id": alice}
    for path in ("users", "effective_users"):
        assert api.call("GET", f"/clusters/{krk.id}/{path}", headers=krk.headers).json_body == {"users": [alice]}
    for path in ("groups", "effective_groups"):
        assert api.call("GET", f"/clusters/{krk.id}/{path}", headers=krk.headers).json_body == {"groups": []}
    for path in (f"users/{alice}/privileges", f"effective_users/{alice}/privileges"):
        response = api.call("GET", f"/clusters/{krk.id}/{path}", headers=krk.headers)
        assert response.json_body == {"privileges": ADMIN}  # sorted, as Onezone's ordsets
    assert sorted(ADMIN) == ADMIN
    assert len(ADMIN) == 9
    mine = as_user(alice)
    assert api.call("GET", "/user/clusters", headers=mine).json_body == {"clusters": [krk.id]}
    assert api.call("GET", "/user/effective_clusters/", headers=mine).json_body == {"clusters": [krk.id]}
    for path in (f"/user/clusters/{krk.id}", f"/user/effective_clusters/{krk.id}"):
        assert api.call("GET", path, headers=mine).json_body == cluster


def test_a_non_members_privileges_are_not_found_for_everyone(api: Api, alice: str, krk: Registered) -> None:
    """Onepanel tells a user who is not in its cluster by this 404 `notFound`."""
    carol = api.create_user("carol")
    admin = api.create_user("admin", ("oz_clusters_view_privileges",))
    for headers in (krk.headers, as_user(alice), as_user(carol), as_user(admin)):
        for path in (f"effective_users/{carol}/privileges", f"users/{carol}/privileges"):
            response = api.call("GET", f"/clusters/{krk.id}/{path}", headers=headers)
            assert status_and_id(response) == (404, "notFound")
    # A member's privileges: to themself, the provider, cluster_view_privileges, admins; 403 to others.
    join(krk.id, carol, ["cluster_view"])
    assert api.call("GET", f"/clusters/{krk.id}/users/{carol}/privileges", headers=as_user(carol)).status_code == 200
    assert api.call("GET", f"/clusters/{krk.id}/users/{alice}/privileges", headers=as_user(admin)).status_code == 200
    refused = api.call("GET", f"/clusters/{krk.id}/users/{alice}/privileges", headers=as_user(carol))
    assert status_and_id(refused) == (403, "forbidden")
    other = register_provider(api, "alice", subdomain="gdn")
    refused = api.call("GET", f"/clusters/{krk.id}/users/{alice}/privileges", headers=other.headers)
    assert status_and_id(refused) == (403, "forbidden")
    missing = api.call("GET", f"/clusters/nosuchcluster/users/{alice}/privileges", headers=as_user(carol))
    assert status_and_id(missing) == (404, "notFound")


def test_who_may_list_members(api: Api, alice: str, krk: Registered) -> None:
    carol, viewer = api.create_user("carol"), api.create_user("viewer", ("oz_clusters_list_relationships",))
    bob = api.create_user("bob")
    join(krk.id, bob, [])  # a member without cluster_view
    for path in ("users", "effective_users", "groups", "effective_groups"):
        url = f"/clusters/{krk.id}/{path}"
        assert api.call("GET", url, headers=as_user(viewer)).status_code == 200, path
        assert status_and_id(api.call("GET", url, headers=as_user(carol))) == (403, "forbidden"), path
        assert status_and_id(api.call("GET", url, headers=as_user(bob))) == (403, "forbidden"), path
        gone = api.call("GET", f"/clusters/nosuchcluster/{path}", headers=as_user(carol))
        assert status_and_id(gone) == (404, "notFound"), path
    assert api.call("GET", f"/clusters/{krk.id}/users", headers=as_user(alice)).json_body == {
        "users": sorted([alice, bob])
    }


def test_members_see_each_other_and_the_creator(api: Api, alice: str, krk: Registered) -> None:
    bob, dave, carol = api.create_user("bob"), api.create_user("dave"), api.create_user("carol")
    join(krk.id, bob, ["cluster_view"])
    join(krk.id, dave, [])
    shared = api.call("GET", f"/clusters/{krk.id}/users/{dave}", headers=as_user(bob)).json_body
    assert shared == {
        "userId": dave,
        "fullName": "Dave",
        "username": "dave",
        "creationTime": 0,
        "name": "Dave",
        "login": "dave",
        "alias": "dave",
    }
    # Without cluster_view, a member sees only the creator (and themself).
    assert api.call("GET", f"/clusters/{krk.id}/effective_users/{alice}", headers=as_user(dave)).status_code == 200
    assert api.call("GET", f"/clusters/{krk.id}/users/{dave}", headers=as_user(dave)).status_code == 200
    assert status_and_id(api.call("GET", f"/clusters/{krk.id}/users/{bob}", headers=as_user(dave))) == (
        403,
        "forbidden",
    )
    assert api.call("GET", f"/clusters/{krk.id}/users/{bob}", headers=krk.headers).status_code == 200
    # A non-member of the cluster is not found through it; the creator is, even after leaving.
    assert status_and_id(api.call("GET", f"/clusters/{krk.id}/users/{carol}", headers=krk.headers)) == (
        404,
        "notFound",
    )
    assert api.call("DELETE", f"/user/clusters/{krk.id}", headers=as_user(alice)).status_code == 204
    assert api.call("GET", f"/clusters/{krk.id}/users/{alice}", headers=as_user(bob)).status_code == 200
    assert status_and_id(api.call("GET", f"/clusters/{krk.id}/users/nosuchuser", headers=krk.headers)) == (
        404,
        "notFound",
    )


def test_grant_and_revoke(api: Api, alice: str, krk: Registered) -> None:
    bob = api.create_user("bob")
    join(krk.id, bob, ["cluster_view", "cluster_update"])
    url = f"/clusters/{krk.id}/users/{bob}/privileges"

    def privileges() -> list[str]:
        return api.call("GET", url, headers=krk.headers).json_body["privileges"]

    body = {"grant": ["cluster_add_user", "cluster_delete"], "revoke": ["cluster_update", "cluster_delete"]}
    assert api.call("PATCH", url, body, headers=as_user(alice)).status_code == 204
    assert privileges() == ["cluster_add_user", "cluster_delete", "cluster_view"]  # grant wins, sorted
    assert api.call("PATCH", url, {"revoke": ["cluster_view"]}, headers=krk.headers).status_code == 204
    assert privileges() == ["cluster_add_user", "cluster_delete"]
    for bad, expected in (
        ({}, ("missingAtLeastOneValue", {"keys": ["grant", "revoke"]})),
        ({"grant": "cluster_view"}, ("badValueListOfStrings", {"key": "grant"})),
        ({"grant": ["oz_users_view"]}, ("badValueListNotAllowed", {"key": "grant", "allowed": ADMIN})),
    ):
        error = error_of(api.call("PATCH", url, bad, headers=as_user(alice)))
        assert (error["id"], error["details"]) == expected
    # Rights come before the body: bob may not set privileges, whatever he sends.
    for body in ({}, {"grant": ADMIN}):
        assert status_and_id(api.call("PATCH", url, body, headers=as_user(bob))) == (403, "forbidden")
    assert privileges() == ["cluster_add_user", "cluster_delete"]
    gone = api.call("PATCH", f"/clusters/{krk.id}/users/{alice}x/privileges", {"grant": []}, headers=krk.headers)
    assert status_and_id(gone) == (404, "notFound")


def test_adding_users(api: Api, alice: str, krk: Registered) -> None:
    bob, carol = api.create_user("bob"), api.create_user("carol")
    added = api.call("PUT", f"/clusters/{krk.id}/users/{bob}", {}, headers=krk.headers)
    assert (added.status_code, added.body) == (201, b"")
    assert added.headers["Location"] == f"https://onezone.test/api/v3/onezone/clusters/{krk.id}/users/{bob}"
    assert memberships.get(context.current(), krk.id, bob).privileges == ["cluster_view"]  # the default
    assert consistent(bob, krk.id)
    again = api.call("PUT", f"/clusters/{krk.id}/users/{bob}", {"privileges": ADMIN}, headers=krk.headers)
    error = error_of(again)
    assert (again.status_code, error["id"]) == (409, "relationAlreadyExists")
    assert error["details"] == {"childType": "user", "childId": bob, "parentType": "cluster", "parentId": krk.id}
    assert error["description"] == f"Bad value: user:{bob} is already a member of cluster:{krk.id}."
    # Onezone's quirk: a cluster admin cannot add somebody else (only the provider and Onezone admins).
    assert status_and_id(api.call("PUT", f"/clusters/{krk.id}/users/{carol}", {}, headers=as_user(alice))) == (
        403,
        "forbidden",
    )
    adder = api.create_user("adder", ("oz_clusters_add_relationships", "oz_users_add_relationships"))
    with_privileges = {"privileges": ["cluster_view", "cluster_update"]}
    assert status_and_id(
        api.call("PUT", f"/clusters/{krk.id}/users/{carol}", with_privileges, headers=as_user(adder))
    ) == (403, "forbidden")  # naming privileges takes oz_clusters_set_privileges too
    assert api.call("PUT", f"/clusters/{krk.id}/users/{carol}", with_privileges, headers=krk.headers).status_code == 201
    assert memberships.get(context.current(), krk.id, carol).privileges == ["cluster_update", "cluster_view"]
    unknown = api.call("PUT", f"/clusters/{krk.id}/users/nosuchuser", {}, headers=krk.headers)
    assert (unknown.status_code, error_of(unknown)["details"]) == (400, {"key": "userId"})
    assert status_and_id(api.call("PUT", f"/clusters/nosuchcluster/users/{bob}", {}, headers=krk.headers)) == (
        404,
        "notFound",
    )


def test_removing_members_and_leaving(api: Api, alice: str, krk: Registered) -> None:
    bob, carol = api.create_user("bob"), api.create_user("carol")
    join(krk.id, bob, ["cluster_view"])
    join(krk.id, carol, ["cluster_view"])
    assert status_and_id(api.call("DELETE", f"/clusters/{krk.id}/users/{carol}", headers=as_user(bob))) == (
        403,
        "forbidden",
    )
    assert api.call("DELETE", f"/clusters/{krk.id}/users/{carol}", headers=as_user(alice)).status_code == 204
    assert consistent(carol, krk.id)
    assert memberships.get(context.current(), krk.id, carol) is None
    assert status_and_id(api.call("DELETE", f"/clusters/{krk.id}/users/{carol}", headers=krk.headers)) == (
        404,
        "notFound",
    )
    assert api.call("DELETE", f"/user/clusters/{krk.id}", headers=as_user(bob)).status_code == 204  # no privilege
    assert consistent(bob, krk.id)
    assert api.call("GET", "/user/clusters", headers=as_user(bob)).json_body == {"clusters": []}
    assert status_and_id(api.call("DELETE", f"/user/clusters/{krk.id}", headers=as_user(bob))) == (404, "notFound")
    # No last-admin protection, as in Onezone: the provider can still add someone back.
    assert api.call("DELETE", f"/clusters/{krk.id}/users/{alice}", headers=krk.headers).status_code == 204
    assert api.call("GET", f"/clusters/{krk.id}/users", headers=krk.headers).json_body == {"users": []}


def test_user_paths_name_the_callers_own_user(api: Api, alice: str, krk: Registered) -> None:
    """A provider has no user record: `/user/...` is 404 for it, joining 403 (reference §3.2, §3.8)."""
    for path in ("/user", "/user/clusters", "/user/effective_clusters", f"/user/clusters/{krk.id}"):
        assert status_and_id(api.call("GET", path, headers=krk.headers)) == (404, "notFound"), path
    assert status_and_id(api.call("DELETE", f"/user/clusters/{krk.id}", headers=krk.headers)) == (404, "notFound")
    assert status_and_id(api.call("POST", "/user/clusters/join", {"token": "x"}, headers=krk.headers)) == (
        403,
        "forbidden",
    )
    carol = api.create_user("carol")
    assert status_and_id(api.call("GET", f"/user/clusters/{krk.id}", headers=as_user(carol))) == (404, "notFound")


def test_listing_clusters_and_the_privilege_sets(api: Api, alice: str, krk: Registered) -> None:
    lister = api.create_user("lister", ("oz_clusters_list",))
    assert api.call("GET", "/clusters", headers=as_user(lister)).json_body == {"clusters": [krk.id]}
    assert status_and_id(api.call("GET", "/clusters", headers=as_user(alice))) == (403, "forbidden")
    expected = {"member": ["cluster_view"], "manager": cluster_privileges.MANAGER, "admin": ADMIN}
    assert cluster_privileges.MANAGER == [
        "cluster_add_group",
        "cluster_add_user",
        "cluster_remove_group",
        "cluster_remove_user",
        "cluster_view",
    ]
    assert api.call("GET", "/clusters/privileges").json_body == expected  # for nobody too
    assert api.call("GET", "/clusters/privileges", headers=as_user(alice)).json_body == expected
    assert status_and_id(api.call("GET", "/clusters/privileges", headers=krk.headers)) == (403, "forbidden")
    bad = api.call("GET", "/clusters/privileges", headers={"X-Auth-Token": "garbage"})
    assert status_and_id(bad) == (401, "unauthorized")


def test_users_by_id(api: Api, alice: str, krk: Registered) -> None:
    viewer, bob = api.create_user("viewer", ("oz_users_view",)), api.create_user("bob")
    mine = api.call("GET", f"/users/{alice}", headers=as_user(alice)).json_body
    assert mine == api.call("GET", "/user", headers=as_user(alice)).json_body
    assert {"userId", "name", "linkedAccounts", "username", "emails"} <= set(mine)
    assert api.call("GET", f"/users/{alice}", headers=as_user(viewer)).json_body == mine
    assert status_and_id(api.call("GET", f"/users/{alice}", headers=as_user(bob))) == (403, "forbidden")
    assert status_and_id(api.call("GET", f"/users/{alice}", headers=krk.headers)) == (403, "forbidden")
    assert status_and_id(api.call("GET", "/users/nosuchuser", headers=as_user(bob))) == (404, "notFound")


def test_registration_tokens_for_another_user(api: Api, alice: str) -> None:
    """The seed's endpoint for a given user: themself under the open policy, else
    `oz_providers_invite`; the user it names becomes the cluster's creator and admin."""
    bob = api.create_user("bob")
    inviter = api.create_user("inviter", ("oz_providers_invite",))
    path = f"/users/{bob}/clusters/provider_registration_token"
    assert status_and_id(api.call("POST", path, headers=as_user(alice))) == (403, "forbidden")
    assert api.call("POST", path, headers=as_user(bob)).status_code == 200
    token = api.call("POST", path, headers=as_user(inviter)).json_body["token"]
    provider = register_provider(api, token=token, subdomain=None)
    assert api.call("GET", f"/clusters/{provider.id}/users", headers=provider.headers).json_body == {"users": [bob]}
    assert status_and_id(
        api.call("POST", "/users/nosuchuser/clusters/provider_registration_token", headers=as_user(inviter))
    ) == (404, "notFound")
    # The inviter lost the privilege: the invite naming somebody else no longer registers.
    token = api.call("POST", path, headers=as_user(inviter)).json_body["token"]
    user_store.replace_privileges(context.current(), inviter, ["oz_providers_invite"], [])
    body = {"token": token, "name": "Other", "adminEmail": "a@example.com", "subdomainDelegation": False}
    refused = api.call("POST", "/providers", {**body, "domain": "other.example.com"})
    assert status_and_id(refused) == (400, "inviteTokenSubjectNotAuthorized")


def test_deregistration_removes_every_membership(api: Api, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More members than one transaction holds: the first ones go with the provider, the rest
    right after - also one who joined after the members were first read - and each user's
    `clusters` entry with them."""
    from chalicelib.providers import deregistration

    provider = register_provider(api, "alice", subdomain=None)
    users = [api.create_user(f"member{i}") for i in range(deregistration.MEMBERS_IN_TRANSACTION + 10)]
    for user_id in users:
        join(provider.id, user_id, ["cluster_view"])
    latecomer = api.create_user("latecomer")
    first_read = memberships.of_cluster

    def then_one_joins(ctx: Any, cluster_id: str) -> list[MembershipRecord]:
        read = first_read(ctx, cluster_id)
        monkeypatch.setattr(memberships, "of_cluster", first_read)
        join(cluster_id, latecomer, ["cluster_view"])  # after the read, before the commit
        return read

    monkeypatch.setattr(memberships, "of_cluster", then_one_joins)
    assert api.call("DELETE", "/provider", headers=provider.headers).status_code == 204
    ctx = context.current()
    assert memberships.of_cluster(ctx, provider.id) == []
    for user_id in [alice, *users, latecomer]:
        assert provider.id not in user_store.get(ctx, user_id).clusters, user_id


def test_a_membership_without_its_cluster_grants_nothing(api: Api, alice: str) -> None:
    """What a deregistration interrupted after its commit could leave behind."""
    join("deregistered", alice, ADMIN)
    for method, path in (
        ("GET", "/clusters/deregistered"),
        ("GET", "/clusters/deregistered/users"),
        ("GET", f"/clusters/deregistered/effective_users/{alice}/privileges"),
        ("GET", "/user/clusters/deregistered"),
        ("POST", "/clusters/deregistered/users/token"),
        ("PATCH", "/clusters/deregistered"),
    ):
        response = api.call(method, path, {"onepanelProxy": True}, headers=as_user(alice))
        assert status_and_id(response) == (404, "notFound"), path
    invite = {"name": "late", "type": {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": "deregistered"}}}
    refused = api.call("POST", "/user/tokens/named", invite, headers=as_user(alice))
    assert (refused.status_code, error_of(refused)["id"]) == (400, "inviteTokenTargetIdInvalid")
    assert api.call("DELETE", "/user/clusters/deregistered", headers=as_user(alice)).status_code == 204
    assert consistent(alice, "deregistered")


def test_a_failed_change_leaves_no_trace(api: Api, alice: str, krk: Registered) -> None:
    bob = api.create_user("bob")
    before = api.call("GET", f"/clusters/{krk.id}/users", headers=krk.headers).json_body
    api.call("PUT", f"/clusters/{krk.id}/users/{bob}", {"privileges": ["nonsense"]}, headers=krk.headers)
    api.call("PUT", f"/clusters/{krk.id}/users/{bob}", {}, headers=api.basic("alice", USER_PASSWORD))
    assert api.call("GET", f"/clusters/{krk.id}/users", headers=krk.headers).json_body == before
    assert consistent(bob, krk.id)
