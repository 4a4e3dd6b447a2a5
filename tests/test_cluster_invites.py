"""Invitations to a cluster and joining with them (reference §3.7, §3.8, §3.12b, §4).

`userJoinCluster` invites, named and temporary, by users and by providers: who may issue them,
what the joiner gets (the invite's privileges, the admin set when it names none, always the
admin set for a temporary one), the issuer's rights checked again when the invite is used, the
usage limit, and `relationAlreadyExists` for a member - with the invite then left unused.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from chalicelib import context
from chalicelib.clusters import access
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.store import db, memberships
from chalicelib.store import tokens as token_store
from chalicelib.store.memberships import MembershipRecord
from tests.cluster_fixtures import as_user
from tests.conftest import Api, error_of
from tests.provider_helpers import Registered, register_provider
from tests.token_helpers import forged, identifier_of

ADMIN = cluster_privileges.ADMIN


def join_as_member(cluster_id: str, user_id: str, privileges: list[str]) -> None:
    ctx = context.current()
    record = MembershipRecord(clusterId=cluster_id, userId=user_id, privileges=privileges, createdAt=0)
    db.transact(ctx.aws.dynamodb, memberships.join_ops(ctx, record))


def invite_type(cluster_id: str) -> dict[str, Any]:
    return {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": cluster_id, "parameters": {}}}


def named_invite(api: Api, headers: dict[str, str], cluster_id: str, path: str = "/user/tokens/named", **extra: Any):
    body = {"name": f"invite {time.time_ns()}", "type": invite_type(cluster_id), **extra}
    return api.call("POST", path, body, headers=headers)


def join(api: Api, user_id: str, token: str) -> Any:
    return api.call("POST", "/user/clusters/join", {"token": token}, headers=as_user(user_id))


def privileges_of(api: Api, provider: Registered, user_id: str) -> tuple[int, Any]:
    response = api.call(
        "GET", f"/clusters/{provider.id}/effective_users/{user_id}/privileges", headers=provider.headers
    )
    return response.status_code, response.json_body.get("privileges") if response.status_code == 200 else None


def error_id(response: Any) -> tuple[int, str]:
    return response.status_code, error_of(response)["id"]


def test_onepanels_invite_lets_a_colleague_join_with_its_privileges(api: Api, krk: Registered) -> None:
    """Onepanel's `POST /cluster/invite_user_token` body, exactly (call E)."""
    bob = api.create_user("bob")
    body = {
        "name": f"admin invite to cluster {time.strftime('%Y-%m-%d')} 1a2b3c",
        "type": invite_type(krk.id),
        "usageLimit": 1,
        "privileges": ADMIN,
    }
    created = api.call("POST", "/provider/tokens/named", body, headers=krk.headers)
    assert created.status_code == 201, created.body
    assert set(created.json_body) == {"tokenId", "token"}
    assert (
        created.headers["Location"]
        == f"https://onezone.test/api/v3/onezone/tokens/named/{created.json_body['tokenId']}"
    )
    token = created.json_body["token"]
    assert identifier_of(token).serialize().startswith(f"2/nmd/prv-{krk.id}/ujc:{krk.id}:/")
    joined = join(api, bob, token)
    assert (joined.status_code, joined.body) == (201, b"")
    assert joined.headers["Location"] == f"https://onezone.test/api/v3/onezone/user/clusters/{krk.id}"
    assert privileges_of(api, krk, bob) == (200, ADMIN)
    assert api.call("GET", "/user/clusters", headers=as_user(bob)).json_body == {"clusters": [krk.id]}
    carol = api.create_user("carol")
    assert error_id(join(api, carol, token)) == (400, "inviteTokenUsageLimitReached")
    assert privileges_of(api, krk, carol) == (404, None)


def test_the_joiner_gets_exactly_the_invites_privileges(api: Api, alice: str, krk: Registered) -> None:
    bob, carol, dave = api.create_user("bob"), api.create_user("carol"), api.create_user("dave")
    custom = named_invite(api, as_user(alice), krk.id, privileges=["cluster_view", "cluster_add_user", "cluster_view"])
    info = api.call("GET", f"/tokens/named/{custom.json_body['tokenId']}", headers=as_user(alice)).json_body
    assert info["metadata"]["privileges"] == ["cluster_add_user", "cluster_view"]
    assert (info["metadata"]["usageLimit"], info["metadata"]["usageCount"]) == ("infinity", 0)
    assert join(api, bob, custom.json_body["token"]).status_code == 201
    assert privileges_of(api, krk, bob) == (200, ["cluster_add_user", "cluster_view"])
    default = named_invite(api, as_user(alice), krk.id)  # no privileges: the admin set (VFS-5815)
    info = api.call("GET", f"/tokens/named/{default.json_body['tokenId']}", headers=as_user(alice)).json_body
    assert info["metadata"]["privileges"] == ADMIN
    for user_id in (carol, dave):  # an unlimited invite serves many
        assert join(api, user_id, default.json_body["token"]).status_code == 201
        assert privileges_of(api, krk, user_id) == (200, ADMIN)
    info = api.call("GET", f"/tokens/named/{default.json_body['tokenId']}", headers=as_user(alice)).json_body
    assert info["metadata"]["usageCount"] == 2


