"""Users: the current user, admin-created users, Onezone admin privileges, the bootstrap admin."""

from __future__ import annotations

import secrets
import time

from chalicelib import passwords
from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    OZ_PRIVILEGES,
    CreateUserRequest,
    CreateUserResponse,
    PrivilegesResponse,
    UpdatePrivilegesRequest,
    UserResponse,
)
from chalicelib.store import db
from chalicelib.store import users as user_store
from chalicelib.store.users import UserRecord

_PRIVILEGE_UPDATE_ATTEMPTS = 5


def new_id() -> str:
    return secrets.token_hex(16)


def describe(user: UserRecord) -> UserResponse:
    return UserResponse(userId=user.userId, username=user.username, fullName=user.fullName)


def create(ctx: Context, caller: UserRecord, request: CreateUserRequest) -> CreateUserResponse:
    """`POST /users` (privilege `oz_users_create`)."""
    require_privilege(caller, "oz_users_create")
    user = _new_user(request.username, request.password, request.fullName or request.username, [])
    try:
        user_store.create(ctx, user)
    except db.Cancelled:
        raise OnedataError("badValueIdentifierOccupied", key="username") from None
    return CreateUserResponse(userId=user.userId)


def _new_user(username: str, password: str, full_name: str, privileges: list[str]) -> UserRecord:
    return UserRecord(
        userId=new_id(),
        username=username,
        fullName=full_name,
        passwordHash=passwords.hash_password(password),
        privileges=sorted(privileges),
        createdAt=int(time.time()),
    )


def _existing(ctx: Context, user_id: str) -> UserRecord:
    user = user_store.get(ctx, user_id)
    if user is None:
        raise OnedataError("notFound")
    return user


def get_privileges(ctx: Context, caller: UserRecord, user_id: str) -> PrivilegesResponse:
    """`GET /users/{id}/privileges` (privilege `oz_view_privileges`)."""
    require_privilege(caller, "oz_view_privileges")
    return PrivilegesResponse(privileges=_existing(ctx, user_id).privileges)


def update_privileges(ctx: Context, caller: UserRecord, user_id: str, request: UpdatePrivilegesRequest) -> None:
    """`PATCH /users/{id}/privileges` with `grant`/`revoke` lists (privilege `oz_set_privileges`).

    Applied as compare-and-set on the stored list, retried on a concurrent change, so two admins
    granting different privileges at once both take effect.
    """
    require_privilege(caller, "oz_set_privileges")
    if not request.grant and not request.revoke:
        raise OnedataError("missingAtLeastOneValue", keys=["grant", "revoke"])
    for _ in range(_PRIVILEGE_UPDATE_ATTEMPTS):
        current = _existing(ctx, user_id).privileges
        wanted = sorted((set(current) | set(request.grant)) - set(request.revoke))
        if wanted == current or user_store.replace_privileges(ctx, user_id, current, wanted):
            return
    raise OnedataError("temporaryFailure", headers={"Retry-After": "1"})


def ensure_admin(ctx: Context, username: str, password: str) -> bool:
    """Create the bootstrap admin with every privilege unless the username exists.

    Returns True when it was created. An existing account is left untouched, so re-running the
    bootstrap never resets a password an operator has since changed.
    """
    if user_store.get_by_username(ctx, username) is not None:
        return False
    try:
        user_store.create(ctx, _new_user(username, password, "Onezone administrator", list(OZ_PRIVILEGES)))
    except db.Cancelled:
        return False
    return True
