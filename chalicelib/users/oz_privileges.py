"""Onezone admin privileges of a user: `GET`/`PATCH /users/{id}/privileges`."""

from __future__ import annotations

from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import PrivilegesResponse, UpdatePrivilegesRequest
from chalicelib.store import users as user_store
from chalicelib.store.users import UserRecord

_PRIVILEGE_UPDATE_ATTEMPTS = 5


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
