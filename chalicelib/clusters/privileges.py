"""Cluster privileges: Onezone's sets of them (ctool's `privileges`), and what a grant and a
revoke make of a member's privileges.

Privilege lists are ordsets in Onezone, so they are always sorted here too: stored, compared and
answered sorted and without duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable

VIEW = "cluster_view"
UPDATE = "cluster_update"
DELETE = "cluster_delete"
VIEW_PRIVILEGES = "cluster_view_privileges"
SET_PRIVILEGES = "cluster_set_privileges"
ADD_USER = "cluster_add_user"
REMOVE_USER = "cluster_remove_user"
ADD_GROUP = "cluster_add_group"
REMOVE_GROUP = "cluster_remove_group"

MEMBER = [VIEW]  # `privileges:cluster_member()`
MANAGER = sorted([*MEMBER, ADD_USER, REMOVE_USER, ADD_GROUP, REMOVE_GROUP])
ADMIN = sorted([*MANAGER, UPDATE, DELETE, VIEW_PRIVILEGES, SET_PRIVILEGES])
ALL = ADMIN  # `privileges:cluster_privileges()`

# What a `userJoinCluster` invite gives when it names no privileges: the admin set, as Onezone
# 21.02 does (`token_metadata:default_invite_privileges`, "@TODO VFS-5815 temp. solution").
INVITE_DEFAULT = ADMIN


def ordered(privileges: Iterable[str]) -> list[str]:
    return sorted(set(privileges))


def changed(current: Iterable[str], grant: Iterable[str], revoke: Iterable[str]) -> list[str]:
    """`PATCH .../privileges`: the granted ones, and the current ones that are not revoked (a
    privilege both granted and revoked is granted, as `entity_graph:update_privileges` does)."""
    return ordered(set(grant) | (set(current) - set(revoke)))


def sets() -> dict[str, list[str]]:
    """`GET /clusters/privileges`."""
    return {"member": MEMBER, "manager": MANAGER, "admin": ADMIN}
