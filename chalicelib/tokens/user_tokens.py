"""A user's own tokens: named and temporary, the successors of the deprecated registration token.

`POST /user/tokens/named` and `/user/tokens/temporary` mint access or identity tokens, or
`registerOneprovider` invites, with any Onedata caveats. Named tokens are stored (so they can be
listed, inspected, revoked, deleted, and used a counted number of times); their names are unique
per user (an identifiers-table claim, like usernames), and each user's named token ids are kept on
the user item, so listing them reads one item. Temporary tokens are not stored at all: raising the
user's generation (`DELETE /user/tokens/temporary`) revokes every one of them.
"""

from __future__ import annotations

import secrets
import time

from chalicelib import observability
from chalicelib.auth import require_privilege
from chalicelib.config import RegistrationPolicy
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    Subject,
    TokenIdList,
    TokenInfo,
    TokenResponse,
    UpdateTokenRequest,
)
from chalicelib.store import db, identifiers
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.tokens import TokenRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import issuing
from chalicelib.tokens.codec import REGISTER_ONEPROVIDER, TokenType
from chalicelib.tokens.codec import Subject as TokenSubject

MAX_TEMPORARY_TTL = 30 * 24 * 3600  # Onezone's `max_temporary_token_ttl`
NAME_CLAIM = "tokenname"
INVITE_PRIVILEGE = "oz_providers_invite"
LEGACY_NAME_PREFIX = "Oneprovider rgstr. token for"
MAX_LEGACY_NAME_BYTES = 50
_NAME_ATTEMPTS = 3


def _issuable(ctx: Context, caller: UserRecord, token_type: TokenType) -> TokenType:
    """The type as issued: an invite names its admin (the caller unless given), and making
    somebody else a cluster's admin - or inviting at all under the restricted policy - is an
    administrator's decision."""
    if token_type.kind != "inviteToken":
        return token_type
    admin_id = token_type.target_id or caller.userId
    if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED or admin_id != caller.userId:
        require_privilege(caller, INVITE_PRIVILEGE)
    if admin_id != caller.userId and user_store.get(ctx, admin_id) is None:
        raise OnedataError("badValueIdentifier", key="adminUserId")
    return TokenType.invite(REGISTER_ONEPROVIDER, admin_id)


def create_temporary(ctx: Context, caller: UserRecord, request: CreateTemporaryTokenRequest) -> TokenResponse:
    """`POST /user/tokens/temporary`: needs a time caveat within `MAX_TEMPORARY_TTL`."""
    expires = cv.expiration(request.caveats)
    if expires is None or expires - int(time.time()) > MAX_TEMPORARY_TTL:
        raise OnedataError("tokenTimeCaveatRequired", maxTtl=MAX_TEMPORARY_TTL)
    token_type = _issuable(ctx, caller, request.type)
    subject = TokenSubject("user", caller.userId)
    token = issuing.temporary(ctx, subject, caller.temporaryTokenGeneration, token_type, request.caveats)
    observability.count("TokenIssued")
    return TokenResponse(token=token)


def revoke_temporary(ctx: Context, caller: UserRecord) -> None:
    """`DELETE /user/tokens/temporary`: every temporary token of the caller stops working."""
    if not user_store.next_token_generation(ctx, caller.userId):
        raise OnedataError("notFound")


def create_named(ctx: Context, caller: UserRecord, request: CreateNamedTokenRequest) -> CreatedToken:
    """`POST /user/tokens/named`; a name the user already uses is `badValueIdentifierOccupied`."""
    token_type = _issuable(ctx, caller, request.type)
    limit = None if request.usageLimit == "infinity" or token_type.kind != "inviteToken" else request.usageLimit
    record = issuing.named_record(
        TokenSubject("user", caller.userId), token_type, request.name, int(time.time()), request.caveats, limit
    )
    token = issuing.serialize_named(ctx, record)  # before storing: a failure then leaves nothing
    if not store_named(ctx, record):
        raise OnedataError("badValueIdentifierOccupied", key="name")
    observability.count("TokenIssued")
    return CreatedToken(tokenId=record.tokenId, token=token)


def store_named(ctx: Context, record: TokenRecord) -> bool:
    """Store a user's named token with its name claimed and its id on the user's list, all at
    once; False if the user already has a token of that name."""
    try:
        db.transact(
            ctx.aws.dynamodb,
            [
                token_store.TABLE.put_new_op(ctx, record),
                identifiers.claim_op(ctx, NAME_CLAIM, _name_key(record), record.tokenId, record.createdAt),
                user_store.set_member_op(ctx, record.subjectId, "namedTokens", record.tokenId, add=True),
            ],
        )
    except db.Cancelled:
        return False
    return True


