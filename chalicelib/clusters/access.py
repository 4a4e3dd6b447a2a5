"""Who acts on a cluster, and with which rights there.

Onezone's rules (`cluster_logic_plugin:authorize`, then `required_admin_privileges`): a cluster's
own provider may do everything on it (and another provider nothing); a user may do what the
privileges of their membership item allow; a Onezone admin what their admin privileges allow.
Each is read by key - the cluster's item and the caller's membership item, one GetItem each -
never by a scan. A membership is honoured only together with its cluster (`existing`): one left
behind by a deregistration grants nothing.

The right to invite to a cluster (`authority`) follows the same rules, for the issuer of a
`userJoinCluster` invite, when it is issued and again when it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.clusters import privileges
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, memberships
from chalicelib.store import users as user_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.store.memberships import MembershipRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord

Caller = UserRecord | ProviderRecord


def existing(ctx: Context, cluster_id: str) -> ClusterRecord:
    """The cluster (Onezone's `fetch_entity`), or 404."""
    cluster = cluster_store.TABLE.get(ctx, cluster_id)
    if cluster is None:
        raise OnedataError("notFound")
    return cluster


@dataclass(frozen=True)
class Rights:
    """A caller's rights in one cluster."""

    cluster_id: str
    own_provider: bool  # the cluster's own provider: every right
    user: UserRecord | None
    membership: MembershipRecord | None  # the user's, if they are a member

    @property
    def member(self) -> bool:
        return self.membership is not None

    def has(self, privilege: str) -> bool:
        """The cluster privilege, as the provider or through the membership."""
        return self.own_provider or (self.membership is not None and privilege in self.membership.privileges)

    def admin(self, *oz_privileges: str) -> bool:
        """Every one of the Onezone admin privileges (none asked: no admin path)."""
        return bool(oz_privileges) and self.user is not None and set(oz_privileges) <= set(self.user.privileges)

    def require(self, needed: tuple[str, ...], oz_needed: tuple[str, ...]) -> None:
        """403 unless the caller is the cluster's provider, holds all `needed` cluster privileges
        (as a member; none asked: no member path), or holds all `oz_needed` admin privileges."""
        as_member = bool(needed) and all(self.has(privilege) for privilege in needed)
        if not (self.own_provider or as_member or self.admin(*oz_needed)):
            raise OnedataError("forbidden")

    def still_op(self, ctx: Context, needed: tuple[str, ...]) -> db.TransactItem | None:
        """A transaction condition that the rights a change relied on still hold when it commits:
        the member still holds the `needed` privileges. None when the change did not rely on the
        membership: the provider's right is its cluster's existence, and an admin's is not worth
        a second condition on their item."""
        if self.own_provider or self.membership is None or not all(self.has(p) for p in needed):
            return None
        return memberships.holds_op(ctx, self.cluster_id, self.membership.userId, needed)


def rights(ctx: Context, caller: Caller, cluster_id: str) -> Rights:
    if isinstance(caller, ProviderRecord):
        return Rights(cluster_id, own_provider=caller.providerId == cluster_id, user=None, membership=None)
    return Rights(
        cluster_id, own_provider=False, user=caller, membership=memberships.get(ctx, cluster_id, caller.userId)
    )


def cluster_still_op(ctx: Context, cluster_id: str) -> db.TransactItem:
    """A transaction condition: the cluster still exists. Every change that creates a membership
    carries it, so once a deregistration has removed the cluster no membership can appear."""
    return cluster_store.TABLE.check_op(ctx, cluster_id)


def user_or_not_found(ctx: Context, user_id: str) -> UserRecord:
    user = user_store.get(ctx, user_id)
    if user is None:
        raise OnedataError("notFound")
    return user


ADD_RELATIONSHIPS = "oz_clusters_add_relationships"
SET_PRIVILEGES = "oz_clusters_set_privileges"


@dataclass(frozen=True)
class Authority:
    """Why an issuer may invite to a cluster - as its provider, through its membership's
    privileges, through its Onezone admin privileges (or both, one right each) - and so what must
    still hold when the invite is used."""

    issuer: UserRecord | ProviderRecord
    cluster_id: str
    member_privileges: tuple[str, ...] = field(default=())
    oz_privileges: tuple[str, ...] = field(default=())


def authority(ctx: Context, issuer: UserRecord | ProviderRecord, cluster_id: str, custom: bool) -> Authority:
    """The issuer's right to invite to `cluster_id` (and, for `custom` privileges, to set them),
    or Onezone's error for its lack."""
    if cluster_store.TABLE.get(ctx, cluster_id) is None:
        raise OnedataError("inviteTokenTargetIdInvalid", id=cluster_id)
    not_authorized = OnedataError("inviteTokenSubjectNotAuthorized")
    if isinstance(issuer, ProviderRecord):
        if issuer.providerId != cluster_id:
            raise not_authorized
        return Authority(issuer, cluster_id)
    held = rights(ctx, issuer, cluster_id)
    needed = [(privileges.ADD_USER, ADD_RELATIONSHIPS)]
    if custom:
        needed.append((privileges.SET_PRIVILEGES, SET_PRIVILEGES))
    as_member, as_admin = [], []
    for privilege, oz_privilege in needed:
        if held.has(privilege):
            as_member.append(privilege)
        elif held.admin(oz_privilege):
            as_admin.append(oz_privilege)
        else:
            raise not_authorized
    return Authority(issuer, cluster_id, tuple(as_member), tuple(as_admin))
