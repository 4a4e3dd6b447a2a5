"""Talking to Route 53: change batches, all or nothing, with a failure counted; reading the zone
at a pace the account's API limit allows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.dns.records import Change, RecordSet, change_batch, changes
from chalicelib.errors import OnedataError


def apply(ctx: Context, batch: list[Change]) -> None:
    ctx.aws.route53.change_resource_record_sets(
        HostedZoneId=ctx.settings.hosted_zone_id, ChangeBatch=change_batch(batch)
    )


def _refusal(error: ClientError, reason: str) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "InvalidChangeBatch" and reason in str(details.get("Message", ""))


def gone(error: ClientError) -> bool:
    """Route 53's refusal to delete a record set that is not there."""
    return _refusal(error, "not found")


def drifted(error: ClientError) -> bool:
    """Route 53's refusal to delete a record set that holds other values than the registry wrote
    (a hand edit)."""
    return _refusal(error, "do not match")


def replace(ctx: Context, old: list[RecordSet], new: list[RecordSet]) -> None:
    """Make the zone hold `new` instead of `old`, all or nothing; a failure is counted
    (`DnsChangeFailed`)."""
    try:
        _replace(ctx, old, new)
    except Exception:
        observability.count("DnsChangeFailed")
        raise


def _replace(ctx: Context, old: list[RecordSet], new: list[RecordSet]) -> None:
    """Deleting a record that is already gone counts as done. Route 53 then rejects the whole
    batch without saying which deletion failed, so the rest is applied again: the upserts at once,
    then each deletion on its own - dropping every deletion instead would leave behind the records
    that were still there (a provider's `s3.` record gone, its main record kept forever). A record
    edited by hand cannot be deleted with the values the registry wrote: a retryable 503, and the
    transition switches the zone back to what the registry says - which repairs the edit too."""
    batch = changes(old, new)
    if not batch:
        return
    try:
        apply(ctx, batch)
        return
    except ClientError as error:
        if not (gone(error) or drifted(error)):
            raise
    upserts = [change for change in batch if change[0] != "DELETE"]
    if upserts:
        apply(ctx, upserts)
    for deletion in (change for change in batch if change[0] == "DELETE"):
        try:
            apply(ctx, [deletion])
        except ClientError as error:
            if drifted(error):
                raise OnedataError("temporaryFailure", headers={"Retry-After": "1"}) from error
            if not gone(error):
                raise


def upsert(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, [], records)


def delete(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, records, [])


class Pace:
    """At most `per_second` calls a second. Route 53 allows an account 5 API requests a second,
    shared by every caller, so a long job (the reconciler) keeps below it and leaves room for
    registrations; botocore's retries absorb the rest. Counts the calls it spaced."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1 / per_second
        self.clock, self.sleep = clock, sleep
        self.calls = 0
        self._next = clock()

    def __call__(self) -> None:
        delay = self._next - self.clock()
        if delay > 0:
            self.sleep(delay)
        self._next = max(self._next, self.clock()) + self.interval
        self.calls += 1


def listed(ctx: Context, pace: Pace) -> Iterator[dict[str, Any]]:
    """Every record set of the hosted zone, in Route 53's order, 300 (its maximum) a call."""
    request: dict[str, Any] = {"HostedZoneId": ctx.settings.hosted_zone_id, "MaxItems": "300"}
    while True:
        pace()
        page = ctx.aws.route53.list_resource_record_sets(**request)
        yield from page["ResourceRecordSets"]
        if not page.get("IsTruncated"):
            return
        request.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])
        if "NextRecordIdentifier" in page:
            request["StartRecordIdentifier"] = page["NextRecordIdentifier"]
