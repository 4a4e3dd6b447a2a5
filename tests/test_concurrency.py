"""Concurrent registrations against the local run (`chalice local` threads + moto server).

32 requests race for one single-use token, then 32 requests with distinct tokens race for one
subdomain. Exactly one wins each race; the others get the documented error; the stored state and
the DNS zone agree with the winner; the losers' tokens stay unused. The guarantees come from
DynamoDB conditions (token use, subdomain reservation). moto's threaded server does not apply
them atomically (two winners were seen), so the local run serves AWS one request at a time
(`scripts/moto_server.py`), as DynamoDB guarantees per item; `chalice local` stays threaded.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.localrun import ADMIN_PASSWORD, LocalRun

pytestmark = pytest.mark.blackbox
RACERS = 32


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST JSON. A connection reset by the dev server (chalice local's listen backlog is 5) is
    retried, as a real client would; a request served twice would show in the races' counts."""
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built by the test
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    for attempt in range(10):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except ConnectionResetError:
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError(f"{url}: connection reset ten times")


def admin_access_token(local: LocalRun) -> str:
    status, body = local.curl(
        "-u",
        f"admin:{ADMIN_PASSWORD}",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"type": {"accessToken": {}}, "caveats": [{"type": "time", "validUntil": int(time.time()) + 600}]}),
        f"{local.base}/user/tokens/temporary",
    )
    assert status == 201, body
    return body["token"]


def registration_tokens(local: LocalRun, count: int) -> list[str]:
    auth = {"X-Auth-Token": admin_access_token(local)}
    url = f"{local.base}/user/clusters/provider_registration_token"
    tokens = []
    for _ in range(count):
        status, body = post(url, {}, auth)
        assert status == 200, body
        tokens.append(body["token"])
    return tokens


def race(local: LocalRun, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(lambda body: post(f"{local.base}/providers", body), bodies))


def scan(local: LocalRun, suffix: str) -> list[dict[str, Any]]:
    dynamodb = local.client("dynamodb")
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if name.endswith(suffix)]
    deserialize = TypeDeserializer().deserialize
    return [{k: deserialize(v) for k, v in item.items()} for item in dynamodb.scan(TableName=table)["Items"]]


def body(token: str, subdomain: str, ip: str) -> dict[str, Any]:
    return {
        "token": token,
        "name": f"Racer {subdomain}",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": [ip],
    }


def test_one_token_32_registrations(local: LocalRun) -> None:
    [token] = registration_tokens(local, 1)
    results = race(local, [body(token, f"race-token-{i}", f"192.0.2.{i + 1}") for i in range(RACERS)])
    outcomes = Counter(status if status == 200 else body["error"]["id"] for status, body in results)
    assert outcomes == {200: 1, "inviteTokenUsageLimitReached": RACERS - 1}, outcomes

    [winner] = [body for status, body in results if status == 200]
    mine = [p for p in scan(local, "-providers") if p["name"].startswith("Racer race-token-")]
    assert [p["providerId"] for p in mine] == [winner["providerId"]]
    winner_sub = mine[0]["subdomain"]
    for i in range(RACERS):
        name = f"race-token-{i}.onezone.test"
        assert (local.a_record(name) is not None) == (f"race-token-{i}" == winner_sub), name
    claims = [
        c["identifier"] for c in scan(local, "-identifiers") if c["identifier"].startswith("subdomain:race-token")
    ]
    assert claims == [f"subdomain:{winner_sub}"]


def test_32_tokens_one_subdomain(local: LocalRun) -> None:
    tokens = registration_tokens(local, RACERS)
    results = race(local, [body(token, "contested", f"192.0.2.{i + 1}") for i, token in enumerate(tokens)])
    outcomes = Counter(status if status == 200 else body["error"]["id"] for status, body in results)
    assert outcomes == {200: 1, "badValueIdentifierOccupied": RACERS - 1}, outcomes

    [(winner_index, winner)] = [(i, body) for i, (status, body) in enumerate(results) if status == 200]
    assert local.a_record("contested.onezone.test") == [f"192.0.2.{winner_index + 1}"]
    contested = [p for p in scan(local, "-providers") if p.get("subdomain") == "contested"]
    assert [p["providerId"] for p in contested] == [winner["providerId"]]
    [claim] = [c for c in scan(local, "-identifiers") if c["identifier"] == "subdomain:contested"]
    assert (claim["ownerId"], claim["pending"]) == (winner["providerId"], False)
