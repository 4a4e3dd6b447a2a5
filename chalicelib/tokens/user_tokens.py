"""A user's own tokens: named and temporary, the successors of the deprecated registration token.

`POST /user/tokens/named` and `/user/tokens/temporary` mint access or identity tokens,
`registerOneprovider` invites or `userJoinCluster` invites, with any Onedata caveats. Named tokens
are stored (so they can be listed, inspected, revoked, deleted, and used a counted number of
times); their names are unique per user (an identifiers-table claim, like usernames), and each
user's named token ids are kept on the user item, so listing them reads one item. Temporary
tokens are not stored at all: raising the user's generation (`DELETE /user/tokens/temporary`)
revokes every one of them. What users and providers share is in `subject_tokens`.
"""

from __future__ import annotations

import time

from chalicelib.auth import require_privilege
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.config import RegistrationPolicy
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    TokenIdList,
    TokenInfo,
    TokenResponse,
    UpdateTokenRequest,
)
from chalicelib.store import db, memberships
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.tokens import TokenRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import subject_tokens
from chalicelib.tokens.codec import REGISTER_ONEPROVIDER, TokenType
from chalicelib.tokens.codec import Subject as TokenSubject
from chalicelib.tokens.subject_tokens import Owner

INVITE_PRIVILEGE = "oz_providers_invite"
LEGACY_NAME_PREFIX = "Oneprovider rgstr. token for"


def _issuable(ctx: Context, caller: UserRecord, token_type: TokenType) -> TokenType:
    """The type as issued: a registration invite names its admin (the caller unless given), and
    making somebody else a cluster's admin - or inviting at all under the restricted policy - is
    an administrator's decision. Every other type is for `subject_tokens.issuable` to judge."""
    if token_type.invite_type != REGISTER_ONEPROVIDER:
        return token_type
    admin_id = token_type.target_id or caller.userId
    if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED or admin_id != caller.userId:
        require_privilege(caller, INVITE_PRIVILEGE)
    if admin_id != caller.userId and user_store.get(ctx, admin_id) is None:
        raise OnedataError("badValueIdentifier", key="adminUserId")
    return TokenType.invite(REGISTER_ONEPROVIDER, admin_id)


def create_temporary(ctx: Context, caller: UserRecord, request: CreateTemporaryTokenRequest) -> TokenResponse:
    """`POST /user/tokens/temporary`: needs a time caveat within `MAX_TEMPORARY_TOKEN_TTL`."""
    return subject_tokens.create_temporary(ctx, Owner(caller), request, _issuable(ctx, caller, request.type))


def revoke_temporary(ctx: Context, caller: UserRecord) -> None:
    """`DELETE /user/tokens/temporary`: every temporary token of the caller stops working."""
    subject_tokens.revoke_temporary(ctx, Owner(caller))


def create_named(ctx: Context, caller: UserRecord, request: CreateNamedTokenRequest) -> CreatedToken:
    """`POST /user/tokens/named`; a name the user already uses is `badValueIdentifierOccupied`."""
    return subject_tokens.create_named(ctx, Owner(caller), request, _issuable(ctx, caller, request.type))


def create_legacy_registration_token(ctx: Context, caller: UserRecord, user_id: str | None = None) -> TokenResponse:
    """`POST /user/clusters/provider_registration_token` (deprecated), and its variant for a
    given user, `POST /users/{id}/clusters/provider_registration_token`: as in Onezone, a named
    single-use invite of the caller naming that user, which then shows among the caller's named
    tokens. A user may ask for themself under the open policy; otherwise it takes
    `oz_providers_invite`. Unlike Onezone's it expires (`PROVIDER_REGISTRATION_TOKEN_TTL`, as the
    seed's sample token does): a leaked, forgotten registration token should not stay usable."""
    admin_id = user_id or caller.userId
    admin = caller if admin_id == caller.userId else user_store.get(ctx, admin_id)
    if admin is None:
        raise OnedataError("notFound")
    if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED or admin_id != caller.userId:
        require_privilege(caller, INVITE_PRIVILEGE)
    expiry = (cv.Time(int(time.time()) + ctx.settings.registration_token_ttl),)
    token_type = TokenType.invite(REGISTER_ONEPROVIDER, admin_id)
    return subject_tokens.create_legacy(ctx, Owner(caller), token_type, legacy_description(admin.fullName), expiry)


def legacy_description(full_name: str) -> str:
    return f"{LEGACY_NAME_PREFIX} - {full_name}"


def legacy_token_name(full_name: str) -> str:
    """`Oneprovider rgstr. token for - <full name> <6 hex digits>`, at most 50 bytes."""
    return subject_tokens.legacy_name(legacy_description(full_name))


def list_named(caller: UserRecord) -> TokenIdList:
    return subject_tokens.list_named(Owner(caller))


def _owned(ctx: Context, caller: UserRecord, token_id: str) -> TokenRecord:
    """A named token the caller may manage: theirs, a provider's whose cluster they may update
    (`cluster_update`), or any, with `oz_tokens_manage`."""
    record = token_store.TABLE.get(ctx, token_id)
    mine = record is not None and record.subject == TokenSubject("user", caller.userId)
    if record is not None and record.subjectType == "oneprovider" and not mine:
        membership = memberships.get(ctx, record.subjectId, caller.userId)
        mine = membership is not None and cluster_privileges.UPDATE in membership.privileges
    if not mine and "oz_tokens_manage" not in caller.privileges:
        raise OnedataError("forbidden", hint="requires being the token's subject or the privilege oz_tokens_manage")
    if record is None:
        raise OnedataError("notFound")
    return record


def info(ctx: Context, caller: UserRecord, token_id: str) -> TokenInfo:
    """`GET /tokens/named/{id}`: Onezone's fields, the token itself minted again from its item."""
    return subject_tokens.info(ctx, _owned(ctx, caller, token_id))


def update(ctx: Context, caller: UserRecord, token_id: str, request: UpdateTokenRequest) -> None:
    """`PATCH /tokens/named/{id}` with `{"revoked": true|false}`."""
    record = _owned(ctx, caller, token_id)
    op = token_store.TABLE.update_op(ctx, record.tokenId, {"revoked": request.revoked})["Update"]
    if not db.conditional_write(ctx.aws.dynamodb.update_item, **op):
        raise OnedataError("notFound")


def delete(ctx: Context, caller: UserRecord, token_id: str) -> None:
    """`DELETE /tokens/named/{id}`: the token stops working at once and its name is free again."""
    subject_tokens.delete(ctx, _owned(ctx, caller, token_id))
