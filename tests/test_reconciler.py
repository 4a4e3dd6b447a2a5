"""The DNS reconciler against moto: each kind of drift repaired, everything that is not the
registry's left alone, changes in flight and newer writes respected, failures half way through a
pass harmless, and the pass's summary logged with its metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import app
from chalicelib import context
from chalicelib.dns import names, reconciler
from chalicelib.dns.records import RecordSet
from chalicelib.dns.route53 import Pace
from chalicelib.store import db
from tests.conftest import Api
from tests.provider_helpers import Registered, client_error, register_provider, scan, strict_route53

ROOT = Path(__file__).resolve().parent.parent
ZONE = "onezone.test"
S3 = ["192.0.2.9"]
WORKERS = ["192.0.2.1", "192.0.2.2"]

ZoneState = dict[tuple[str, str], Any]


def zone_state(api: Api) -> ZoneState:
    """Every record set of the zone (NS and SOA included): (name, type) -> (TTL, sorted values),
    or the alias target / routing identifier for records that have one."""
    pages = (
        boto3.client("route53")
        .get_paginator("list_resource_record_sets")
        .paginate(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    )
    state: ZoneState = {}
    for record in (record for page in pages for record in page["ResourceRecordSets"]):
        key = (record["Name"], record["Type"])
        if "AliasTarget" in record:
            state[key] = ("alias", record["AliasTarget"]["DNSName"])
        elif "SetIdentifier" in record:
            state[key] = ("weighted", record["SetIdentifier"])
        else:
            state[key] = (record["TTL"], sorted(r["Value"] for r in record["ResourceRecords"]))
    return state


def registry_records(api: Api) -> ZoneState:
    """The zone without its apex NS and SOA."""
    return {key: value for key, value in zone_state(api).items() if key[1] not in ("NS", "SOA")}


def edit(api: Api, action: str, name: str, values: list[str], record_type: str = "A", ttl: int = 120) -> None:
    """A change by hand, as an operator (or a killed request) would leave it."""
    record = {"Name": name, "Type": record_type, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}
    boto3.client("route53").change_resource_record_sets(
        HostedZoneId=api.env["HOSTED_ZONE_ID"],
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
    )


def reconcile() -> reconciler.Summary:
    return reconciler.reconcile(context.current(), Pace(1000))


def counts(summary: reconciler.Summary) -> dict[str, int]:
    result = vars(summary).copy()
    del result["calls"]
    return result


def nothing(**done: int) -> dict[str, int]:
    return {"checked": 0, "created": 0, "fixed": 0, "deleted": 0, "released": 0, "skipped": 0, "conflicts": 0} | done


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


def reserve(api: Api, label: str, owner: str, age: int = 0) -> None:
    """A pending reservation of `label`, made `age` seconds ago, as a registration writes it."""
    made = int(time.time()) - age
    boto3.client("dynamodb").put_item(
        TableName=api.env["IDENTIFIERS_TABLE"],
        Item=db.encode(
            {
                "identifier": f"subdomain:{label}",
                "ownerId": owner,
                "pending": True,
                "createdAt": made,
                "pendingUntil": made + 300,
            }
        ),
    )


def lease(api: Api, provider: Registered, until: int | None) -> None:
    """Set (or, with None, clear) the provider's DNS lease as a request in flight holds it."""
    key = {"TableName": api.env["PROVIDERS_TABLE"], "Key": db.encode({"providerId": provider.id})}
    if until is None:
        boto3.client("dynamodb").update_item(**key, UpdateExpression="REMOVE dnsBusyUntil")
    else:
        boto3.client("dynamodb").update_item(
            **key, UpdateExpression="SET dnsBusyUntil = :t", ExpressionAttributeValues={":t": db.encode_value(until)}
        )


@pytest.fixture
def krk(api: Api, alice: str) -> Registered:
    """A provider with workers, OneS3 and a TXT record: four record sets."""
    provider = register_provider(api, subdomain="krk", workers=WORKERS, oneS3IpAddresses=S3, oneS3Port=9000)
    put = api.call("PUT", "/provider/dns_txt_record/_acme-challenge", body={"content": "v1"}, headers=provider.headers)
    assert put.status_code == 204
    return provider


