"""Concurrent registrations and joins against the local run (`chalice local` threads + its moto
server).

32 requests race for one single-use token, then 32 requests with distinct tokens race for one
subdomain, released together by a barrier. Exactly one wins each race; the others get the
documented error; the stored state (read with boto3 from the moto server) and the DNS zone agree
with the winner; the losers leave nothing behind and their tokens stay unused.

The guarantees come from DynamoDB conditions (the token's usage count, the subdomain reservation).
moto's stock threaded server does not apply them atomically: `tests/moto_race.py` reproduces two
transactions both passing one single-use condition, and a cancelled transaction's rollback erasing
a committed write. So the local run serves AWS one request at a time (`scripts/moto_server.py`),
which is the guarantee DynamoDB gives; `chalice local` stays threaded, so the app's whole request
path still races. The first test checks that backend guarantee itself, with no app code.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests import moto_race
from tests.localrun import ADMIN_PASSWORD, ZONE, LocalRun
from tests.token_helpers import identifier_of

pytestmark = pytest.mark.blackbox
RACERS = 32
TABLES = ("-users", "-tokens", "-providers", "-clusters", "-memberships", "-identifiers")


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST JSON. A connection reset by the dev server (chalice local's listen backlog is 5) is
    retried, as a real client would; a request served twice would show in the races' counts
    (its second answer would be a loser's), so a retry can fail a race but never pass one."""
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
        except (ConnectionResetError, urllib.error.URLError) as error:
            if not isinstance(getattr(error, "reason", error), ConnectionResetError):
                raise
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
    """POST every body to /providers at once: one thread each, released together."""
    barrier = threading.Barrier(len(bodies))

    def register(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        barrier.wait(timeout=30)
        return post(f"{local.base}/providers", body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(register, bodies, timeout=120))


def snapshot(local: LocalRun) -> dict[str, dict[str, dict[str, Any]]]:
    """Every item of the app's tables, by table suffix and key; and the zone's A records."""
    dynamodb = local.client("dynamodb")
    deserialize = TypeDeserializer().deserialize
    names = dynamodb.list_tables()["TableNames"]
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for suffix in TABLES:
        [table] = [name for name in names if name.endswith(suffix)]
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        items = [
            {k: deserialize(v) for k, v in item.items()}
            for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            for item in page["Items"]
        ]
        # By key: its one attribute, or (partition, sort) for the memberships.
        state[suffix] = {item[keys[0]] if len(keys) == 1 else tuple(item[k] for k in keys): item for item in items}
    route53 = local.client("route53")
    [zone_id] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
    state["A"] = {
        record["Name"].rstrip("."): sorted(v["Value"] for v in record["ResourceRecords"])
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
        for record in page["ResourceRecordSets"]
        if record["Type"] == "A"
    }
    return state


def added(before: dict[str, Any], after: dict[str, Any], part: str) -> dict[str, Any]:
    return {key: value for key, value in after[part].items() if key not in before[part]}


def token_id(token: str) -> str:
    return identifier_of(token).id


def body(token: str, subdomain: str, ip: str) -> dict[str, Any]:
    return {
        "token": token,
        "name": f"Racer {subdomain}",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": subdomain,
        "opWorkerIpAddresses": [ip],
    }


def assert_one_provider_written(before: dict[str, Any], after: dict[str, Any], winner: dict[str, Any]) -> None:
    """The winner's provider, cluster, root token and admin membership, and nothing else."""
    provider_id = winner["providerId"]
    assert list(added(before, after, "-providers")) == [provider_id]
    assert list(added(before, after, "-clusters")) == [provider_id]
    [root] = added(before, after, "-tokens").values()
    assert (root["subjectType"], root["subjectId"]) == ("oneprovider", provider_id)
    assert root["tokenId"] == after["-providers"][provider_id]["rootTokenId"] == token_id(winner["providerRootToken"])
    admin = winner["adminUserId"]
    assert set(after["-users"][admin].get("clusters", ())) - set(before["-users"][admin].get("clusters", ())) == {
        provider_id
    }
    assert list(added(before, after, "-memberships")) == [(provider_id, admin)]


def test_the_local_runs_backend_commits_one_of_32_racing_transactions(local: LocalRun) -> None:
    """The guarantee the app relies on, with no app code: moto_race's rounds hold on this server."""
    clients = [moto_race.client(local.moto_port) for _ in range(RACERS)]
    clients[0].create_table(
        TableName="concurrency-probe",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        for round_no in range(3):
            summary, consistent = moto_race.race_round(clients, "concurrency-probe", round_no)
            assert consistent, summary
            assert summary["committed"] == 1, summary
    finally:
        clients[0].delete_table(TableName="concurrency-probe")


def test_one_token_32_registrations(local: LocalRun) -> None:
    """Losers get `inviteTokenUsageLimitReached` whichever check stops them: the read of the used
    token before any write, or the transaction's usage condition (its ALL_OLD item shows the
    count), both documented as Onezone's error for a used-up invite token."""
    [token] = registration_tokens(local, 1)
    before = snapshot(local)
    results = race(local, [body(token, f"race-token-{i}", f"192.0.2.{i + 1}") for i in range(RACERS)])
    after = snapshot(local)

    outcomes = Counter(status if status == 200 else reply["error"]["id"] for status, reply in results)
    assert outcomes == {200: 1, "inviteTokenUsageLimitReached": RACERS - 1}, outcomes
    assert all(status == 400 for status, _ in results if status != 200)
    [(index, winner)] = [(i, reply) for i, (status, reply) in enumerate(results) if status == 200]

    assert after["-tokens"][token_id(token)]["usageCount"] == 1
    assert_one_provider_written(before, after, winner)
    claims = added(before, after, "-identifiers")
    assert {k: (v["ownerId"], v.get("pending")) for k, v in claims.items()} == {
        f"subdomain:race-token-{index}": (winner["providerId"], False),
        f"tokenname:{winner['providerId']}:root token": (token_id(winner["providerRootToken"]), None),
    }
    assert added(before, after, "A") == {f"race-token-{index}.{ZONE}": [f"192.0.2.{index + 1}"]}


def test_32_tokens_one_subdomain(local: LocalRun) -> None:
    """Losers are stopped by the subdomain reservation (a conditional put) before they write DNS or
    use their token: `badValueIdentifierOccupied`, key `subdomain`, and the token stays unused."""
    tokens = registration_tokens(local, RACERS)
    before = snapshot(local)
    results = race(local, [body(token, "contested", f"192.0.2.{i + 1}") for i, token in enumerate(tokens)])
    after = snapshot(local)

    outcomes = Counter(status if status == 200 else reply["error"]["id"] for status, reply in results)
    assert outcomes == {200: 1, "badValueIdentifierOccupied": RACERS - 1}, outcomes
    losers = [reply for status, reply in results if status != 200]
    assert all(reply["error"]["details"] == {"key": "subdomain"} for reply in losers), losers
    [(index, winner)] = [(i, reply) for i, (status, reply) in enumerate(results) if status == 200]

    usage = [after["-tokens"][token_id(token)]["usageCount"] for token in tokens]
    assert usage == [1 if i == index else 0 for i in range(RACERS)]
    assert_one_provider_written(before, after, winner)
    claim = after["-identifiers"]["subdomain:contested"]
    assert (claim["ownerId"], claim.get("pending")) == (winner["providerId"], False)
    assert added(before, after, "A") == {f"contested.{ZONE}": [f"192.0.2.{index + 1}"]}


# ---- joining a cluster -------------------------------------------------------------------------


def new_users(local: LocalRun, count: int, prefix: str) -> list[tuple[str, dict[str, str]]]:
    """`count` users, each (id, headers with an access token of theirs)."""
    admin = {"X-Auth-Token": admin_access_token(local)}
    made = []
    for i in range(count):
        name, password = f"{prefix}{i}", "racer-password-1"
        status, created = post(f"{local.base}/users", {"username": name, "password": password}, admin)
        assert status == 201, created
        status, token = post(
            f"{local.base}/user/tokens/temporary",
            {"caveats": [{"type": "time", "validUntil": int(time.time()) + 600}]},
            {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()},
        )
        assert status == 201, token
        made.append((created["userId"], {"X-Auth-Token": token["token"]}))
    return made


def racing_provider(local: LocalRun, name: str) -> tuple[str, dict[str, str]]:
    [token] = registration_tokens(local, 1)
    body = {"token": token, "name": name, "adminEmail": "ops@example.com", "subdomainDelegation": False}
    status, registered = post(f"{local.base}/providers", {**body, "domain": f"{name}.example.com"})
    assert status == 200, registered
    return registered["providerId"], {"X-Auth-Token": registered["providerRootToken"]}


def invite(local: LocalRun, provider: dict[str, str], cluster_id: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": f"race invite {time.time_ns()}",
        "type": {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": cluster_id}},
        **extra,
    }
    status, created = post(f"{local.base}/provider/tokens/named", body, provider)
    assert status == 201, created
    return created


def at_once(*calls: Any) -> list[tuple[int, dict[str, Any]]]:
    """Run every call at once: one thread each, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> tuple[int, dict[str, Any]]:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls, timeout=120))


def delete(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method="DELETE", headers=headers)  # noqa: S310 - a loopback URL
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_eight_users_join_with_one_single_use_invite(local: LocalRun) -> None:
    """The invite's usage count is a condition of the join transaction: one member, whatever the
    timing; the others get `inviteTokenUsageLimitReached` and nothing of theirs is written."""
    cluster_id, provider = racing_provider(local, "race-join")
    joiners = new_users(local, 8, "joiner")
    created = invite(local, provider, cluster_id, usageLimit=1)
    before = snapshot(local)
    results = at_once(
        *(
            lambda headers=headers: post(f"{local.base}/user/clusters/join", {"token": created["token"]}, headers)
            for _user_id, headers in joiners
        )
    )
    after = snapshot(local)
    outcomes = Counter(status if status == 201 else reply["error"]["id"] for status, reply in results)
    assert outcomes == {201: 1, "inviteTokenUsageLimitReached": 7}, outcomes
    [winner] = [user_id for (user_id, _), (status, _) in zip(joiners, results, strict=True) if status == 201]
    assert list(added(before, after, "-memberships")) == [(cluster_id, winner)]
    assert after["-tokens"][created["tokenId"]]["usageCount"] == 1
    for user_id, _ in joiners:
        assert (cluster_id in after["-users"][user_id].get("clusters", ())) == (user_id == winner)


def test_a_join_racing_a_removal_leaves_both_records_or_neither(local: LocalRun) -> None:
    """Joining writes the membership item and the user's `clusters` entry in one transaction,
    removing (by the provider) and leaving (by the user) delete both in one: whichever wins each
    round, the two agree afterwards."""
    cluster_id, provider = racing_provider(local, "race-leave")
    [(user_id, headers)] = new_users(local, 1, "leaver")
    token = invite(local, provider, cluster_id)["token"]  # unlimited
    join = lambda: post(f"{local.base}/user/clusters/join", {"token": token}, headers)  # noqa: E731
    removals = [
        lambda: delete(f"{local.base}/clusters/{cluster_id}/users/{user_id}", provider),
        lambda: delete(f"{local.base}/user/clusters/{cluster_id}", headers),
    ]
    for round_no in range(8):
        if round_no % 2 == 0:  # every other round starts with the user a member
            assert join()[0] in (201, 409)
        results = at_once(join, removals[round_no // 2 % 2])
        state = snapshot(local)
        member = (cluster_id, user_id) in state["-memberships"]
        listed = cluster_id in state["-users"][user_id].get("clusters", ())
        assert member == listed, (round_no, results)
        assert all(status in (201, 204, 404, 409) for status, _ in results), results
        if member:
            assert delete(f"{local.base}/user/clusters/{cluster_id}", headers)[0] == 204
