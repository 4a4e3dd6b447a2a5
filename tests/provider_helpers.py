"""Registered providers and what the service keeps about them, for tests that drive providers
through the HTTP surface: registering one, reading every table and the zone as stored, and
failing AWS calls the way AWS fails them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib import context
from chalicelib.store import db
from tests.conftest import TABLES, Api

WORKERS = ["192.0.2.1", "192.0.2.2"]


@dataclass(frozen=True)
class Registered:
    id: str
    root_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.root_token}


def register_provider(
    api: Api,
    username: str = "alice",
    subdomain: str | None = "krk",
    workers: list[str] | None = None,
    token: str | None = None,
    **extra: Any,
) -> Registered:
    """Register a provider with `username`'s registration token: delegated to `subdomain`, or
    with its own domain `<name>.example.com` when `subdomain` is None."""
    body: dict[str, Any] = {
        "token": token or api.registration_token(username),
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        **(
            {"subdomainDelegation": True, "subdomain": subdomain, "opWorkerIpAddresses": workers or WORKERS}
            if subdomain
            else {"subdomainDelegation": False, "domain": "own.example.com"}
        ),
        **extra,
    }
    response = api.call("POST", "/providers", body=body)
    assert response.status_code == 200, response.body
    return Registered(response.json_body["providerId"], response.json_body["providerRootToken"])


def a_records(api: Api) -> dict[str, list[str]]:
    return zone_a_records(api.env["HOSTED_ZONE_ID"])


def zone_a_records(zone_id: str) -> dict[str, list[str]]:
    """The zone's A records: name -> sorted addresses."""
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {s["Name"]: sorted(r["Value"] for r in s["ResourceRecords"]) for s in sets if s["Type"] == "A"}


def scan(api: Api, table: str) -> list[dict[str, Any]]:
    """Every item of a table, decoded (what is really stored, not what the app reads)."""
    items = boto3.client("dynamodb").scan(TableName=api.env[table])["Items"]
    return sorted((db.decode(item) for item in items), key=lambda item: json.dumps(item, sort_keys=True))


def claims(api: Api) -> dict[str, str]:
    """Subdomain claims and reservations: label -> owner (`pending` marked with a `?`)."""
    return {
        item["identifier"].removeprefix("subdomain:"): item["ownerId"] + ("?" if item.get("pending") else "")
        for item in scan(api, "IDENTIFIERS_TABLE")
        if item["identifier"].startswith("subdomain:")
    }


def txt_records(api: Api) -> dict[str, tuple[int, list[str]]]:
    """The zone's TXT records: name -> (TTL, values as Route 53 holds them)."""
    sets = boto3.client("route53").list_resource_record_sets(HostedZoneId=api.env["HOSTED_ZONE_ID"])
    return {
        s["Name"]: (s["TTL"], [r["Value"] for r in s["ResourceRecords"]])
        for s in sets["ResourceRecordSets"]
        if s["Type"] == "TXT"
    }


def snapshot(api: Api) -> dict[str, Any]:
    """Everything the service keeps: every table, and the zone's A and TXT records."""
    return {**{table: scan(api, table) for table in TABLES}, "dns": a_records(api), "txt": txt_records(api)}


def inject(service: str, operation: str, failure: Exception) -> list[dict[str, Any]]:
    """Fail every `operation` of the app's `service` client with `failure` (botocore's own event
    system, so the app's code runs unchanged); returns the refused calls' parameters."""
    client = getattr(context.current().aws, service)
    refused: list[dict[str, Any]] = []

    def fail(params: dict[str, Any], **_kwargs: Any) -> None:
        refused.append(params)
        raise failure

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", fail)
    return refused


def client_error(code: str, operation: str, message: str = "injected") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def strict_route53() -> list[str]:
    """Make moto's Route 53 as strict as the real one, which moto is not: a DELETE of a record set
    that is gone, or whose TTL or values differ, and a CREATE of one that exists, fail the whole
    batch with `InvalidChangeBatch` (moto deletes and overwrites silently). Checked against the
    zone as it stands and the batch's own earlier changes. Returns the refusals' messages."""
    client = context.current().aws.route53
    refusals: list[str] = []

    def check(params: dict[str, Any], **_kwargs: Any) -> None:
        zone = boto3.client("route53").list_resource_record_sets(HostedZoneId=params["HostedZoneId"])
        current = {(s["Name"], s["Type"]): _held(s) for s in zone["ResourceRecordSets"]}
        for change in params["ChangeBatch"]["Changes"]:
            record = change["ResourceRecordSet"]
            key = (record["Name"], record["Type"])
            name = f"[name='{key[0]}', type='{key[1]}']"
            if change["Action"] == "DELETE" and key not in current:
                refusals.append(f"Tried to delete resource record set {name} but it was not found")
            elif change["Action"] == "DELETE" and current[key] != _held(record):
                refusals.append(f"Tried to delete resource record set {name} but the values do not match")
            elif change["Action"] == "CREATE" and key in current:
                refusals.append(f"Tried to create resource record set {name} but it already exists")
            else:
                if change["Action"] == "DELETE":
                    del current[key]
                else:
                    current[key] = _held(record)
                continue
            raise client_error("InvalidChangeBatch", "ChangeResourceRecordSets", f"[{refusals[-1]}]")

    client.meta.events.register("before-parameter-build.route53.ChangeResourceRecordSets", check)
    return refusals


def _held(record_set: dict[str, Any]) -> tuple[Any, list[str]]:
    return record_set.get("TTL"), sorted(r["Value"] for r in record_set.get("ResourceRecords", []))


def recover() -> None:
    """A fresh container: clients without the injected failure."""
    context.reset()