KRK = {
    ("krk.onezone.test.", "A"): (120, WORKERS),
    ("s3.krk.onezone.test.", "A"): (120, S3),
    ("_acme-challenge.krk.onezone.test.", "TXT"): (120, ['"v1"']),
}


# ---- a zone that agrees is left alone -------------------------------------------------------


def test_a_zone_that_agrees_with_the_registry_is_not_written(api: Api, krk: Registered) -> None:
    strict_route53()
    before = zone_state(api)
    summary = reconcile()
    assert counts(summary) == nothing(checked=3)
    assert summary.calls == 1  # one listing page, no change batch
    assert zone_state(api) == before


# ---- each kind of drift ----------------------------------------------------------------------


def test_a_missing_record_is_created(api: Api, krk: Registered) -> None:
    strict_route53()
    edit(api, "DELETE", "krk.onezone.test.", WORKERS)
    edit(api, "DELETE", "_acme-challenge.krk.onezone.test.", ['"v1"'], "TXT")
    assert counts(reconcile()) == nothing(checked=3, created=2)
    assert registry_records(api) == KRK


def test_wrong_ips_and_ttls_are_fixed(api: Api, krk: Registered) -> None:
    strict_route53()
    edit(api, "UPSERT", "krk.onezone.test.", ["203.0.113.66"])
    edit(api, "UPSERT", "s3.krk.onezone.test.", S3, ttl=86400)
    edit(api, "UPSERT", "_acme-challenge.krk.onezone.test.", ['"stale"', '"v1"'], "TXT")
    assert counts(reconcile()) == nothing(checked=3, fixed=3)
    assert registry_records(api) == KRK


def test_an_orphan_a_record_is_deleted(api: Api, krk: Registered) -> None:
    strict_route53()
    edit(api, "CREATE", "gone.onezone.test.", ["198.51.100.7"])  # e.g. left by a killed registration
    assert counts(reconcile()) == nothing(checked=4, deleted=1)
    assert registry_records(api) == KRK


def test_an_orphan_s3_record_is_deleted(api: Api, alice: str) -> None:
    """A crashed attempt left `s3.waw`; the provider that holds `waw` now runs no OneS3."""
    strict_route53()
    register_provider(api, subdomain="waw", workers=["192.0.2.7"])
    edit(api, "CREATE", "s3.waw.onezone.test.", ["192.0.2.66"])
    edit(api, "CREATE", "s3.gdn.onezone.test.", ["192.0.2.67"])  # and one under nobody's label
    assert counts(reconcile()) == nothing(checked=3, deleted=2)
    assert registry_records(api) == {("waw.onezone.test.", "A"): (120, ["192.0.2.7"])}


def test_an_orphan_txt_record_is_deleted(api: Api, krk: Registered) -> None:
    strict_route53()
    edit(api, "CREATE", "_old-challenge.krk.onezone.test.", ['"forgotten"'], "TXT")
    edit(api, "CREATE", "_acme-challenge.gdn.onezone.test.", ['"nobody\'s"'], "TXT")
    assert counts(reconcile()) == nothing(checked=5, deleted=2)
    assert registry_records(api) == KRK


def test_a_stale_reservation_is_released_and_its_records_deleted(api: Api, krk: Registered) -> None:
    """A registration killed after its Route 53 change: an expired reservation and records."""
    strict_route53()
    reserve(api, "gdn", "crashed", age=3600)
    edit(api, "CREATE", "gdn.onezone.test.", ["192.0.2.70"])
    edit(api, "CREATE", "s3.gdn.onezone.test.", ["192.0.2.71"])
    assert counts(reconcile()) == nothing(checked=5, deleted=2, released=1)
    assert registry_records(api) == KRK
    assert [i["identifier"] for i in scan(api, "IDENTIFIERS_TABLE") if i["identifier"].startswith("subdomain:")] == [
        "subdomain:krk"
    ]
    # The label is free again.
    register_provider(api, subdomain="gdn", workers=["192.0.2.80"])


