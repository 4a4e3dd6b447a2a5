"""Reading and editing registered providers: `/provider`, `/providers`, `/providers/{id}`."""

from __future__ import annotations

import base64
import binascii

from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import ProviderDetails, ProviderList, UpdateProviderRequest
from chalicelib.store import db
from chalicelib.store import providers as provider_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


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


def get_for_user(ctx: Context, user: UserRecord, provider_id: str) -> ProviderDetails:
    """`GET /providers/{id}`: for members of the provider's cluster and `oz_providers_view`."""
    if provider_id not in user.clusters and "oz_providers_view" not in user.privileges:
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
    """`GET /providers?limit=&page_token=` (privilege `oz_providers_list`).

    The page token is opaque to clients: the last id of the previous page, base64url-encoded.
    """
    require_privilege(user, "oz_providers_list")
    if limit is None:
        size = DEFAULT_PAGE_SIZE
    elif limit.strip().isdigit():
        size = int(limit)
    else:
        raise OnedataError("badValueInteger", key="limit")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise OnedataError("badValueNotInRange", key="limit", low=1, high=MAX_PAGE_SIZE)
    ids, last = provider_store.page(ctx, size, _decode_page_token(page_token) if page_token else None)
    return ProviderList(providers=ids, nextPageToken=_encode_page_token(last) if last else None)


def _encode_page_token(provider_id: str) -> str:
    return base64.urlsafe_b64encode(provider_id.encode()).decode().rstrip("=")


def _decode_page_token(token: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise OnedataError("badData", key="page_token") from None
    if not decoded or not decoded.isalnum():
        raise OnedataError("badData", key="page_token")
    return decoded
