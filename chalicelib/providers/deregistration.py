"""Deregistering a provider (`DELETE /provider`, `DELETE /providers/{id}`).

One DynamoDB transaction removes what makes the provider a provider - its item, its cluster, its
root token (so the token stops working at once) and its name, the subdomain claim, the
storages its op-worker declared (at most `store.storages.MAX_STORAGES`) - and
as many of its cluster's memberships (each with the member's `clusters` entry) as a transaction
holds besides: all of them in any cluster of up to `MEMBERS_IN_TRANSACTION` members. It is
wrapped in a DNS transition that removes the delegation records first and puts them back if the
transaction fails. So a deregistration either happens or leaves everything as it was.

A DynamoDB transaction holds at most 100 items. A bigger cluster's other memberships, and the
provider's other named tokens (invites it issued), are removed right after the commit, a batch
per transaction, reading the cluster's memberships again until none is left - which also catches
a member who joined between the first read and the commit. Until then they grant nothing: every
decision taken on a membership finds its cluster (or its provider) first, every membership
change requires the cluster to exist - so none can be created after the commit - and a token of
a provider that is gone no longer verifies. Should the function die during that clean-up, what
is left stays inert: a user can still leave such a cluster (`DELETE /user/clusters/{id}`), and a
deregistration of that provider id again is a 404, since ids are never reused.
"""

from __future__ import annotations

import logging

from chalicelib.auth import require_privilege
from chalicelib.context import Context
from chalicelib.dns import records, transitions
from chalicelib.errors import OnedataError
from chalicelib.providers.details import existing
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, identifiers, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store import storages as storage_store
from chalicelib.store import tokens as token_store
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import issuing, subject_tokens

log = logging.getLogger(__name__)

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit
OPS_PER_MEMBERSHIP = 2  # the membership item and the member's `clusters` entry
# provider, cluster, root token, its name claim, the subdomain claim, and each storage
FIXED_OPS = 5 + storage_store.MAX_STORAGES
MEMBERS_IN_TRANSACTION = (MAX_TRANSACTION_ITEMS - FIXED_OPS) // OPS_PER_MEMBERSHIP


def deregister(ctx: Context, provider: ProviderRecord) -> None:
    provider_id = provider.providerId
    members = [membership.userId for membership in memberships.of_cluster(ctx, provider_id)]
    ops: list[db.TransactItem] = [
        # At the revisions read: a DNS change or a storage added meanwhile makes the change retry,
        # so nothing is left behind.
        provider_store.TABLE.delete_op(
            ctx, provider_id, expected={"dnsRevision": provider.dnsRevision, "revision": provider.revision}
        ),
        cluster_store.TABLE.delete_op(ctx, provider_id, must_exist=False),
        token_store.TABLE.delete_op(ctx, provider.rootTokenId, must_exist=False),  # gone if the provider deleted it
        identifiers.forget_op(ctx, token_store.NAME_CLAIM, f"{provider_id}:{issuing.ROOT_TOKEN_NAME}"),
    ]
    ops += [storage_store.TABLE.delete_op(ctx, storage_id) for storage_id in provider.storages]
    if provider.subdomain:
        ops.append(identifiers.release_op(ctx, identifiers.SUBDOMAIN, provider.subdomain, provider_id))
    for user_id in members[:MEMBERS_IN_TRANSACTION]:
        ops += memberships.leave_ops(ctx, provider_id, user_id, must_exist=False)
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
    remove_leftovers(ctx, provider)


def remove_leftovers(ctx: Context, provider: ProviderRecord) -> None:
    """After the commit: the memberships the transaction had no room for (or that a join added
    before the cluster went), and the provider's other named tokens. Idempotent; a failure is
    logged, not the client's: the deregistration itself succeeded."""
    provider_id = provider.providerId
    try:
        while batch := memberships.of_cluster(ctx, provider_id)[: MAX_TRANSACTION_ITEMS // OPS_PER_MEMBERSHIP]:
            ops = [op for member in batch for op in memberships.leave_ops(ctx, provider_id, member.userId, False)]
            db.transact(ctx.aws.dynamodb, ops)
        for token_id in sorted(set(provider.namedTokens) - {provider.rootTokenId}):
            record = token_store.TABLE.get(ctx, token_id)
            if record is not None:
                db.transact(ctx.aws.dynamodb, subject_tokens.delete_ops(ctx, record, must_exist=False))
    except Exception:
        log.exception("provider %s deregistered; some of its memberships or tokens are left (inert)", provider_id)


def deregister_by_admin(ctx: Context, user: UserRecord, provider_id: str) -> None:
    """`DELETE /providers/{id}` (privilege `oz_providers_delete`)."""
    require_privilege(user, "oz_providers_delete")
    deregister(ctx, existing(ctx, provider_id))
