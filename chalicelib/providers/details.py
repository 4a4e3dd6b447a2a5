"""Reading and editing registered providers: `/provider`, `/providers`, `/providers/{id}`."""

from __future__ import annotations

from chalicelib import paging
from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import ProviderDetails, ProviderList, UpdateProviderRequest
from chalicelib.store import db, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord


def describe(provider: ProviderRecord) -> ProviderDetails:
    return ProviderDetails(
        providerId=provider.providerId,
        clusterId=provider.providerId,
        creationTime=provider.createdAt,
        name=provider.name,
        domain=provider.domain,
        latitude=provider.latitude,
        longitude=provider.longitude,
        online=provider.online(),
    )


def existing(ctx: Context, provider_id: str) -> ProviderRecord:
    provider = provider_store.TABLE.get(ctx, provider_id)
    if provider is None:
        raise OnedataError("notFound")
    return provider


def get(ctx: Context, caller: UserRecord | ProviderRecord, provider_id: str) -> ProviderDetails:
    """`GET /providers/{id}`: for any provider ("providers are allowed to view each other's
    protected data"), members of the provider's cluster (their membership item) and
    `oz_providers_view`."""
    viewer = not isinstance(caller, UserRecord) or "oz_providers_view" in caller.privileges
    if not viewer and memberships.get(ctx, provider_id, caller.userId) is None:
        # Existence is not revealed to those who may not see the provider.
        raise OnedataError("forbidden", hint="requires cluster membership or the privilege oz_providers_view")
    return describe(existing(ctx, provider_id))


def update(ctx: Context, provider: ProviderRecord, request: UpdateProviderRequest) -> None:
    """`PATCH /provider`: name, adminEmail, latitude, longitude."""
    changes = request.model_dump(include={"name", "adminEmail", "latitude", "longitude"}, exclude_none=True)
    op = provider_store.TABLE.update_op(ctx, provider.providerId, changes)["Update"]
    if not db.conditional_write(ctx.aws.dynamodb.update_item, **op):
        raise OnedataError("notFound")


def list_page(ctx: Context, user: UserRecord, limit: str | None, page_token: str | None) -> ProviderList:
    """`GET /providers?limit=&page_token=` (privilege `oz_providers_list`), a page at a time."""
    require_privilege(user, "oz_providers_list")
    ids, next_token = paging.page(ctx, provider_store.TABLE, limit, page_token)
    return ProviderList(providers=ids, nextPageToken=next_token)
