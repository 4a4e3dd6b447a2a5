"""What the API shows of a user: Onezone's protected view (`GET /user`, `GET /users/{id}`) and
its shared view (what cluster membership paths show), each with the deprecated aliases Onezone
still sends (`name` of `fullName`; `login`, `alias` of `username`; `emailList` of `emails`).

This registry keeps no e-mail addresses nor linked identity provider accounts, and blocks no
user: `emails` and `linkedAccounts` are empty and `blocked` false. Onepanel reads `userId`,
`name`, `linkedAccounts`, `username` and `emails` with no default, so all are always there.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import UserResponse, UserShared
from chalicelib.store import users as user_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord


def shared(user: UserRecord) -> UserShared:
    return UserShared(
        userId=user.userId,
        fullName=user.fullName,
        username=user.username,
        creationTime=user.createdAt,
        name=user.fullName,
        login=user.username,
        alias=user.username,
    )


def describe(user: UserRecord) -> UserResponse:
    """The protected view. Every user here has a password, so Basic authentication works for all."""
    return UserResponse(
        **shared(user).model_dump(),
        basicAuthEnabled=True,
        blocked=False,
        emails=[],
        emailList=[],
        linkedAccounts=[],
    )


def get(ctx: Context, caller: UserRecord | ProviderRecord, user_id: str) -> UserResponse:
    """`GET /users/{id}`: the user themself, or holders of `oz_users_view`; a provider never
    (Onezone answers it 403). As in Onezone, the user is looked up first: 404 if there is none."""
    user = caller if isinstance(caller, UserRecord) and caller.userId == user_id else user_store.get(ctx, user_id)
    if user is None:
        raise OnedataError("notFound")
    if user is not caller and (not isinstance(caller, UserRecord) or "oz_users_view" not in caller.privileges):
        raise OnedataError("forbidden", hint="requires being that user or the privilege oz_users_view")
    return describe(user)
