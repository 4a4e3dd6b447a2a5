"""Subdomain delegation in Route 53: the records Onezone's DNS would serve for a provider.

For a provider with subdomain `krk` in zone `onezone.example.com`:
- `krk.onezone.example.com.`    A -> the Oneprovider worker IPs (`opWorkerIpAddresses`/`ipList`)
- `s3.krk.onezone.example.com.` A -> the OneS3 IPs, when the provider runs OneS3
A service without IPs gets no record (Onepanel may register with `[]` and set IPs later).

Records are only ever written by the holder of the subdomain's reservation in the identifiers
table (`chalicelib.store.identifiers`), so `UPSERT` is safe and also heals a record left behind by
a crashed attempt; `delete` removes exactly the values written, when a registration is undone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.context import Context
from chalicelib.errors import OnedataError

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


def check_subdomain(ctx: Context, subdomain: str) -> None:
    """Reject labels the zone reserves for itself and names too long for DNS."""
    if len(f"{ONES3_LABEL}.{fqdn(ctx, subdomain)}") > MAX_FQDN_LENGTH:
        raise OnedataError("badValueSubdomain")
    if _RESERVED.match(subdomain) or subdomain in ctx.settings.reserved_subdomains:
        raise OnedataError("badValueIdentifierOccupied", key="subdomain")


def record_sets(ctx: Context, subdomain: str, worker_ips: list[str], ones3_ips: list[str]) -> list[RecordSet]:
    domain = fqdn(ctx, subdomain)
    wanted = [(f"{domain}.", worker_ips), (f"{ONES3_LABEL}.{domain}.", ones3_ips)]
    return [RecordSet(name, tuple(ips)) for name, ips in wanted if ips]


def change_batch(action: str, records: list[RecordSet], ttl: int) -> dict[str, Any]:
    """A Route 53 change batch applying `action` to every record set."""
    return {
        "Comment": f"onezone-registry subdomain delegation ({action.lower()})",
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
            for record in records
        ],
    }


def _invalid_batch(error: ClientError) -> str | None:
    if error.response.get("Error", {}).get("Code") == "InvalidChangeBatch":
        return str(error.response["Error"].get("Message", ""))
    return None


def upsert(ctx: Context, records: list[RecordSet]) -> None:
    """Write `records`, all or none (a change batch is atomic in Route 53)."""
    if records:
        ctx.aws.route53.change_resource_record_sets(
            HostedZoneId=ctx.settings.hosted_zone_id,
            ChangeBatch=change_batch("UPSERT", records, ctx.settings.dns_ttl),
        )


def delete(ctx: Context, records: list[RecordSet]) -> None:
    """Remove exactly `records`; a record that is already gone is not an error."""
    if not records:
        return
    try:
        ctx.aws.route53.change_resource_record_sets(
            HostedZoneId=ctx.settings.hosted_zone_id,
            ChangeBatch=change_batch("DELETE", records, ctx.settings.dns_ttl),
        )
    except ClientError as error:
        message = _invalid_batch(error)
        if message is None or "not found" not in message:
            raise


def undo(ctx: Context, records: list[RecordSet], reference: str) -> None:
    """Best-effort compensation after a failed registration. If even that fails, the orphan is
    logged with everything an operator needs to remove it by hand."""
    try:
        delete(ctx, records)
    except Exception:
        log.exception(
            "ORPHAN DNS RECORDS: could not remove %s from hosted zone %s (reference %s)",
            [record.name for record in records],
            ctx.settings.hosted_zone_id,
            reference,
        )