def test_every_kind_of_drift_at_once_and_a_second_pass_finds_none(api: Api, krk: Registered) -> None:
    strict_route53()
    edit(api, "DELETE", "s3.krk.onezone.test.", S3)
    edit(api, "UPSERT", "krk.onezone.test.", ["203.0.113.66"])
    edit(api, "CREATE", "zombie.onezone.test.", ["203.0.113.67"])
    edit(api, "CREATE", "_x.krk.onezone.test.", ['"x"'], "TXT")
    assert counts(reconcile()) == nothing(checked=5, created=1, fixed=1, deleted=2)
    assert registry_records(api) == KRK
    assert counts(reconcile()) == nothing(checked=3)


# ---- what is not the registry's --------------------------------------------------------------

NOT_THE_REGISTRYS = [
    ("onezone.test.", "A", ["203.0.113.1"]),  # the apex
    ("onezone.test.", "TXT", ['"v=spf1 -all"']),
    ("onezone.test.", "MX", ["10 mail.example.com."]),
    ("www.onezone.test.", "A", ["203.0.113.2"]),  # a reserved label (RESERVED_SUBDOMAINS)
    ("_acme-challenge.www.onezone.test.", "TXT", ['"operator\'s"']),
    ("ns1.onezone.test.", "A", ["203.0.113.3"]),  # ns<digits> is always reserved
    ("ns.onezone.test.", "A", ["203.0.113.4"]),
    ("krk.onezone.test.", "AAAA", ["2001:db8::1"]),  # types the registry does not write there
    ("krk.onezone.test.", "TXT", ['"at the label itself"']),
    ("krk.onezone.test.", "MX", ["10 mx.krk.onezone.test."]),
    ("s3.krk.onezone.test.", "TXT", ['"at the s3 name"']),
    ("mail.krk.onezone.test.", "A", ["203.0.113.5"]),  # A below the label, other than s3
    ("a.b.krk.onezone.test.", "TXT", ['"deeper"']),
    ("docs.onezone.test.", "CNAME", ["example.com."]),
    ("_dmarc.onezone.test.", "TXT", ['"v=DMARC1; p=none"']),  # not a label a provider could hold
    ("under_score.onezone.test.", "A", ["203.0.113.6"]),
    ("\\052.onezone.test.", "A", ["203.0.113.7"]),  # the wildcard, as Route 53 writes it
]


def test_records_that_are_not_the_registrys_are_never_touched(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESERVED_SUBDOMAINS", "www, api")
    context.reset()
    strict_route53()
    for name, record_type, values in NOT_THE_REGISTRYS:
        edit(api, "CREATE", name, values, record_type, ttl=300)
    route53 = boto3.client("route53")
    zone_id = api.env["HOSTED_ZONE_ID"]
    alias = {"HostedZoneId": zone_id, "DNSName": "krk.onezone.test.", "EvaluateTargetHealth": False}
    weighted = {"SetIdentifier": "blue", "Weight": 1, "TTL": 60, "ResourceRecords": [{"Value": "203.0.113.9"}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {"Name": "alias.onezone.test.", "Type": "A", "AliasTarget": alias},
                },
                {"Action": "CREATE", "ResourceRecordSet": {"Name": "blue.onezone.test.", "Type": "A", **weighted}},
            ]
        },
    )
    before = zone_state(api)
    assert counts(reconcile()) == nothing(checked=3)
    assert zone_state(api) == before


