"""Black-box: the local run's DNS reconciler (`make run` makes a pass every
DNS_RECONCILE_INTERVAL seconds, `make reconcile` one now) repairs a zone broken by hand through
the moto server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest

from tests.localrun import ADMIN_PASSWORD, RECONCILE_INTERVAL, ROOT, ZONE, LocalRun

pytestmark = pytest.mark.blackbox


def register(local: LocalRun, subdomain: str, workers: list[str]) -> str:
    """A delegated provider with a TXT record; its root token."""
    status, body = local.curl(
        "-u", f"admin:{ADMIN_PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 200, body
    request = {
        "token": body["token"],
        "name": f"{subdomain} DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": workers,
    }
    status, registered = local.curl(
        "-H", "Content-Type: application/json", "-X", "POST", "-d", json.dumps(request), f"{local.base}/providers"
    )
    assert status == 200, registered
    root = registered["providerRootToken"]
    status, _ = local.curl(
        "-H", f"X-Auth-Token: {root}", "-X", "PUT", "-d", '{"content": "challenge"}',
        f"{local.base}/provider/dns_txt_record/_acme-challenge",
    )  # fmt: skip
    assert status == 204
    return str(root)


class Zone:
    def __init__(self, local: LocalRun) -> None:
        self.route53 = local.client("route53")
        [self.id] = [z["Id"] for z in self.route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]

    def under(self, label: str) -> dict[tuple[str, str], list[str]]:
        """The zone's records at and below `<label>.<zone>`."""
        pages = self.route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=self.id)
        return {
            (r["Name"], r["Type"]): sorted(v["Value"] for v in r["ResourceRecords"])
            for page in pages
            for r in page["ResourceRecordSets"]
            if r["Name"] == f"{label}.{ZONE}." or r["Name"].endswith(f".{label}.{ZONE}.")
        }

    def change(self, action: str, name: str, values: list[str], record_type: str = "A") -> None:
        record: dict[str, Any] = {
            "Name": f"{name}.{ZONE}.",
            "Type": record_type,
            "TTL": 120,
            "ResourceRecords": [{"Value": v} for v in values],
        }
        self.route53.change_resource_record_sets(
            HostedZoneId=self.id, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]}
        )


def wait_for(check: Any, seconds: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not repaired after {seconds:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_zone_broken_by_hand_is_repaired_within_the_interval(local: LocalRun) -> None:
    register(local, "heal", ["192.0.2.31", "192.0.2.32"])
    zone = Zone(local)
    wanted = {
        (f"heal.{ZONE}.", "A"): ["192.0.2.31", "192.0.2.32"],
        (f"_acme-challenge.heal.{ZONE}.", "TXT"): ['"challenge"'],
    }
    assert zone.under("heal") == wanted

    zone.change("DELETE", "heal", ["192.0.2.31", "192.0.2.32"])  # a missing record
    zone.change("UPSERT", "_acme-challenge.heal", ['"tampered"'], "TXT")  # a wrong one
    zone.change("CREATE", "s3.heal", ["198.51.100.31"])  # an orphan s3 record
    zone.change("CREATE", "ghost", ["198.51.100.32"])  # an orphan under nobody's label
    assert zone.under("heal") != wanted

    # A pass starts within the interval; allow it time to run on a busy machine.
    waited = wait_for(lambda: zone.under("heal") == wanted and not zone.under("ghost"), RECONCILE_INTERVAL + 15)
    assert waited < RECONCILE_INTERVAL + 15
    summaries = [json.loads(line) for line in local.output if '"dns reconciled"' in line]
    assert summaries, "no reconciler summary line in the run's output"
    assert set(summaries[-1]) >= {"DnsRecordsChecked", "DnsRecordsCreated", "DnsRecordsDeleted", "_aws"}


def test_make_reconcile_makes_a_pass_now(local: LocalRun) -> None:
    zone = Zone(local)
    zone.change("CREATE", "stray", ["198.51.100.40"])
    result = subprocess.run(
        ["make", "--no-print-directory", "reconcile"],
        cwd=ROOT,
        env={**os.environ, "MOTO_PORT": str(local.moto_port)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"checked", "created", "fixed", "deleted", "released", "skipped", "conflicts", "calls"}
    assert summary["calls"] >= 1
    # This pass, or the run's own one just before it, removed the stray record.
    assert zone.under("stray") == {}


def test_make_reconcile_without_a_run_says_so() -> None:
    from tests.localrun import free_port

    result = subprocess.run(
        ["make", "--no-print-directory", "reconcile"],
        cwd=ROOT,
        env={**os.environ, "MOTO_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "start `make run` first" in result.stderr
