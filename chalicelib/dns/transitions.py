"""DNS changes around the DynamoDB transactions they belong to, so the zone never outlives or
predates the records it stands for.

Records are only ever written by the holder of the subdomain's reservation in the identifiers
table (`chalicelib.store.identifiers`), so `UPSERT` is safe and also heals a record left behind by
a crashed attempt. Every change goes through `transition`, which undoes it if the transaction it
accompanies fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.dns.records import RecordSet, provider_records
from chalicelib.dns.route53 import replace
from chalicelib.errors import OnedataError
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store.providers import ProviderRecord

log = logging.getLogger(__name__)


@contextmanager
def reserved(ctx: Context, subdomain: str | None, owner_id: str) -> Iterator[None]:
    """Hold a reservation of `subdomain` (if any) for `owner_id` while the block runs, and give
    it back if the block fails; the block confirms it (`identifiers.confirm_op`) on success.

    A reservation that cannot be given back (AWS failing twice) is logged and simply expires.
    A reservation whose write failed is given back too: the write may have gone through although
    its answer never came (a timeout, a 5xx).
    """
    if subdomain is None:
        yield
        return
    try:
        taken = identifiers.reserve(ctx, identifiers.SUBDOMAIN, subdomain, owner_id, int(time.time()))
    except BaseException:
        _release(ctx, subdomain, owner_id)
        raise
    if not taken:
        raise OnedataError("badValueIdentifierOccupied", key="subdomain")
    try:
        yield
    except BaseException:
        _release(ctx, subdomain, owner_id)
        raise


def _release(ctx: Context, subdomain: str, owner_id: str) -> None:
    try:
        identifiers.release(ctx, identifiers.SUBDOMAIN, subdomain, owner_id)
    except Exception:
        log.exception("could not release the reservation of subdomain %r for %s", subdomain, owner_id)


def stored_records(ctx: Context, provider_id: str) -> list[RecordSet]:
    """The records the provider as stored now stands for (none once it is gone)."""
    stored = provider_store.TABLE.get(ctx, provider_id)
    return provider_records(ctx, stored) if stored is not None else []


@contextmanager
def transition(
    ctx: Context,
    old: list[RecordSet],
    new: list[RecordSet],
    reference: str,
    settled: Callable[[], list[RecordSet]] | None = None,
) -> Iterator[None]:
    """Switch the zone from `old` to `new` around a block (a DynamoDB transaction) and switch it
    back if the block fails, so DNS never outlives or predates the records it stands for.

    "Back" is `old`, unless `settled` says what the zone should hold after a failure, read afresh
    from the store: a transaction cancelled because somebody deregistered or changed the provider
    meanwhile must leave DNS as they left it - putting back `old` would resurrect records of a
    deregistered provider, or of a subdomain it no longer holds. If that read fails too, `old` it is.

    If even the switch back fails, the inconsistency is logged with everything an operator needs
    to repair it by hand, and the block's own failure is what propagates.

    A switch to `new` that failed without a definite refusal from Route 53 (a timeout, a dropped
    connection, a 5xx) may have been applied all the same, so it is switched back as well.
    """
    try:
        replace(ctx, old, new)
    except Exception as error:
        if _maybe_applied(error):
            _switch_back(ctx, new, old, reference)
        raise
    try:
        yield
    except BaseException:
        wanted = old
        try:
            if settled is not None:
                wanted = settled()
        except Exception:
            log.exception("could not read what DNS should hold for %s; restoring the records it had", reference)
        _switch_back(ctx, new, wanted, reference)
        raise


def _maybe_applied(error: Exception) -> bool:
    """Whether a failed change batch may have been applied: Route 53 refuses a batch with a 4xx
    and applies none of it; any other failure can follow a change that went through."""
    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)) >= 500
    return True


def _switch_back(ctx: Context, new: list[RecordSet], wanted: list[RecordSet], reference: str) -> None:
    try:
        replace(ctx, new, wanted)
    except Exception:
        observability.count("DnsLeftInconsistent")
        log.exception(
            "DNS LEFT INCONSISTENT in hosted zone %s (reference %s): wanted %s, could not remove %s",
            ctx.settings.hosted_zone_id,
            reference,
            [record.name for record in wanted],
            [record.name for record in new],
        )


@contextmanager
def leased(ctx: Context, provider: ProviderRecord) -> Iterator[None]:
    """Hold the provider's records while the block changes them: one change at a time, and the
    reconciler keeps off. Taken before Route 53 is touched, dropped by the block's commit, or
    after it fails (if even that fails, the lease expires like a reservation). If the provider
    changed since it was read, or another change holds it: a retryable 503; 404 if it is gone."""
    now = int(time.time())
    if not provider_store.lease_dns(
        ctx, provider.providerId, provider.dnsRevision, now, now + identifiers.PENDING_SECONDS
    ):
        if provider_store.TABLE.get(ctx, provider.providerId) is None:
            raise OnedataError("notFound")
        raise OnedataError("temporaryFailure", headers={"Retry-After": "1"})
    try:
        yield
    except BaseException:
        try:
            provider_store.end_dns_lease(ctx, provider.providerId, provider.dnsRevision)
        except Exception:
            log.exception("could not drop the DNS lease of provider %s; it expires", provider.providerId)
        raise


def update_provider(
    ctx: Context,
    old: ProviderRecord,
    new: ProviderRecord,
    fields: Iterable[str],
    also: Iterable[db.TransactItem] = (),
) -> None:
    """Write `new`'s `fields` over the provider stored as `old` (and the `also` items) in one
    transaction, moving its records in a DNS transition around it.

    The write holds only if the provider's `dnsRevision` is still the one `old` was read with, and
    bumps it: of two concurrent changes to the same provider's DNS, the later one fails with a
    retryable `temporaryFailure`, and its transition leaves the zone as the winner left it.
    A change that changes nothing writes nothing.
    """
    fields, also = set(fields), list(also)
    changes = new.model_dump(mode="json", include=fields)
    if changes == old.model_dump(mode="json", include=fields) and not also:
        return
    ops = [
        provider_store.TABLE.update_op(
            ctx,
            old.providerId,
            {**changes, "dnsRevision": old.dnsRevision + 1, "dnsBusyUntil": None},
            expected={"dnsRevision": old.dnsRevision},
        ),
        *also,
    ]
    with (
        leased(ctx, old),
        transition(
            ctx,
            provider_records(ctx, old),
            provider_records(ctx, new),
            old.providerId,
            settled=lambda: stored_records(ctx, old.providerId),
        ),
    ):
        try:
            db.transact(ctx.aws.dynamodb, ops)
        except db.Cancelled:
            raise OnedataError("temporaryFailure", headers={"Retry-After": "1"}) from None
