"""Named and temporary tokens, the successors of the deprecated registration token endpoint.

`POST /user/tokens/named` and `/user/tokens/temporary` mint access tokens or provider
registration invites (`{"inviteToken": {"inviteType": "registerOneprovider", "adminUserId": ...}}`);
named ones can be listed, inspected, revoked and deleted; `POST /tokens/examine` shows what a
token is. Named token names are unique per user (an identifiers-table claim, like usernames),
and each user's named token ids are kept on the user item, so listing them reads one item.
"""

from __future__ import annotations

import time

from chalicelib import tokens
from chalicelib.auth import require_privilege
from chalicelib.config import RegistrationPolicy
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    ExaminedToken,
    Subject,
    TimeCaveat,
    TokenIdList,
    TokenInfo,
    UpdateTokenRequest,
)
from chalicelib.store import db, identifiers
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.tokens import SubjectType, TokenRecord, TokenType
from chalicelib.store.users import UserRecord

MAX_TEMPORARY_TTL = 30 * 24 * 3600  # Onezone's limit for temporary tokens
NAME_CLAIM = "tokenname"


def _record(
    ctx: Context, caller: UserRecord, request: CreateTemporaryTokenRequest, now: int, persistence: str
) -> TokenRecord:
    """The record a create request describes, after checking the caller may issue it."""
    expires = min((caveat.validUntil for caveat in request.caveats), default=None)
    invite = request.type.inviteToken
    admin_id = None
    if invite is not None:
        if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED:
            require_privilege(caller, "oz_providers_invite")
        admin_id = invite.adminUserId or caller.userId
        if admin_id != caller.userId:
            # Making somebody else the admin of a cluster is an administrator's decision.
            require_privilege(caller, "oz_providers_invite")
            if user_store.get(ctx, admin_id) is None:
                raise OnedataError("badValueIdentifier", key="adminUserId")
    return tokens.new_record(
        SubjectType.USER, caller.userId, now, invite_admin=admin_id, expiresAt=expires, persistence=persistence
    )


def create_temporary(ctx: Context, caller: UserRecord, request: CreateTemporaryTokenRequest) -> CreatedToken:
    """`POST /user/tokens/temporary`: needs a time caveat within `MAX_TEMPORARY_TTL`."""
    now = int(time.time())
    if not request.caveats or min(c.validUntil for c in request.caveats) > now + MAX_TEMPORARY_TTL:
        raise OnedataError("tokenTimeCaveatRequired", maxTtl=MAX_TEMPORARY_TTL)
    record = _record(ctx, caller, request, now, "temporary")
    return CreatedToken(tokenId=record.tokenId, token=tokens.issue(ctx, record))


def create_named(ctx: Context, caller: UserRecord, request: CreateNamedTokenRequest) -> CreatedToken:
    """`POST /user/tokens/named`; a name the user already uses is `badValueIdentifierOccupied`."""
    now = int(time.time())
    record = _record(ctx, caller, request, now, "named")
    limit = None if request.usageLimit in (None, "infinity") else int(request.usageLimit)
    record = record.model_copy(update={"name": request.name, "usageLimit": limit})
    try:
        db.transact(
            ctx.aws.dynamodb,
            [
                token_store.TABLE.put_new_op(ctx, record),
                identifiers.claim_op(ctx, NAME_CLAIM, f"{caller.userId}:{request.name}", record.tokenId, now),
                user_store.set_member_op(ctx, caller.userId, "namedTokens", record.tokenId, add=True),
            ],
        )
    except db.Cancelled:
        raise OnedataError("badValueIdentifierOccupied", key="name") from None
    return CreatedToken(tokenId=record.tokenId, token=tokens.serialize(ctx, record))


def list_named(caller: UserRecord) -> TokenIdList:
    return TokenIdList(tokens=caller.namedTokens)


def _owned(ctx: Context, caller: UserRecord, token_id: str) -> TokenRecord:
    """A named token the caller issued (or any, with `oz_tokens_manage`)."""
    record = token_store.TABLE.get(ctx, token_id)
    mine = record is not None and record.subjectType is SubjectType.USER and record.subjectId == caller.userId
    if not mine and "oz_tokens_manage" not in caller.privileges:
        raise OnedataError("forbidden", hint="requires being the token's subject or the privilege oz_tokens_manage")
    if record is None or record.persistence != "named":
        raise OnedataError("notFound")
    return record


def _caveats(record: TokenRecord) -> list[TimeCaveat]:
    return [TimeCaveat(type="time", validUntil=record.expiresAt)] if record.expiresAt is not None else []


def _type(record: TokenRecord) -> dict[str, object]:
    if record.type is TokenType.ACCESS:
        return {"accessToken": {}}
    return {"inviteToken": {"inviteType": record.inviteType, "adminUserId": record.adminUserId}}


def _subject(record: TokenRecord) -> Subject:
    return Subject(type=record.subjectType.value, id=record.subjectId)


def info(ctx: Context, caller: UserRecord, token_id: str) -> TokenInfo:
    """`GET /tokens/named/{id}`."""
    record = _owned(ctx, caller, token_id)
    return TokenInfo(
        id=record.tokenId,
        name=record.name,
        persistence=record.persistence,
        subject=_subject(record),
        type=_type(record),
        caveats=_caveats(record),
        revoked=record.revoked,
        usageLimit=record.usageLimit if record.usageLimit is not None else "infinity",
        usageCount=record.usageCount,
        creationTime=record.createdAt,
    )


def update(ctx: Context, caller: UserRecord, token_id: str, request: UpdateTokenRequest) -> None:
    """`PATCH /tokens/named/{id}` with `{"revoked": true|false}`."""
    record = _owned(ctx, caller, token_id)
    op = token_store.TABLE.update_op(ctx, record.tokenId, {"revoked": request.revoked})["Update"]
    if not db.conditional_write(ctx.aws.dynamodb.update_item, **op):
        raise OnedataError("notFound")


def delete(ctx: Context, caller: UserRecord, token_id: str) -> None:
    """`DELETE /tokens/named/{id}`: the token stops working at once and its name is free again."""
    record = _owned(ctx, caller, token_id)
    ops = [token_store.TABLE.delete_op(ctx, record.tokenId)]
    if record.name is not None:
        ops.append(identifiers.release_op(ctx, NAME_CLAIM, f"{record.subjectId}:{record.name}", record.tokenId))
    ops.append(user_store.set_member_op(ctx, record.subjectId, "namedTokens", record.tokenId, add=False))
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled:
        raise OnedataError("notFound") from None


def examine(ctx: Context, serialized: str) -> ExaminedToken:
    """`POST /tokens/examine`: what a genuine token is, even if expired or revoked.

    The signature is verified first, so the stored record is never shown for a forged token.
    """
    try:
        macaroon = tokens.parse(serialized)
    except OnedataError as error:
        raise OnedataError("badValueToken", key="token", tokenError=error) from None
    record = tokens.authentic_record(ctx, macaroon)
    return ExaminedToken(
        id=record.tokenId,
        persistence=record.persistence,
        subject=_subject(record),
        type=_type(record),
        caveats=_caveats(record),
        onezoneDomain=ctx.settings.zone_domain,
    )
