"""User accounts: admin-created users (`POST /users`) and the bootstrap admin."""

from __future__ import annotations

import secrets
import time

from chalicelib import passwords
from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import OZ_PRIVILEGES, CreateUserRequest, CreateUserResponse
from chalicelib.store import db
from chalicelib.store import users as user_store
from chalicelib.store.users import UserRecord


def new_id() -> str:
    return secrets.token_hex(16)


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