@pytest.mark.parametrize(
    ("name", "record_type", "label"),
    [
        ("krk.onezone.test.", "A", "krk"),
        ("KRK.OneZone.Test.", "A", "krk"),
        ("s3.krk.onezone.test.", "A", "krk"),
        ("_acme-challenge.krk.onezone.test.", "TXT", "krk"),
        ("x.krk.onezone.test.", "TXT", "krk"),
        ("onezone.test.", "A", None),
        ("krk.onezone.test.", "TXT", None),
        ("s3.krk.onezone.test.", "TXT", None),
        ("x.krk.onezone.test.", "A", None),
        ("a.b.krk.onezone.test.", "TXT", None),
        ("krk.other.test.", "A", None),
        ("krk.onezone.test.evil.", "A", None),
        ("ns7.onezone.test.", "A", None),
        ("-bad.onezone.test.", "A", None),
    ],
)
def test_registry_label(stack_env: dict[str, str], name: str, record_type: str, label: str | None) -> None:
    assert names.registry_label(context.current(), name, record_type) == label


# ---- changes in flight -----------------------------------------------------------------------


def test_a_registration_in_flight_is_left_alone(api: Api, krk: Registered) -> None:
    """Reserved, its records written, its transaction not yet committed."""
    strict_route53()
    reserve(api, "waw", "p2")
    edit(api, "CREATE", "waw.onezone.test.", ["192.0.2.90"])
    before = zone_state(api)
    assert counts(reconcile()) == nothing(checked=3, skipped=1)
    assert zone_state(api) == before
    assert len([i for i in scan(api, "IDENTIFIERS_TABLE") if i.get("pending")]) == 1


def test_a_provider_whose_records_are_changing_is_left_alone(api: Api, krk: Registered) -> None:
    """Its lease (`dnsBusyUntil`) is set from before its Route 53 change until its commit; and a
    provider moving to a new subdomain holds the new label's reservation meanwhile."""
    strict_route53()
    edit(api, "UPSERT", "krk.onezone.test.", ["192.0.2.50"])  # its new IPs, not yet committed
    lease(api, krk, until=int(time.time()) + 300)
    before = zone_state(api)
    assert counts(reconcile()) == nothing(skipped=1)
    assert zone_state(api) == before

    lease(api, krk, until=None)
    reserve(api, "waw", krk.id)
    assert counts(reconcile()) == nothing(skipped=1)  # krk: its holder is moving to waw
    assert zone_state(api) == before


def test_an_expired_lease_no_longer_protects(api: Api, krk: Registered) -> None:
    edit(api, "UPSERT", "krk.onezone.test.", ["192.0.2.50"])
    lease(api, krk, until=int(time.time()) - 1)
    assert counts(reconcile()) == nothing(checked=3, fixed=1)
    assert registry_records(api) == KRK


def test_requests_clear_their_lease(api: Api, krk: Registered) -> None:
    """A committed change, and a failed one, leave no lease behind."""
    body = {"subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.3"]}
    assert api.call("PATCH", "/provider/domain_config", body=body, headers=krk.headers).status_code == 204
    [provider] = scan(api, "PROVIDERS_TABLE")
    assert "dnsBusyUntil" not in provider
    assert provider["dnsRevision"] == 2  # the TXT record, then this

    def refuse(**_kwargs: Any) -> None:
        raise client_error("Throttling", "ChangeResourceRecordSets")

    context.current().aws.route53.meta.events.register("before-call.route53.ChangeResourceRecordSets", refuse)
    body["opWorkerIpAddresses"] = ["192.0.2.4"]
    assert api.call("PATCH", "/provider/domain_config", body=body, headers=krk.headers).status_code == 503
    [provider] = scan(api, "PROVIDERS_TABLE")
    assert "dnsBusyUntil" not in provider
    assert (provider["dnsRevision"], provider["opWorkerIpAddresses"]) == (2, ["192.0.2.3"])


# ---- losing to a newer write -----------------------------------------------------------------


def on_first_change(hook: Any) -> None:
    """Run `hook` once, right before the app's first change batch reaches (strict) Route 53."""
    done: list[bool] = []

    def once(**_kwargs: Any) -> None:
        if not done:
            done.append(True)
            hook()

    context.current().aws.route53.meta.events.register("before-parameter-build.route53.ChangeResourceRecordSets", once)


