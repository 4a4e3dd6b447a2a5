"""The tokens of a subject - a user or a Oneprovider, alike: what both `user_tokens` and
`provider_tokens` do, with the subject's item as the one difference.

- Temporary tokens are minted for the subject's current generation, with a time caveat of at
  most `MAX_TEMPORARY_TOKEN_TTL` (`tokenTimeCaveatRequired`); nothing is stored, and raising the
  generation (`revoke_temporary`) revokes all of them.
- Named tokens are stored: the token item, its name claimed for the subject (names are unique
  per subject: `badValueIdentifierOccupied`) and its id on the subject's `namedTokens` list, all
  in one transaction; they can be shown (minted again from the item), found by name, deleted.
- What may be issued is Onezone's `validate_type`: access and identity tokens for anyone (an
  access token's `service` caveats must name services allowed to serve its subject), a
  `registerOneprovider` invite by users only (`user_tokens`), a `userJoinCluster` invite by whoever
  may invite to that cluster (`clusters.access.authority`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from chalicelib import observability
from chalicelib.clusters import access
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    Subject,
    TemporaryTokenGeneration,
    TokenIdList,
    TokenInfo,
    TokenResponse,
)
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.tokens import TokenRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import issuing, services
from chalicelib.tokens.codec import USER_JOIN_CLUSTER, TokenType
from chalicelib.tokens.codec import Subject as TokenSubject

MAX_LEGACY_NAME_BYTES = 50
NAME_ATTEMPTS = 3
NAMED_TOKENS = "namedTokens"


@dataclass(frozen=True)
class Owner:
    """A subject of tokens, with the item that lists its named tokens and holds its temporary
    token generation."""

    record: UserRecord | ProviderRecord

    @property
    def subject(self) -> TokenSubject:
        if isinstance(self.record, ProviderRecord):
            return TokenSubject("oneprovider", self.record.providerId)
        return TokenSubject("user", self.record.userId)

    @property
    def id(self) -> str:
        return self.subject.id or ""

    @property
    def table(self) -> db.Table:  # type: ignore[type-arg]
        return provider_store.TABLE if isinstance(self.record, ProviderRecord) else user_store.TABLE


def create_temporary(
    ctx: Context, owner: Owner, request: CreateTemporaryTokenRequest, token_type: TokenType | None = None
) -> TokenResponse:
    """A temporary token of `request`'s type (or the `token_type` a caller settled for it) and
    caveats, which must include a time caveat within `MAX_TEMPORARY_TOKEN_TTL`."""
    limit = ctx.settings.max_temporary_token_ttl
    expires = cv.expiration(request.caveats)
    if expires is None or expires - int(time.time()) > limit:
        raise OnedataError("tokenTimeCaveatRequired", maxTtl=limit)
    chosen = issuable(ctx, owner, token_type or request.type, request.caveats, custom=False)
    token = issuing.temporary(ctx, owner.subject, owner.record.temporaryTokenGeneration, chosen, request.caveats)
    observability.count("TokenIssued")
    return TokenResponse(token=token)


def issuable(
    ctx: Context, owner: Owner, token_type: TokenType, caveats: tuple[cv.Caveat, ...], custom: bool
) -> TokenType:
    """What the owner may issue, as `validate_type` decides: a cluster invite by whoever may
    invite to the cluster (and set privileges, if `custom`), an access token whose service
    caveats allow its subject. `registerOneprovider` invites are the users' (`user_tokens`)."""
    if token_type.kind == "accessToken":
        services.require_allowed_by_caveats(ctx, owner.subject, caveats)
    if token_type.kind == "inviteToken" and token_type.invite_type == USER_JOIN_CLUSTER:
        access.authority(ctx, owner.record, token_type.target_id or "", custom)
    elif token_type.kind == "inviteToken" and isinstance(owner.record, ProviderRecord):
        raise OnedataError("inviteTokenSubjectNotAuthorized")  # providers invite to their cluster only
    return token_type


def revoke_temporary(ctx: Context, owner: Owner) -> None:
    """Every temporary token of the owner stops working (Onezone regenerates its secret)."""
    if not owner.table.increment(ctx, owner.id, "temporaryTokenGeneration"):
        raise OnedataError("notFound")


def generation(owner: Owner) -> TemporaryTokenGeneration:
    return TemporaryTokenGeneration(generation=owner.record.temporaryTokenGeneration)


def create_named(
    ctx: Context, owner: Owner, request: CreateNamedTokenRequest, token_type: TokenType | None = None
) -> CreatedToken:
    """A named token of `request` (of `token_type`, if the caller settled it); a name the owner
    already uses is `badValueIdentifierOccupied`."""
    chosen = issuable(ctx, owner, token_type or request.type, request.caveats, custom=request.privileges is not None)
    record = named_record(owner, chosen, request.name, request.caveats, request.usageLimit, request.privileges)
    token = issuing.serialize_named(ctx, record)  # before storing: a failure then leaves nothing
    if not store_named(ctx, owner, record):
        raise OnedataError("badValueIdentifierOccupied", key="name")
    observability.count("TokenIssued")
    return CreatedToken(tokenId=record.tokenId, token=token)


