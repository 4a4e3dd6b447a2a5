"""Subdomain delegation in Route 53: the records Onezone's DNS would serve for a provider.

For a provider with subdomain `krk` in zone `onezone.example.com`:
- `krk.onezone.example.com.`    A -> the Oneprovider worker IPs (`opWorkerIpAddresses`/`ipList`)
- `s3.krk.onezone.example.com.` A -> the OneS3 IPs, when the provider runs OneS3
A service without IPs gets no record (Onepanel may register with `[]` and set IPs later).

Records are only ever written by the holder of the subdomain's reservation in the identifiers
table (`chalicelib.store.identifiers`), so `UPSERT` is safe and also heals a record left behind by
a crashed attempt. Every change goes through `transition`, which undoes it if the DynamoDB
transaction it accompanies fails.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store.providers import ProviderRecord

log = logging.getLogger(__name__)

MAX_FQDN_LENGTH = 253
ONES3_LABEL = "s3"
_RESERVED = re.compile(r"^ns\d*$")


@dataclass(frozen=True)
class RecordSet:
    name: str  # fully qualified, with the trailing dot
    addresses: tuple[str, ...]


def fqdn(ctx: Context, subdomain: str) -> str:
    """The provider's domain under delegation (without the trailing dot)."""
    return f"{subdomain}.{ctx.settings.zone_domain}".lower()


def require_support(ctx: Context, data: Mapping[str, Any]) -> None:
    """A body asking for delegation where this Onezone offers none: Onezone checks this first,
    before any other key of the body."""
    if not ctx.settings.subdomain_delegation_supported and str(data.get("subdomainDelegation")).lower() == "true":
        raise OnedataError("subdomainDelegationNotSupported")


def check_length(ctx: Context, subdomain: str) -> None:
    """Reject a subdomain whose record names would be too long for DNS in this zone. A bad value
    like any other: registration reports it before looking at the token, as Onezone does."""
    if len(f"{ONES3_LABEL}.{fqdn(ctx, subdomain)}") > MAX_FQDN_LENGTH:
        raise OnedataError("badValueSubdomain")


def check_subdomain(ctx: Context, subdomain: str) -> None:
    """Reject labels the zone reserves for itself and names too long for DNS."""
    check_length(ctx, subdomain)
    if _RESERVED.match(subdomain) or subdomain in ctx.settings.reserved_subdomains:
        raise OnedataError("badValueIdentifierOccupied", key="subdomain")


def provider_records(ctx: Context, provider: ProviderRecord) -> list[RecordSet]:
    """The records Route 53 holds for `provider` (none without delegation)."""
    if not (provider.subdomainDelegation and provider.subdomain):
        return []
    return record_sets(ctx, provider.subdomain, provider.opWorkerIpAddresses, provider.oneS3IpAddresses)


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


def record_sets(ctx: Context, subdomain: str, worker_ips: list[str], ones3_ips: list[str]) -> list[RecordSet]:
    domain = fqdn(ctx, subdomain)
    wanted = [(f"{domain}.", worker_ips), (f"{ONES3_LABEL}.{domain}.", ones3_ips)]
    return [RecordSet(name, tuple(ips)) for name, ips in wanted if ips]


Change = tuple[str, RecordSet]  # (Route 53 action, record set)


def change_batch(changes: list[Change], ttl: int) -> dict[str, Any]:
    """A Route 53 change batch; Route 53 applies it atomically."""
    return {
        "Comment": "onezone-registry subdomain delegation",
        "Changes": [
            {
                "Action": action,
                "ResourceRecordSet": {
                    "Name": record.name,
                    "Type": "A",
                    "TTL": ttl,
                    "ResourceRecords": [{"Value": address} for address in record.addresses],
                },
            }
            for action, record in changes
        ],
    }


def changes(old: list[RecordSet], new: list[RecordSet]) -> list[Change]:
    """What turns a zone holding `old` into one holding `new`: names that go are deleted with
    their exact values (Route 53 requires them), names that stay or come are upserted."""
    staying = {record.name for record in new}
    return [("DELETE", r) for r in old if r.name not in staying] + [("UPSERT", r) for r in new if r not in old]


def _gone(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "InvalidChangeBatch" and "not found" in str(details.get("Message", ""))


def _apply(ctx: Context, batch: list[Change]) -> None:
    ctx.aws.route53.change_resource_record_sets(
        HostedZoneId=ctx.settings.hosted_zone_id,
        ChangeBatch=change_batch(batch, ctx.settings.dns_ttl),
    )


def replace(ctx: Context, old: list[RecordSet], new: list[RecordSet]) -> None:
    """Make the zone hold `new` instead of `old`, all or nothing; a failure is counted
    (`DnsChangeFailed`)."""
    try:
        _replace(ctx, old, new)
    except Exception:
        observability.count("DnsChangeFailed")
        raise


def _replace(ctx: Context, old: list[RecordSet], new: list[RecordSet]) -> None:
    """Make the zone hold `new` instead of `old`, all or nothing.

    Deleting a record that is already gone counts as done. Route 53 then rejects the whole batch
    without saying which deletion failed, so the rest is applied again: the upserts at once, then
    each deletion on its own - dropping every deletion instead would leave behind the records that
    were still there (a provider's `s3.` record gone, its main record kept forever).
    """
    batch = changes(old, new)
    if not batch:
        return
    try:
        _apply(ctx, batch)
        return
    except ClientError as error:
        if not _gone(error):
            raise
    upserts = [change for change in batch if change[0] != "DELETE"]
    if upserts:
        _apply(ctx, upserts)
    for deletion in (change for change in batch if change[0] == "DELETE"):
        try:
            _apply(ctx, [deletion])
        except ClientError as error:
            if not _gone(error):
                raise


def upsert(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, [], records)


def delete(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, records, [])


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