def test_a_repair_lost_to_a_newer_write_does_not_undo_it(api: Api, krk: Registered) -> None:
    """Between the pass's listing and its change, a request wrote the label: Route 53 refuses
    the repair (the values it would delete are gone), and the newer write stays."""
    edit(api, "UPSERT", "krk.onezone.test.", ["203.0.113.66"])  # drift
    edit(api, "CREATE", "zombie.onezone.test.", ["203.0.113.67"])  # and an orphan, repaired in the same batch
    on_first_change(lambda: edit(api, "UPSERT", "krk.onezone.test.", ["192.0.2.99"]))
    strict_route53()
    summary = reconcile()
    assert (summary.conflicts, summary.fixed, summary.deleted) == (1, 0, 1)
    state = registry_records(api)
    assert state[("krk.onezone.test.", "A")] == (120, ["192.0.2.99"])
    assert ("zombie.onezone.test.", "A") not in state


def test_two_passes_at_once_repair_once(api: Api, krk: Registered) -> None:
    """A second pass runs to its end between the first one's listing and its change; the first
    one's repairs are refused, not applied twice."""
    edit(api, "DELETE", "s3.krk.onezone.test.", S3)
    edit(api, "CREATE", "zombie.onezone.test.", ["203.0.113.67"])
    other: list[reconciler.Summary] = []
    on_first_change(lambda: other.append(reconciler.reconcile(context.current(), Pace(1000))))
    strict_route53()
    first = reconcile()
    assert (other[0].created, other[0].deleted, other[0].conflicts) == (1, 1, 0)
    assert (first.created, first.deleted, first.conflicts) == (0, 0, 2)
    assert registry_records(api) == KRK


def test_an_orphan_claimed_since_the_listing_is_kept(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registration reserved the label after the pass read the reservations and wrote the same
    address the orphan had: the orphan's label is checked again right before its deletion."""
    from chalicelib.store import identifiers

    edit(api, "CREATE", "waw.onezone.test.", ["192.0.2.90"])
    real = identifiers.reservations

    def then_reserved(ctx: Any, kind: str) -> Any:
        yield from real(ctx, kind)
        assert identifiers.reserve(ctx, kind, "waw", "p2", int(time.time()))

    monkeypatch.setattr(identifiers, "reservations", then_reserved)
    summary = reconcile()
    assert (summary.deleted, summary.skipped) == (0, 1)
    assert registry_records(api)[("waw.onezone.test.", "A")] == (120, ["192.0.2.90"])


# ---- failing half way ------------------------------------------------------------------------


def many_orphans(api: Api, count: int) -> None:
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": f"orphan{i:04d}.onezone.test.",
                "Type": "A",
                "TTL": 120,
                "ResourceRecords": [{"Value": f"198.51.{i // 250}.{i % 250 + 1}"}],
            },
        }
        for i in range(count)
    ]
    route53 = boto3.client("route53")
    for start in range(0, count, 500):
        route53.change_resource_record_sets(
            HostedZoneId=api.env["HOSTED_ZONE_ID"], ChangeBatch={"Changes": changes[start : start + 500]}
        )


def test_a_big_zone_is_read_page_by_page_and_repaired_batch_by_batch(api: Api, krk: Registered) -> None:
    many_orphans(api, 1100)
    calls: list[int] = []
    context.current().aws.route53.meta.events.register(
        "before-parameter-build.route53.ChangeResourceRecordSets",
        lambda params, **_: calls.append(len(params["ChangeBatch"]["Changes"])),
    )
    summary = reconcile()
    assert (summary.deleted, summary.checked) == (1100, 1103)
    assert calls == [1000, 100]  # at most 1,000 values a batch
    assert summary.calls == 4 + 2  # 1,105 record sets in pages of 300, and two batches
    assert registry_records(api) == KRK


def orphans_left(api: Api) -> int:
    return sum(1 for name, _ in registry_records(api) if name.startswith("orphan"))


