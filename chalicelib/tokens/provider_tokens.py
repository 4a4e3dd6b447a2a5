"""A Oneprovider's tokens: `/provider/tokens/...` (the provider itself) and
`/providers/{id}/tokens/...` (the same, for whoever may manage them).

Onepanel needs two of them. It signs a user in with its provider's identity token as its service
token (`POST /provider/tokens/temporary` with an `identityToken` type and a time caveat, when it
cannot get one from op-worker over GraphSync), and it invites colleagues with a named
`userJoinCluster` invite (`POST /provider/tokens/named`). Temporary tokens are signed for the
provider item's `temporaryTokenGeneration`, as a user's are for theirs; named tokens are listed on
the provider item - its root token among them, which `DELETE .../tokens/named` deletes too, as
Onezone does (the provider then cannot authenticate until it registers again).

Who may manage them (`token_logic_plugin:authorize`): the provider itself, a user holding
`cluster_update` in its cluster, or holders of `oz_tokens_manage`; the generation may also be
read by any member of its cluster.
"""

from __future__ import annotations

from chalicelib.clusters import access
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import (
    CreatedToken,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    TemporaryTokenGeneration,
    TokenIdList,
    TokenInfo,
    TokenResponse,
)
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import subject_tokens
from chalicelib.tokens.subject_tokens import Owner

MANAGE = "oz_tokens_manage"
Caller = UserRecord | ProviderRecord


def create_temporary(ctx: Context, provider: ProviderRecord, request: CreateTemporaryTokenRequest) -> TokenResponse:
    """A temporary token of `provider` from a validated request body (its `type` and `caveats`):
    what `POST /provider/tokens/temporary` answers and what op-worker asks for over GraphSync
    (`create token.null.provider_temporary_token,<id>`). `tokenTimeCaveatRequired` without a time
    caveat within `MAX_TEMPORARY_TOKEN_TTL`."""
    return subject_tokens.create_temporary(ctx, Owner(provider), request)


def _owner(ctx: Context, caller: Caller, provider_id: str, read_only: bool = False) -> Owner:
    """The provider whose tokens `caller` acts on: 403 unless it may (others do not learn whether
    the provider exists), 404 if it may but the provider is gone."""
    if isinstance(caller, ProviderRecord):
        allowed = caller.providerId == provider_id
    else:
        rights = access.rights(ctx, caller, provider_id)
        allowed = (rights.member if read_only else rights.has(cluster_privileges.UPDATE)) or rights.admin(MANAGE)
    if not allowed:
        raise OnedataError(
            "forbidden", hint=f"requires the provider itself, cluster_update in its cluster, or {MANAGE}"
        )
    provider = caller if isinstance(caller, ProviderRecord) else provider_store.TABLE.get(ctx, provider_id)
    if provider is None:
        raise OnedataError("notFound")
    return Owner(provider)


def create_temporary_for(
    ctx: Context, caller: Caller, provider_id: str, request: CreateTemporaryTokenRequest
) -> TokenResponse:
    return subject_tokens.create_temporary(ctx, _owner(ctx, caller, provider_id), request)


def generation_of(ctx: Context, caller: Caller, provider_id: str) -> TemporaryTokenGeneration:
    return subject_tokens.generation(_owner(ctx, caller, provider_id, read_only=True))


def revoke_temporary_of(ctx: Context, caller: Caller, provider_id: str) -> None:
    subject_tokens.revoke_temporary(ctx, _owner(ctx, caller, provider_id))


def create_named_for(ctx: Context, caller: Caller, provider_id: str, request: CreateNamedTokenRequest) -> CreatedToken:
    return subject_tokens.create_named(ctx, _owner(ctx, caller, provider_id), request)


def list_named_of(ctx: Context, caller: Caller, provider_id: str) -> TokenIdList:
    return subject_tokens.list_named(_owner(ctx, caller, provider_id))


def named_by_name(ctx: Context, caller: Caller, provider_id: str, name: str) -> TokenInfo:
    return subject_tokens.by_name(ctx, _owner(ctx, caller, provider_id), name)


def delete_named_of(ctx: Context, caller: Caller, provider_id: str) -> None:
    """Every named token of the provider goes, its root token included, one transaction each (a
    transaction may change the provider's list only once); one deleted meanwhile is no failure."""
    owner = _owner(ctx, caller, provider_id)
    for token_id in owner.record.namedTokens:
        record = token_store.TABLE.get(ctx, token_id)
        if record is None:
            continue
        try:
            subject_tokens.delete(ctx, record)
        except OnedataError as error:
            if error.id != "notFound":
                raise
