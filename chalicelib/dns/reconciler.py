"""Make the hosted zone hold exactly what the registry says, in the names the registry writes.

Onezone serves its zone from its own database; ours lives in Route 53, a second store, which can
drift: a request killed between its Route 53 change and its transaction, an undo that failed
(`DNS LEFT INCONSISTENT`), a crashed attempt's `s3.` record, a hand edit. A pass:

1. reads the zone (`ListResourceRecordSets`), keeping the record sets the registry writes
   (`names.registry_label`): never the apex, NS/SOA, reserved labels, deeper names, alias or
   routing-policy records, or types it does not write there;
2. then the pending subdomain reservations: a young one is a registration or move in flight, and
   its label is left alone; an expired one was abandoned by a crashed request and is released;
3. then the providers: what each stands for (`records.provider_records`); a provider whose
   records are being changed (`dnsBusyUntil`, or a young reservation of its own) is left alone.
4. Then it repairs each remaining label: `CREATE` what is missing, `DELETE` (with the values
   listed) and `CREATE` what is wrong, `DELETE` what nobody stands for - never `UPSERT`.

Why this is safe next to requests and other passes: every request that changes a label's records
holds a reservation or a lease from before its Route 53 change until its commit, and the pass
reads the table (consistently) only after the zone, so a change under way at listing time is seen
as under way. A change that starts after the listing changes the zone under the pass: Route 53
then refuses the pass's `CREATE` (the record exists) or `DELETE` (the values differ) for that
label, and the pass leaves it - it loses to the newer write instead of undoing it (`conflicts`).
An orphan's label is checked once more right before its deletion, for a registration that
reserved it since. Each label's changes stay in one batch (Route 53 applies a batch all or
nothing), so a pass that stops half way leaves labels either repaired or as they were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.dns import names
from chalicelib.dns.records import Change, RecordSet, provider_records
from chalicelib.dns.route53 import Pace, apply, listed
from chalicelib.store import identifiers
from chalicelib.store import providers as provider_store

log = logging.getLogger(__name__)

# Route 53's limits for one change batch: 1,000 values, 32,000 characters of values.
MAX_BATCH_VALUES = 1000
MAX_BATCH_CHARACTERS = 32000
# What Route 53 answers a change that does not fit the zone as it now is.
REFUSALS = frozenset({"InvalidChangeBatch", "InvalidInput"})

Records = dict[tuple[str, str], RecordSet]  # (name, type) -> record set


@dataclass
class Summary:
    """What one pass did. `checked`: record sets compared; `skipped`: labels left alone because
    a change of them was under way; `conflicts`: labels whose repair Route 53 refused because the
    zone changed under the pass (the next pass looks again)."""

    checked: int = 0
    created: int = 0
    fixed: int = 0
    deleted: int = 0
    released: int = 0
    skipped: int = 0
    conflicts: int = 0
    calls: int = 0  # Route 53 requests

    def metrics(self) -> dict[str, int]:
        return {
            "DnsRecordsChecked": self.checked,
            "DnsRecordsCreated": self.created,
            "DnsRecordsFixed": self.fixed,
            "DnsRecordsDeleted": self.deleted,
            "DnsReservationsReleased": self.released,
            "DnsLabelsSkipped": self.skipped,
            "DnsRepairConflicts": self.conflicts,
        }


@dataclass
class Repair:
    """The changes that bring one label in line, applied together or not at all."""

    label: str
    changes: list[Change]
    orphan: bool  # nobody holds the label: it is re-checked right before its deletion
    values: int = field(init=False)
    characters: int = field(init=False)

    def __post_init__(self) -> None:
        self.values = sum(len(record.values) for _, record in self.changes)
        self.characters = sum(len(value) for _, record in self.changes for value in record.values)


def reconcile(ctx: Context, pace: Pace | None = None) -> Summary:
    """One pass; its summary is logged as one line, which also carries its metrics."""
    pace = pace or Pace(ctx.settings.dns_reconcile_rate)
    started = time.monotonic()
    summary = Summary()
    now = int(time.time())
    actual = _zone(ctx, pace)
    busy = _reservations(ctx, now, summary)
    wanted = _wanted(ctx, now, busy)
    repairs = []
    for label in sorted(set(actual) | set(wanted)):
        if label in busy.labels:
            summary.skipped += 1
            continue
        have, want = actual.get(label, {}), wanted.get(label, {})
        summary.checked += len(set(have) | set(want))
        changes = repairs_of(have, want)
        if changes:
            repairs.append(Repair(label, changes, orphan=label not in wanted))
    for batch in _batches(repairs):
        _apply(ctx, batch, pace, summary)
    summary.calls = pace.calls
    seconds = round(time.monotonic() - started, 1)
    observability.summary("dns reconciled", summary.metrics(), route53Calls=summary.calls, seconds=seconds)
    return summary


def run(ctx: Context) -> dict[str, int]:
    """One pass, as the scheduled function answers it (`chalice invoke` prints it)."""
    return asdict(reconcile(ctx))


def _zone(ctx: Context, pace: Pace) -> dict[str, Records]:
    """The zone's record sets that are the registry's, by label."""
    found: dict[str, Records] = {}
    for listed_set in listed(ctx, pace):
        if {"AliasTarget", "SetIdentifier"} & set(listed_set) or not listed_set.get("ResourceRecords"):
            continue  # the registry writes plain record sets only
        label = names.registry_label(ctx, listed_set["Name"], listed_set["Type"])
        if label is None:
            continue
        record = RecordSet(
            listed_set["Name"].lower(),
            tuple(r["Value"] for r in listed_set["ResourceRecords"]),
            listed_set["Type"],
            int(listed_set["TTL"]),
        )
        found.setdefault(label, {})[record.key] = record
    return found


@dataclass
class Busy:
    labels: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)


def _reservations(ctx: Context, now: int, summary: Summary) -> Busy:
    """Labels with a change in flight (and who is changing them); expired reservations released."""
    busy = Busy()
    for reservation in identifiers.reservations(ctx, identifiers.SUBDOMAIN):
        label = reservation["name"]
        if reservation.get("pendingUntil", 0) < now and identifiers.release_expired(
            ctx, identifiers.SUBDOMAIN, label, now
        ):
            log.info("released the expired reservation of subdomain %r held by %s", label, reservation["ownerId"])
            summary.released += 1
            continue
        busy.labels.add(label)  # young, or taken afresh since it was read
        busy.owners.add(reservation["ownerId"])
    return busy


def _wanted(ctx: Context, now: int, busy: Busy) -> dict[str, Records]:
    """What the providers stand for, by label; labels of providers being changed go to `busy`."""
    wanted: dict[str, Records] = {}
    for provider in provider_store.scan_all(ctx):
        label = provider.subdomain if provider.subdomainDelegation else None
        if not label or not names.could_hold(ctx, label):
            continue
        if label in wanted:
            log.error("subdomain %r is held by more than one provider; its records are left alone", label)
            busy.labels.add(label)
        elif (provider.dnsBusyUntil or 0) >= now or provider.providerId in busy.owners:
            busy.labels.add(label)
        wanted[label] = {record.key: record for record in provider_records(ctx, provider)}
    return wanted


def repairs_of(have: Records, want: Records) -> list[Change]:
    """The changes that turn `have` into `want`, each guarded by what it expects to find."""
    changes: list[Change] = []
    for key in sorted(set(have) | set(want)):
        old, new = have.get(key), want.get(key)
        if new is None and old is not None:
            changes.append(("DELETE", old))
        elif old is None and new is not None:
            changes.append(("CREATE", new))
        elif old is not None and new is not None and (old.ttl, sorted(old.values)) != (new.ttl, sorted(new.values)):
            changes += [("DELETE", old), ("CREATE", new)]
    return changes


def _batches(repairs: Iterable[Repair]) -> Iterable[list[Repair]]:
    """Repairs packed into batches within Route 53's limits, never splitting one."""
    batch: list[Repair] = []
    values = characters = 0
    for repair in repairs:
        if batch and (
            values + repair.values > MAX_BATCH_VALUES or characters + repair.characters > MAX_BATCH_CHARACTERS
        ):
            yield batch
            batch, values, characters = [], 0, 0
        batch.append(repair)
        values += repair.values
        characters += repair.characters
    if batch:
        yield batch


