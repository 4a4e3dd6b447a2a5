"""The record sets a provider stands for, and what changes one state of the zone into another."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.context import Context
from chalicelib.dns.names import ONES3_LABEL, fqdn
from chalicelib.store.providers import ProviderRecord, TxtRecord


@dataclass(frozen=True)
class RecordSet:
    name: str  # fully qualified, lower case, with the trailing dot
    values: tuple[str, ...]  # as Route 53 holds them: addresses, or quoted TXT strings
    type: str = "A"
    ttl: int = 120

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.type


def quoted(content: str) -> str:
    """A TXT string as Route 53 takes it: in double quotes, `"` and `\\` escaped."""
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_sets(
    ctx: Context,
    subdomain: str,
    worker_ips: list[str],
    ones3_ips: list[str],
    txt_records: Mapping[str, TxtRecord] | None = None,
) -> list[RecordSet]:
    """The records of a provider holding `subdomain` (a service without IPs gets none)."""
    domain = fqdn(ctx, subdomain)
    ttl = ctx.settings.dns_ttl
    wanted = [(f"{domain}.", worker_ips), (f"{ONES3_LABEL}.{domain}.", ones3_ips)]
    records = [RecordSet(name, tuple(ips), "A", ttl) for name, ips in wanted if ips]
    for label, txt in sorted((txt_records or {}).items()):
        records.append(RecordSet(f"{label}.{domain}.", (quoted(txt.content),), "TXT", txt.ttl))
    return records


def provider_records(ctx: Context, provider: ProviderRecord) -> list[RecordSet]:
    """The records Route 53 holds for `provider` (none without delegation)."""
    if not (provider.subdomainDelegation and provider.subdomain):
        return []
    return record_sets(
        ctx, provider.subdomain, provider.opWorkerIpAddresses, provider.oneS3IpAddresses, provider.txtRecords
    )


Change = tuple[str, RecordSet]  # (Route 53 action, record set)


def changes(old: list[RecordSet], new: list[RecordSet]) -> list[Change]:
    """What turns a zone holding `old` into one holding `new`: record sets that go are deleted
    with their exact values (Route 53 requires them), those that stay or come are upserted."""
    staying = {record.key for record in new}
    return [("DELETE", r) for r in old if r.key not in staying] + [("UPSERT", r) for r in new if r not in old]


def change_batch(batch: list[Change]) -> dict[str, Any]:
    """A Route 53 change batch; Route 53 applies it atomically."""
    return {
        "Comment": "onezone-registry subdomain delegation",
        "Changes": [
            {
                "Action": action,
                "ResourceRecordSet": {
                    "Name": record.name,
                    "Type": record.type,
                    "TTL": record.ttl,
                    "ResourceRecords": [{"Value": value} for value in record.values],
                },
            }
            for action, record in batch
        ],
    }