def _name_key(record: TokenRecord) -> str:
    return f"{record.subjectId}:{record.name}"


def create_legacy_registration_token(ctx: Context, caller: UserRecord) -> TokenResponse:
    """`POST /user/clusters/provider_registration_token` (deprecated): as in Onezone, a named
    single-use invite named after its user, which then shows among the user's named tokens.
    Unlike Onezone's it expires (`PROVIDER_REGISTRATION_TOKEN_TTL`, as the seed's sample token
    does): a leaked, forgotten registration token should not stay usable for ever."""
    if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED:
        require_privilege(caller, INVITE_PRIVILEGE)
    token_type = TokenType.invite(REGISTER_ONEPROVIDER, caller.userId)
    subject = TokenSubject("user", caller.userId)
    now = int(time.time())
    expiry = [cv.Time(now + ctx.settings.registration_token_ttl)]
    for _ in range(_NAME_ATTEMPTS):  # the random suffix makes a taken name all but impossible
        record = issuing.named_record(subject, token_type, legacy_token_name(caller.fullName), now, expiry, 1)
        token = issuing.serialize_named(ctx, record)  # before storing: a failure then leaves nothing
        if store_named(ctx, record):
            observability.count("TokenIssued")
            return TokenResponse(token=token)
    raise OnedataError("temporaryFailure", headers={"Retry-After": "1"})


def legacy_token_name(full_name: str) -> str:
    """`Oneprovider rgstr. token for - <full name> <6 hex digits>`, at most 50 bytes: a long
    full name is cut and ends with `...` (Onezone's `format_invite_token_name`)."""
    suffix = secrets.token_hex(3)
    name = f"{LEGACY_NAME_PREFIX} - {full_name} {suffix}"
    while len(name.encode()) > MAX_LEGACY_NAME_BYTES:
        full_name = full_name.removesuffix("...")[:-1] + "..."
        name = f"{LEGACY_NAME_PREFIX} - {full_name} {suffix}"
    return name


def list_named(caller: UserRecord) -> TokenIdList:
    return TokenIdList(tokens=caller.namedTokens)


def _owned(ctx: Context, caller: UserRecord, token_id: str) -> TokenRecord:
    """A named token the caller is the subject of (or any, with `oz_tokens_manage`)."""
    record = token_store.TABLE.get(ctx, token_id)
    mine = record is not None and record.subject == TokenSubject("user", caller.userId)
    if not mine and "oz_tokens_manage" not in caller.privileges:
        raise OnedataError("forbidden", hint="requires being the token's subject or the privilege oz_tokens_manage")
    if record is None:
        raise OnedataError("notFound")
    return record


def info(ctx: Context, caller: UserRecord, token_id: str) -> TokenInfo:
    """`GET /tokens/named/{id}`: Onezone's fields, the token itself minted again from its item."""
    record = _owned(ctx, caller, token_id)
    metadata: dict[str, object] = {"creationTime": record.createdAt, "custom": {}}
    usage_limit: int | str | None = None
    if record.token_type.kind == "inviteToken":
        usage_limit = record.usageLimit if record.usageLimit is not None else "infinity"
        metadata.update(privileges=None, usageLimit=usage_limit, usageCount=record.usageCount)
    return TokenInfo(
        id=record.tokenId,
        name=record.name,
        persistence="named",
        subject=Subject(**record.subject.to_json()),
        type=record.token_type.to_json(),
        caveats=[cv.parse(caveat).to_json() for caveat in record.caveats],
        metadata=metadata,
        revoked=record.revoked,
        token=issuing.serialize_named(ctx, record),
        usageLimit=usage_limit,
        usageCount=record.usageCount if usage_limit is not None else None,
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
    if record.subjectType == "user":  # a provider's root token has no claimed name and no list
        ops += [
            identifiers.release_op(ctx, NAME_CLAIM, _name_key(record), record.tokenId),
            user_store.set_member_op(ctx, record.subjectId, "namedTokens", record.tokenId, add=False),
        ]
    try:
        db.transact(ctx.aws.dynamodb, ops)
    except db.Cancelled:
        raise OnedataError("notFound") from None
