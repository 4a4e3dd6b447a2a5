"""Writing the zone: change batches, all or nothing, with a failure counted."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.context import Context
from chalicelib.dns.records import Change, RecordSet, change_batch, changes


def apply(ctx: Context, batch: list[Change]) -> None:
    ctx.aws.route53.change_resource_record_sets(
        HostedZoneId=ctx.settings.hosted_zone_id, ChangeBatch=change_batch(batch)
    )


def gone(error: ClientError) -> bool:
    """Route 53's refusal to delete a record set that is not there (or not with those values)."""
    details = error.response.get("Error", {})
    return details.get("Code") == "InvalidChangeBatch" and "not found" in str(details.get("Message", ""))


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
    that were still there (a provider's `s3.` record gone, its main record kept forever)."""
    batch = changes(old, new)
    if not batch:
        return
    try:
        apply(ctx, batch)
        return
    except ClientError as error:
        if not gone(error):
            raise
    upserts = [change for change in batch if change[0] != "DELETE"]
    if upserts:
        apply(ctx, upserts)
    for deletion in (change for change in batch if change[0] == "DELETE"):
        try:
            apply(ctx, [deletion])
        except ClientError as error:
            if not gone(error):
                raise


def upsert(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, [], records)


def delete(ctx: Context, records: list[RecordSet]) -> None:
    replace(ctx, records, [])
