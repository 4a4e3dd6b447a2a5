"""Invitations to a cluster: who may issue a `userJoinCluster` invite, and joining with one.

Onezone's rules (`invite_tokens`, `token_metadata`, `cluster_logic_plugin`):
- the target cluster must exist (`inviteTokenTargetIdInvalid`), and the issuer may invite to it:
  its own provider, a member holding `cluster_add_user`, or a Onezone admin holding
  `oz_clusters_add_relationships`; an invite that names its own `privileges` needs the right to
  set them too (`cluster_set_privileges`, `oz_clusters_set_privileges`, or the own provider);
  otherwise `inviteTokenSubjectNotAuthorized`. Checked when the invite is issued, and again when
  it is used: an issuer who lost the right since issued nothing that still works;
- the joiner gets the invite's privileges: a named invite's (the admin set when it named none),
  a temporary invite's always the admin set;
- a named invite is used up by its usage count, a member cannot join again
  (`relationAlreadyExists`, the invite left unused).

Joining is one DynamoDB transaction: the invite's usage count below its limit, the membership
item new, the user's list, the cluster still there, and the issuer's rights and (for a
temporary invite) its token generation unchanged, each a condition - so two joins on a single-use
invite make one member, whatever the timing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.clusters import access
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import JoinClusterRequest, TokenResponse
from chalicelib.store import db, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.memberships import MembershipRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import subject_tokens, verification
from chalicelib.tokens.codec import USER_JOIN_CLUSTER, Subject, TokenType
from chalicelib.tokens.inspection import deserialize
from chalicelib.validation import parse


@dataclass(frozen=True)
class Invite:
    """A verified `userJoinCluster` invite, with what its use changes and relies on."""

    cluster_id: str
    privileges: list[str]
    record: token_store.TokenRecord | None  # named invites only: their usage count
    generation: int | None  # temporary invites only: the issuer's generation they were signed for
    authority: access.Authority


def join(ctx: Context, caller: UserRecord | ProviderRecord, body: bytes | None, source_ip: str | None) -> str:
    """`POST /user/clusters/join`: the cluster joined (its id)."""
    if not isinstance(caller, UserRecord):
        raise OnedataError("forbidden", hint="only users join clusters")
    invite = _usable(ctx, parse(JoinClusterRequest, body), caller, source_ip)
    membership = MembershipRecord(
        clusterId=invite.cluster_id, userId=caller.userId, privileges=invite.privileges, createdAt=int(time.time())
    )
    _commit(ctx, invite, membership)
    return invite.cluster_id


def _usable(ctx: Context, request: JoinClusterRequest, caller: UserRecord, source_ip: str | None) -> Invite:
    """The invite, verified for this user from this address, with its issuer's rights re-checked
    now; every early error is Onezone's, the transaction's conditions are what enforce them."""
    token = deserialize(request.token)
    token_type = token.identifier.type
    if token_type.kind != "inviteToken" or token_type.invite_type != USER_JOIN_CLUSTER:
        raise OnedataError(
            "badValueToken", key="token", tokenError=verification.not_an_invite(token, USER_JOIN_CLUSTER)
        )
    context = cv.Context(now=int(time.time()), ip=source_ip, consumer=Subject("user", caller.userId), geo=ctx.geo)
    verified = verification.verify(ctx, token, context, "inviteToken", USER_JOIN_CLUSTER)
    record = verified.record
    if record is not None and record.usageLimit is not None and record.usageCount >= record.usageLimit:
        raise OnedataError("inviteTokenUsageLimitReached")
    carried = record.privileges if record is not None and record.privileges is not None else None
    granted = carried if carried is not None else cluster_privileges.INVITE_DEFAULT
    cluster_id = token_type.target_id or ""
    rights = access.authority(
        ctx, verified.subject_record, cluster_id, custom=granted != cluster_privileges.INVITE_DEFAULT
    )
    if memberships.get(ctx, cluster_id, caller.userId) is not None:
        raise already_member(caller.userId, cluster_id)
    return Invite(cluster_id, granted, record, token.identifier.generation, rights)


def create_legacy(ctx: Context, caller: UserRecord | ProviderRecord, cluster_id: str) -> TokenResponse:
    """`POST /clusters/{id}/users/token` (deprecated): a named single-use invite of the caller
    with the default privileges (any `privileges` in the body are ignored, as in Onezone), named
    `user invite to cluster - <provider name> <hex>`. For the provider, `cluster_add_user`, or
    `oz_clusters_add_relationships`."""
    access.existing(ctx, cluster_id)
    access.rights(ctx, caller, cluster_id).require((cluster_privileges.ADD_USER,), (access.ADD_RELATIONSHIPS,))
    provider = provider_store.TABLE.get(ctx, cluster_id)
    description = f"user invite to cluster - {provider.name if provider else cluster_id}"
    invite = TokenType.invite(USER_JOIN_CLUSTER, cluster_id)
    return subject_tokens.create_legacy(ctx, subject_tokens.Owner(caller), invite, description)


def already_member(user_id: str, cluster_id: str) -> OnedataError:
    return OnedataError(
        "relationAlreadyExists",
        description=f"Bad value: user:{user_id} is already a member of cluster:{cluster_id}.",
        childType="user",
        childId=user_id,
        parentType="cluster",
        parentId=cluster_id,
    )


def _commit(ctx: Context, invite: Invite, membership: MembershipRecord) -> None:
    issuer = invite.authority.issuer
    ops: dict[str, db.TransactItem] = {}
    if invite.record is not None:
        ops["token"] = token_store.consume_op(ctx, invite.record)
    oz_privileges, generation = invite.authority.oz_privileges, invite.generation
    # The issuer's own item carries its requirements: the joiner's, when the issuer joins (one
    # transaction may not touch an item twice).
    issuer_is_joiner = isinstance(issuer, UserRecord) and issuer.userId == membership.userId
    if issuer_is_joiner:
        ops["membership"], ops["user"] = memberships.join_ops(ctx, membership, oz_privileges, generation)
    else:
        ops["membership"], ops["user"] = memberships.join_ops(ctx, membership)
    ops["cluster"] = access.cluster_still_op(ctx, invite.cluster_id)
    if isinstance(issuer, UserRecord) and invite.authority.member_privileges:
        ops["issuerMembership"] = memberships.holds_op(
            ctx, invite.cluster_id, issuer.userId, invite.authority.member_privileges
        )
    if isinstance(issuer, UserRecord) and not issuer_is_joiner and (oz_privileges or generation is not None):
        ops["issuer"] = user_store.still_op(ctx, issuer.userId, oz_privileges, generation)
    if isinstance(issuer, ProviderRecord) and generation is not None:
        ops["issuer"] = provider_store.TABLE.check_op(
            ctx, issuer.providerId, expected={"temporaryTokenGeneration": generation}
        )
    names = list(ops)
    try:
        db.transact(ctx.aws.dynamodb, list(ops.values()))
    except db.Cancelled as cancelled:
        failed = next(name for index, name in enumerate(names) if cancelled.failed(index))
        raise _cancellation_error(failed, cancelled.old_item(names.index(failed)), invite, membership) from None


def _cancellation_error(what: str, old: dict | None, invite: Invite, membership: MembershipRecord) -> OnedataError:
    """Which Onezone error a failed condition of the join stands for (the first one wins)."""
    if what == "token":
        if old is None:
            return OnedataError("tokenInvalid")
        return OnedataError("tokenRevoked" if old.get("revoked") else "inviteTokenUsageLimitReached")
    if what == "membership":
        return already_member(membership.userId, membership.clusterId)
    if what == "cluster":
        return OnedataError("inviteTokenTargetIdInvalid", id=invite.cluster_id)
    revoked = old is not None and old.get("temporaryTokenGeneration", 1) != invite.generation
    if what in ("user", "issuer") and invite.generation is not None and revoked:
        return OnedataError("tokenRevoked")  # the issuer revoked its temporary tokens meanwhile
    if what == "user" and old is None:
        return OnedataError("notFound")  # the joiner is gone
    return OnedataError("inviteTokenSubjectNotAuthorized")
