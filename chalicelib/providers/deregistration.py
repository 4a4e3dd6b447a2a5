"""Deregistering a provider (`DELETE /provider`, `DELETE /providers/{id}`), all or nothing.

Everything registration created goes in one DynamoDB transaction - the provider, its cluster,
its root token (so the token stops working at once), the users' memberships, the subdomain
claim and the storages its op-worker declared - wrapped in a DNS transition that removes the
delegation records first and puts them back if the transaction fails.
"""

from __future__ import annotations

import logging

from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.dns import records, transitions
from chalicelib.errors import OnedataError
from chalicelib.providers.details import existing
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store import storages as storage_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord

log = logging.getLogger(__name__)


def deregister(ctx: Context, provider: ProviderRecord) -> None:
    provider_id = provider.providerId
    cluster = cluster_store.TABLE.get(ctx, provider_id)
    ops: list[db.TransactItem] = [
        # At the revision read: a storage added meanwhile is not left behind (the change retries).
        provider_store.TABLE.delete_op(
            ctx, provider_id, expected={"dnsRevision": provider.dnsRevision, "revision": provider.revision}
        ),
        token_store.TABLE.delete_op(ctx, provider.rootTokenId),
    ]
    if cluster is not None:
        ops.append(cluster_store.TABLE.delete_op(ctx, provider_id))
        ops += [user_store.leave_cluster_op(ctx, user_id, provider_id) for user_id in sorted(cluster.members)]
    ops += [storage_store.TABLE.delete_op(ctx, storage_id) for storage_id in provider.storages]
    if provider.subdomain:
        ops.append(identifiers.release_op(ctx, identifiers.SUBDOMAIN, provider.subdomain, provider_id))
    with (
        transitions.leased(ctx, provider),
        transitions.transition(
            ctx,
            records.provider_records(ctx, provider),
            [],
            reference=provider_id,
            settled=lambda: transitions.stored_records(ctx, provider_id),
        ),
    ):
        try:
            db.transact(ctx.aws.dynamodb, ops)
        except db.Cancelled:
            # Our view of it is stale: someone deregistered it first, or changed its DNS meanwhile.
            if provider_store.TABLE.get(ctx, provider_id) is None:
                raise OnedataError("notFound") from None
            raise OnedataError("temporaryFailure", headers={"Retry-After": "1"}) from None
    log.info("deregistered provider %s", provider_id)


def deregister_by_admin(ctx: Context, user: UserRecord, provider_id: str) -> None:
    """`DELETE /providers/{id}` (privilege `oz_providers_delete`)."""
    require_privilege(user, "oz_providers_delete")
    deregister(ctx, existing(ctx, provider_id))