def _apply(ctx: Context, batch: list[Repair], pace: Pace, summary: Summary) -> None:
    """One batch; if Route 53 refuses it, each repair on its own, so only the labels the zone
    changed under are left. Any other failure ends the pass (the next one carries on)."""
    claimed = {r.label for r in batch if r.orphan and identifiers.owner(ctx, identifiers.SUBDOMAIN, r.label)}
    summary.skipped += len(claimed)
    batch = [repair for repair in batch if repair.label not in claimed]
    if not batch:
        return
    try:
        pace()
        apply(ctx, [change for repair in batch for change in repair.changes])
    except ClientError as error:
        if not _refused(error):
            raise
    else:
        for repair in batch:
            _count(repair, summary)
        return
    for repair in batch:
        try:
            pace()
            apply(ctx, repair.changes)
        except ClientError as error:
            if not _refused(error):
                raise
            log.info("left subdomain %r: the zone changed under the repair (%s)", repair.label, error)
            summary.conflicts += 1
        else:
            _count(repair, summary)


def _refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in REFUSALS


def _count(repair: Repair, summary: Summary) -> None:
    deleted = {record.key for action, record in repair.changes if action == "DELETE"}
    created = {record.key for action, record in repair.changes if action == "CREATE"}
    summary.fixed += len(deleted & created)
    summary.created += len(created - deleted)
    summary.deleted += len(deleted - created)
    log.info("repaired subdomain %r: %s", repair.label, ", ".join(f"{a} {r.name} {r.type}" for a, r in repair.changes))