def named_record(
    owner: Owner,
    token_type: TokenType,
    name: str,
    caveats: tuple[cv.Caveat, ...] = (),
    usage_limit: int | str = "infinity",
    privileges: list[str] | None = None,
) -> TokenRecord:
    """The item of a new named token: an invite's usage limit (None: infinity), and a cluster
    invite's privileges - as given, or the default it then carries (`token_metadata:build`)."""
    invite = token_type.kind == "inviteToken"
    record = issuing.named_record(
        owner.subject,
        token_type,
        name,
        int(time.time()),
        caveats,
        usage_limit if invite and isinstance(usage_limit, int) else None,
    )
    if invite and token_type.invite_type == USER_JOIN_CLUSTER:
        carried = privileges if privileges is not None else cluster_privileges.INVITE_DEFAULT
        record = record.model_copy(update={"privileges": carried})
    return record


def store_named(ctx: Context, owner: Owner, record: TokenRecord) -> bool:
    """Store a named token with its name claimed and its id on the owner's list, all at once;
    False if the owner already has a token of that name."""
    try:
        db.transact(
            ctx.aws.dynamodb,
            [
                token_store.TABLE.put_new_op(ctx, record),
                identifiers.claim_op(
                    ctx, token_store.NAME_CLAIM, token_store.name_key(record), record.tokenId, record.createdAt
                ),
                owner.table.set_member_op(ctx, owner.id, NAMED_TOKENS, record.tokenId, add=True),
            ],
        )
    except db.Cancelled:
        return False
    return True


def create_legacy(
    ctx: Context, owner: Owner, token_type: TokenType, description: str, caveats: tuple[cv.Caveat, ...] = ()
) -> TokenResponse:
    """A deprecated endpoint's invite: single use, with the default privileges, named after what
    it invites to (`legacy_name`; its random suffix makes a taken name all but impossible)."""
    for _ in range(NAME_ATTEMPTS):
        record = named_record(owner, token_type, legacy_name(description), caveats, 1)
        token = issuing.serialize_named(ctx, record)  # before storing: a failure then leaves nothing
        if store_named(ctx, owner, record):
            observability.count("TokenIssued")
            return TokenResponse(token=token)
    raise OnedataError("temporaryFailure", headers={"Retry-After": "1"})


def legacy_name(description: str) -> str:
    """`<description> <6 hex digits>`, at most 50 bytes: a long description is cut and ends with
    `...` (Onezone's `format_invite_token_name`)."""
    suffix = secrets.token_hex(3)
    name = f"{description} {suffix}"
    while len(name.encode()) > MAX_LEGACY_NAME_BYTES:
        description = description.removesuffix("...")[:-1] + "..."
        name = f"{description} {suffix}"
    return name


def list_named(owner: Owner) -> TokenIdList:
    return TokenIdList(tokens=owner.record.namedTokens)


def by_name(ctx: Context, owner: Owner, name: str) -> TokenInfo:
    """`GET .../tokens/named/name/{name}`: 404 if the owner has no token of that name."""
    token_id = identifiers.owner(ctx, token_store.NAME_CLAIM, f"{owner.id}:{name}")
    record = token_store.TABLE.get(ctx, token_id) if token_id else None
    if record is None or record.subject != owner.subject:
        raise OnedataError("notFound")
    return info(ctx, record)


def info(ctx: Context, record: TokenRecord) -> TokenInfo:
    """Onezone's named token object, the token itself minted again from its item."""
    metadata: dict[str, object] = {"creationTime": record.createdAt, "custom": {}}
    usage_limit: int | str | None = None
    if record.token_type.kind == "inviteToken":
        usage_limit = record.usageLimit if record.usageLimit is not None else "infinity"
        metadata.update(privileges=record.privileges, usageLimit=usage_limit, usageCount=record.usageCount)
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


def delete_ops(ctx: Context, record: TokenRecord, must_exist: bool = True) -> list[db.TransactItem]:
    """What deleting a named token writes: its item, its name claim, its id on its subject's list
    (a provider's root token, older than name claims, may have none). Without `must_exist`, a
    clean-up that may find any of them gone."""
    table = provider_store.TABLE if record.subjectType == "oneprovider" else user_store.TABLE
    ops = [
        token_store.TABLE.delete_op(ctx, record.tokenId, must_exist=must_exist),
        identifiers.release_op(
            ctx, token_store.NAME_CLAIM, token_store.name_key(record), record.tokenId, must_exist=False
        ),
    ]
    if must_exist:
        ops.append(table.set_member_op(ctx, record.subjectId, NAMED_TOKENS, record.tokenId, add=False))
    return ops


def delete(ctx: Context, record: TokenRecord) -> None:
    """Delete a named token: it stops working at once and its name is free again."""
    try:
        db.transact(ctx.aws.dynamodb, delete_ops(ctx, record))
    except db.Cancelled:
        raise OnedataError("notFound") from None