@pytest.mark.parametrize("applied", [False, True], ids=["refused", "applied-but-unanswered"])
def test_a_pass_failing_half_way_leaves_the_zone_no_worse_and_the_next_finishes(
    api: Api, krk: Registered, applied: bool
) -> None:
    """Two batches of at most 1,000 values: `krk`'s missing record (two addresses) and 998
    orphans, then 102 orphans. The second fails
    (after botocore's retries) - refused, or taken by Route 53 with the answer lost."""
    many_orphans(api, 1100)
    edit(api, "DELETE", "krk.onezone.test.", WORKERS)
    route53 = context.current().aws.route53
    real = route53.change_resource_record_sets
    batches: list[int] = []

    def second_batch_fails(**kwargs: Any) -> Any:
        batches.append(len(kwargs["ChangeBatch"]["Changes"]))
        if len(batches) == 2:
            if applied:
                real(**kwargs)
            raise client_error("ServiceUnavailable", "ChangeResourceRecordSets")
        return real(**kwargs)

    route53.change_resource_record_sets = second_batch_fails
    before = registry_records(api)
    with pytest.raises(ClientError):
        reconcile()
    after = registry_records(api)
    # Every record set is as it was or as it should be: nothing the pass did is wrong.
    for key in set(before) | set(after):
        assert after.get(key) in (before.get(key), KRK.get(key)), key
    assert batches == [999, 102]  # changes
    assert after[("krk.onezone.test.", "A")] == KRK[("krk.onezone.test.", "A")]
    assert orphans_left(api) == (0 if applied else 102)
    del route53.change_resource_record_sets  # the client's own method again

    summary = reconcile()
    assert (summary.created, summary.deleted) == (0, 0 if applied else 102)
    assert registry_records(api) == KRK
    assert counts(reconcile()) == nothing(checked=3)


# ---- how it runs -------------------------------------------------------------------------------


def test_the_scheduled_function_logs_one_summary_line_with_its_metrics(
    api: Api, krk: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(api, "CREATE", "zombie.onezone.test.", ["203.0.113.67"])
    capsys.readouterr()
    event = json.loads((ROOT / "infra" / "reconcile-event.json").read_text())
    result = app.reconcile_dns(event, None)
    assert (result["deleted"], result["checked"]) == (1, 4)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("message") == "dns reconciled"]
    metrics = line["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == "OnezoneRegistry"
    assert metrics["Dimensions"] == [["service"]]
    names_ = [metric["Name"] for metric in metrics["Metrics"]]
    assert names_ == [
        "DnsRecordsChecked",
        "DnsRecordsCreated",
        "DnsRecordsFixed",
        "DnsRecordsDeleted",
        "DnsReservationsReleased",
        "DnsLabelsSkipped",
        "DnsRepairConflicts",
    ]
    assert (line["DnsRecordsChecked"], line["DnsRecordsDeleted"], line["service"]) == (4, 1, "onezone-registry")
    assert line["route53Calls"] == 2


def test_the_pace_keeps_route53_calls_apart() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    pace = Pace(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pace()
    now[0] += 1.0  # a slow call: no wait needed after it
    pace()
    assert slept == [0.25, 0.25]
    assert pace.calls == 4


def test_batches_stay_within_route53_limits_and_never_split_a_label() -> None:
    def repair(label: str, values: int, length: int = 10) -> reconciler.Repair:
        record = RecordSet(f"{label}.z.", tuple("x" * length for _ in range(values)))
        return reconciler.Repair(label, [("DELETE", record), ("CREATE", record)], orphan=False)

    by_values = [[r.label for r in batch] for batch in reconciler._batches([repair(f"l{i}", 200) for i in range(6)])]
    assert by_values == [["l0", "l1"], ["l2", "l3"], ["l4", "l5"]]  # 2 x 2 x 200 = 800 values; a third would be 1,200
    # 2 x 2 x 7,000 = 28,000 characters each: a and b do not fit together, b and c do.
    by_characters = reconciler._batches([repair("a", 2, 7000), repair("b", 2, 7000), repair("c", 1, 100)])
    assert [[r.label for r in batch] for batch in by_characters] == [["a"], ["b", "c"]]