def test_temporary_invites_carry_the_admin_set(api: Api, alice: str, krk: Registered) -> None:
    bob, carol = api.create_user("bob"), api.create_user("carol")
    body = {"type": invite_type(krk.id), "caveats": [{"type": "time", "validUntil": int(time.time()) + 600}]}
    # `privileges` are not a temporary token's: dropped, as Onezone drops unknown keys.
    temporary = api.call("POST", "/user/tokens/temporary", {**body, "privileges": []}, headers=as_user(alice))
    assert temporary.status_code == 201, temporary.body
    assert join(api, bob, temporary.json_body["token"]).status_code == 201
    assert privileges_of(api, krk, bob) == (200, ADMIN)
    # The provider's own temporary invite, revoked with all its temporary tokens.
    mine = api.call("POST", "/provider/tokens/temporary", body, headers=krk.headers).json_body["token"]
    assert api.call("DELETE", "/provider/tokens/temporary", headers=krk.headers).status_code == 204
    assert error_id(join(api, carol, mine)) == (400, "tokenRevoked")
    assert privileges_of(api, krk, carol) == (404, None)


def test_who_may_issue_invites(api: Api, alice: str, krk: Registered) -> None:
    bob, carol = api.create_user("bob"), api.create_user("carol")
    adder = api.create_user("adder", ("oz_clusters_add_relationships",))
    join_as_member(krk.id, bob, ["cluster_add_user", "cluster_view"])
    assert named_invite(api, as_user(bob), krk.id).status_code == 201  # default privileges: add_user will do
    refused = named_invite(api, as_user(bob), krk.id, privileges=["cluster_view"])
    assert error_id(refused) == (400, "inviteTokenSubjectNotAuthorized")  # custom ones need set_privileges
    assert error_id(named_invite(api, as_user(carol), krk.id)) == (400, "inviteTokenSubjectNotAuthorized")
    assert named_invite(api, as_user(adder), krk.id).status_code == 201  # Onezone admins may
    missing = named_invite(api, as_user(alice), "nosuchcluster")
    assert (error_id(missing), error_of(missing)["details"]) == (
        (400, "inviteTokenTargetIdInvalid"),
        {"id": "nosuchcluster"},
    )
    other = register_provider(api, "alice", subdomain="gdn")
    foreign = named_invite(api, other.headers, krk.id, path="/provider/tokens/named")
    assert error_id(foreign) == (400, "inviteTokenSubjectNotAuthorized")  # a provider invites to its own only
    registration = {"name": "rgstr", "type": {"inviteToken": {"inviteType": "registerOneprovider"}}}
    assert error_id(api.call("POST", "/provider/tokens/named", registration, headers=krk.headers)) == (
        400,
        "inviteTokenSubjectNotAuthorized",
    )
    body = {"name": "twice", "type": invite_type(krk.id)}
    assert api.call("POST", "/provider/tokens/named", body, headers=krk.headers).status_code == 201
    taken = api.call("POST", "/provider/tokens/named", body, headers=krk.headers)
    assert (error_id(taken), error_of(taken)["details"]) == ((400, "badValueIdentifierOccupied"), {"key": "name"})


def test_the_issuers_rights_are_checked_again_at_use(api: Api, alice: str, krk: Registered) -> None:
    bob, carol, dave = api.create_user("bob"), api.create_user("carol"), api.create_user("dave")
    join_as_member(krk.id, bob, ["cluster_add_user", "cluster_set_privileges", "cluster_view"])
    custom = named_invite(api, as_user(bob), krk.id, privileges=["cluster_view"]).json_body["token"]
    default = named_invite(api, as_user(bob), krk.id).json_body["token"]
    url = f"/clusters/{krk.id}/users/{bob}/privileges"
    assert api.call("PATCH", url, {"revoke": ["cluster_set_privileges"]}, headers=as_user(alice)).status_code == 204
    assert error_id(join(api, carol, custom)) == (400, "inviteTokenSubjectNotAuthorized")
    assert join(api, carol, default).status_code == 201  # inviting is still his right
    assert api.call("DELETE", f"/clusters/{krk.id}/users/{bob}", headers=as_user(alice)).status_code == 204
    assert error_id(join(api, dave, default)) == (400, "inviteTokenSubjectNotAuthorized")
    assert privileges_of(api, krk, dave) == (404, None)


