"""Route 53 change batches and subdomain rules (module level, against moto's Route 53)."""

from __future__ import annotations

import boto3
import pytest

from chalicelib import context
from chalicelib.dns import names, records, route53, transitions
from chalicelib.errors import OnedataError


def zone_records(zone_id: str) -> dict[str, list[str]]:
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {s["Name"]: sorted(r["Value"] for r in s["ResourceRecords"]) for s in sets if s["Type"] == "A"}


def test_record_sets_for_workers_and_ones3(stack_env: dict[str, str]) -> None:
    krk = records.record_sets(context.current(), "krk", ["192.0.2.1"], ["192.0.2.9"])
    assert krk == [
        records.RecordSet("krk.onezone.test.", ("192.0.2.1",)),
        records.RecordSet("s3.krk.onezone.test.", ("192.0.2.9",)),
    ]


def test_services_without_ips_get_no_record(stack_env: dict[str, str]) -> None:
    assert records.record_sets(context.current(), "krk", [], []) == []
    assert records.record_sets(context.current(), "krk", [], ["192.0.2.9"]) == [
        records.RecordSet("s3.krk.onezone.test.", ("192.0.2.9",))
    ]


def test_change_batch_shape() -> None:
    batch = records.change_batch([("UPSERT", records.RecordSet("a.z.", ("192.0.2.1", "192.0.2.2")))])
    assert batch["Changes"] == [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": "a.z.",
                "Type": "A",
                "TTL": 120,
                "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}],
            },
        }
    ]


def test_upsert_then_delete_round_trip(stack_env: dict[str, str]) -> None:
    ctx = context.current()
    krk = records.record_sets(ctx, "krk", ["192.0.2.1", "192.0.2.2"], [])
    route53.upsert(ctx, krk)
    assert zone_records(stack_env["HOSTED_ZONE_ID"])["krk.onezone.test."] == ["192.0.2.1", "192.0.2.2"]
    route53.delete(ctx, krk)
    assert "krk.onezone.test." not in zone_records(stack_env["HOSTED_ZONE_ID"])
    route53.delete(ctx, krk)  # already gone: not an error


def test_upsert_replaces_a_stale_record(stack_env: dict[str, str]) -> None:
    # Only the subdomain's reservation holder writes its records, so a leftover of a crashed
    # attempt is simply replaced.
    ctx = context.current()
    route53.upsert(ctx, records.record_sets(ctx, "krk", ["192.0.2.1"], []))
    route53.upsert(ctx, records.record_sets(ctx, "krk", ["192.0.2.66"], []))
    assert zone_records(stack_env["HOSTED_ZONE_ID"])["krk.onezone.test."] == ["192.0.2.66"]


def test_changes_delete_what_goes_and_upsert_what_changes() -> None:
    kept, moved_old, moved_new = (
        records.RecordSet("a.z.", ("192.0.2.1",)),
        records.RecordSet("b.z.", ("192.0.2.2",)),
        records.RecordSet("b.z.", ("192.0.2.3",)),
    )
    gone, added = records.RecordSet("c.z.", ("192.0.2.4",)), records.RecordSet("d.z.", ("192.0.2.5",))
    assert records.changes([kept, moved_old, gone], [kept, moved_new, added]) == [
        ("DELETE", gone),
        ("UPSERT", moved_new),
        ("UPSERT", added),
    ]
    assert records.changes([kept], [kept]) == []


def test_transition_switches_back_when_the_block_fails(stack_env: dict[str, str]) -> None:
    ctx = context.current()
    old = records.record_sets(ctx, "krk", ["192.0.2.1"], [])
    new = records.record_sets(ctx, "waw", ["192.0.2.9"], ["192.0.2.10"])
    route53.upsert(ctx, old)
    seen: list[set[str]] = []

    def failing_transaction() -> None:
        with transitions.transition(ctx, old, new, reference="r"):
            seen.append(set(zone_records(stack_env["HOSTED_ZONE_ID"])))
            raise KeyError("the transaction failed")

    with pytest.raises(KeyError):
        failing_transaction()
    assert seen == [{"waw.onezone.test.", "s3.waw.onezone.test."}]
    assert zone_records(stack_env["HOSTED_ZONE_ID"]) == {"krk.onezone.test.": ["192.0.2.1"]}


def test_failed_switch_back_is_logged_and_the_original_error_wins(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = context.current()
    krk = records.record_sets(ctx, "krk", ["192.0.2.1"], [])
    real = ctx.aws.route53.change_resource_record_sets
    calls: list[object] = []

    def fail_after_first(**kwargs: object) -> object:
        calls.append(kwargs)
        if len(calls) > 1:
            raise RuntimeError("route 53 is down")
        return real(**kwargs)

    monkeypatch.setattr(ctx.aws.route53, "change_resource_record_sets", fail_after_first)

    def failing_transaction() -> None:
        with transitions.transition(ctx, [], krk, reference="ref-1"):
            raise KeyError("the transaction failed")

    with pytest.raises(KeyError):
        failing_transaction()
    assert any("DNS LEFT INCONSISTENT" in r.getMessage() and "ref-1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("label", ["ns", "ns1", "ns42", "www"])
def test_reserved_labels_are_occupied(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, label: str) -> None:
    monkeypatch.setenv("RESERVED_SUBDOMAINS", "www, api")
    context.reset()
    with pytest.raises(OnedataError) as raised:
        names.check_subdomain(context.current(), label)
    assert raised.value.id == "badValueIdentifierOccupied"


def test_names_too_long_for_dns_are_bad_subdomains(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZONE_DOMAIN", ("z" * 60 + ".") * 3 + "test")  # 187 characters
    context.reset()
    names.check_subdomain(context.current(), "a" * 50)
    with pytest.raises(OnedataError) as raised:
        names.check_subdomain(context.current(), "a" * 63)
    assert raised.value.id == "badValueSubdomain"