def test_a_right_lost_between_the_check_and_the_commit(
    api: Api, alice: str, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction's condition on the issuer's membership, not the read before it, decides."""
    bob, carol = api.create_user("bob"), api.create_user("carol")
    join_as_member(krk.id, bob, ["cluster_add_user", "cluster_view"])
    token = named_invite(api, as_user(bob), krk.id, usageLimit=1)
    checked = access.authority

    def then_revoked(*args: Any, **kwargs: Any) -> access.Authority:
        authority = checked(*args, **kwargs)
        ctx = context.current()
        membership = memberships.get(ctx, krk.id, bob)
        ctx.aws.dynamodb.update_item(**memberships.set_privileges_op(ctx, membership, ["cluster_view"])["Update"])
        return authority

    monkeypatch.setattr(access, "authority", then_revoked)
    assert error_id(join(api, carol, token.json_body["token"])) == (400, "inviteTokenSubjectNotAuthorized")
    assert privileges_of(api, krk, carol) == (404, None)
    assert token_store.TABLE.get(context.current(), token.json_body["tokenId"]).usageCount == 0


def test_a_member_cannot_join_again_and_the_invite_stays_unused(api: Api, alice: str, krk: Registered) -> None:
    invite = named_invite(api, krk.headers, krk.id, path="/provider/tokens/named", usageLimit=1)
    refused = join(api, alice, invite.json_body["token"])
    error = error_of(refused)
    assert (refused.status_code, error["id"]) == (409, "relationAlreadyExists")
    assert error["details"] == {"childType": "user", "childId": alice, "parentType": "cluster", "parentId": krk.id}
    assert token_store.TABLE.get(context.current(), invite.json_body["tokenId"]).usageCount == 0
    assert privileges_of(api, krk, alice) == (200, ADMIN)  # unchanged


def test_joining_with_what_is_no_cluster_invite(api: Api, alice: str, krk: Registered) -> None:
    bob = api.create_user("bob")
    registration = api.registration_token("alice")
    good = named_invite(api, krk.headers, krk.id, path="/provider/tokens/named").json_body["token"]
    cases = [
        ({}, "missingRequiredValue", {"key": "token"}),
        ({"token": ""}, "badValueEmpty", {"key": "token"}),
        ({"token": "garbage"}, "badValueToken", None),
        ({"token": registration}, "badValueToken", None),
        ({"token": forged(good)}, "tokenInvalid", None),
    ]
    for body, expected, details in cases:
        response = api.call("POST", "/user/clusters/join", body, headers=as_user(bob))
        error = error_of(response)
        assert (response.status_code, error["id"]) == (400, expected), body
        if details is not None:
            assert error["details"] == details
    wrong_type = error_of(api.call("POST", "/user/clusters/join", {"token": registration}, headers=as_user(bob)))
    assert wrong_type["details"]["tokenError"]["id"] == "notAnInviteToken"
    assert wrong_type["details"]["tokenError"]["details"]["expectedInviteType"] == "userJoinCluster"
    assert error_id(api.call("POST", "/user/clusters/join", {"token": good})) == (401, "unauthorized")
    assert privileges_of(api, krk, bob) == (404, None)


def test_the_legacy_invite_endpoint(api: Api, alice: str, krk: Registered) -> None:
    bob, carol, dave = api.create_user("bob"), api.create_user("carol"), api.create_user("dave")
    path = f"/clusters/{krk.id}/users/token"
    # Any `privileges` in the body are ignored: the invite carries the admin set.
    made = api.call("POST", path, {"privileges": ["cluster_view"]}, headers=as_user(alice))
    assert (made.status_code, set(made.json_body)) == (200, {"token"})
    assert "Location" not in made.headers
    token = made.json_body["token"]
    record = token_store.TABLE.get(context.current(), identifier_of(token).id)
    assert re.fullmatch(r"user invite to cluster - Krakow DC [0-9a-f]{6}", record.name)
    assert (record.usageLimit, record.privileges, record.subjectId) == (1, ADMIN, alice)
    assert join(api, bob, token).status_code == 201
    assert privileges_of(api, krk, bob) == (200, ADMIN)
    assert error_id(join(api, carol, token)) == (400, "inviteTokenUsageLimitReached")
    by_provider = api.call("POST", path, headers=krk.headers).json_body["token"]
    assert identifier_of(by_provider).subject.serialize() == f"prv-{krk.id}"
    assert join(api, carol, by_provider).status_code == 201
    assert error_id(api.call("POST", path, headers=as_user(dave))) == (403, "forbidden")
    assert error_id(api.call("POST", "/clusters/nosuchcluster/users/token", headers=as_user(dave))) == (
        404,
        "notFound",
    )
