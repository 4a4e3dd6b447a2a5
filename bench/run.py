"""`make bench` (or `.venv/bin/python bench/run.py`): the registry's performance claims as figures.

Never run as a test: tests assert behaviour, this measures it. Prints a table and writes
bench/results/latest.json. In-process figures use moto's `mock_aws` and chalice's test client;
HTTP figures start the local run (`scripts/run_local.py`: moto server + `chalice local`) on free
loopback ports. Every loop is bounded in count; a full run takes about four minutes on 2 cores.
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ["AWS_SECRET_ACCESS_KEY"] = "bench"  # noqa: S105 - moto's fake credentials
for _name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL") or n in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")]:
    del os.environ[_name]

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.cold import cold_requests  # noqa: E402
from bench.localrun import API, RESULTS, access_token_body, basic, local_run  # noqa: E402
from chalicelib import context, passwords  # noqa: E402
from chalicelib.dns.records import RecordSet, change_batch  # noqa: E402
from chalicelib.models import OZ_PRIVILEGES  # noqa: E402
from chalicelib.store import db  # noqa: E402
from chalicelib.store import users as user_store  # noqa: E402
from chalicelib.tokens import codec  # noqa: E402
from infra import stack  # noqa: E402

# infra/stack.py creates the secrets moto's CloudFormation skips; moto's warning about them is noise.
logging.getLogger("moto").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=UserWarning, module="moto.cloudformation.parsing")
# Users created for the figures get the tests' cheap KDF (tests/conftest.py): hashes carry their
# parameters, so they verify exactly like production ones, only faster. Only `kdf()` and the
# Basic-auth HTTP rows pay the real cost.
FAST_KDF = passwords.KdfParams(log2_n=4, r=1, p=1)
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user's password in a throwaway backend


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# ---------------------------------------------------------------- in process: mock_aws + test client


@contextmanager
def backend() -> Iterator[Any]:
    """A fresh moto backend with the infra stack, the app's settings pointing at it, the app's client."""
    with mock_aws():
        os.environ.update(stack.deploy(boto3.session.Session()))
        os.environ.update(REGISTRATION_POLICY="open", SUBDOMAIN_DELEGATION_SUPPORTED="true")
        context.reset()
        import app

        with Client(app.app, stage_name="local") as client:
            yield client
        context.reset()


def new_user(name: str) -> str:
    """A user with every privilege, stored directly (fast KDF); returns its id."""
    user = user_store.UserRecord(
        userId=name + "-id",
        username=name,
        fullName=name,
        passwordHash=passwords.hash_password(PASSWORD, FAST_KDF),
        privileges=sorted(OZ_PRIVILEGES),
        createdAt=0,
    )
    user_store.create(context.current(), user)
    return user.userId


def call(client: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    sent = {"Content-Type": "application/json", **(headers or {})}
    response = getattr(client.http, method.lower())(API + path, headers=sent, body=json.dumps(body or {}))
    assert response.status_code < 300, (path, response.status_code, response.body)
    return response.json_body if response.body else None


def access_token(client: Any, username: str) -> dict[str, str]:
    body = access_token_body(int(time.time()) + 7200)
    token = call(client, "POST", "/user/tokens/temporary", body, basic(username, PASSWORD))["token"]
    return {"X-Auth-Token": token}


def invite(client: Any, auth: dict[str, str]) -> str:
    return call(client, "POST", "/user/clusters/provider_registration_token", headers=auth)["token"]


def registration(token: str, subdomain: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token, "name": "Bench provider", "adminEmail": "ops@example.com"}
    if subdomain:
        body.update(subdomainDelegation=True, subdomain=subdomain, opWorkerIpAddresses=["192.0.2.1"])
    else:
        body.update(subdomainDelegation=False, domain="bench.example.com", latitude=50.06, longitude=19.94)
    return body


@contextmanager
def hooked(**handlers: Callable[..., None]) -> Iterator[None]:
    """Register botocore event handlers (`before_call=...` for `before-call.*.*`) on every client
    the app made (`chalicelib.aws.new_client`), for the duration of the block."""
    clients = context.current().aws
    every = (clients.dynamodb, clients.route53, clients.secretsmanager)
    events = {name.replace("_", "-") + ".*.*": handler for name, handler in handlers.items()}
    for client in every:
        for event, handler in events.items():
            client.meta.events.register(event, handler, f"bench-{event}-{id(handler)}")
    try:
        yield
    finally:
        for client in every:
            for event, handler in events.items():
                client.meta.events.unregister(event, unique_id=f"bench-{event}-{id(handler)}")


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every call the app's own clients send, with its API parameters, through botocore's
    `before-call` (model) and `provide-client-params` hooks."""
    calls: list[tuple[str, dict[str, Any]]] = []
    pending: list[dict[str, Any]] = []

    def params(params: dict[str, Any], **_: Any) -> None:
        pending.append(json.loads(json.dumps(params, default=str)))

    def before(model: Any, **_: Any) -> None:
        calls.append((model.name, pending.pop() if pending else {}))

    with hooked(provide_client_params=params, before_call=before):
        yield calls


@contextmanager
def timed_calls() -> Iterator[list[float]]:
    """The time each call of the app's clients took, from botocore's `before-call` to its
    `after-call` (in process: moto's own work, which is what a real call's latency replaces)."""
    durations: list[float] = []
    started: list[float] = []

    def before(**_: Any) -> None:
        started.append(time.perf_counter())

    def after(**_: Any) -> None:
        durations.append(time.perf_counter() - started.pop())

    with hooked(before_call=before, after_call=after):
        yield durations


def counted(action: Callable[[], Any]) -> dict[str, int]:
    with recording() as calls:
        action()
    return dict(Counter(name for name, _ in calls))


MINIMUM = {
    "token creation (Basic auth)": (
        {"GetItem": 2, "TransactWriteItems": 1},
        "the named token and its name's claim in one transaction; Basic reads username -> id and the user",
    ),
    "token creation (access token)": (
        {"GetItem": 1, "TransactWriteItems": 1},
        "the named token and its name's claim; a temporary token has no record, only its user",
    ),
    "registration by domain": (
        {"GetItem": 2, "TransactWriteItems": 1},
        "token record (admin, uses left) + admin user, then one transaction for every write",
    ),
    "registration with subdomain": (
        {"GetItem": 2, "PutItem": 1, "ChangeResourceRecordSets": 1, "TransactWriteItems": 1},
        "+ PutItem reserving the name before DNS is touched + the Route 53 change",
    ),
}


def aws_calls() -> dict[str, Any]:
    """Warm containers (the token root key is read from Secrets Manager once per container)."""
    with backend() as client:
        new_user("calls")
        auth = access_token(client, "calls")
        invite(client, auth)  # warms the root key
        first, second = invite(client, auth), invite(client, auth)
        actions = {
            "token creation (Basic auth)": lambda: invite(client, basic("calls", PASSWORD)),
            "token creation (access token)": lambda: invite(client, auth),
            "registration by domain": lambda: call(client, "POST", "/providers", registration(first, None)),
            "registration with subdomain": lambda: call(client, "POST", "/providers", registration(second, "calls")),
        }
        results = {}
        for name, action in actions.items():
            calls = counted(action)
            minimum, why = MINIMUM[name]
            results[name] = {
                "calls": calls,
                "total": sum(calls.values()),
                "minimum": sum(minimum.values()),
                "minimum_calls": minimum,
                "why": why,
                "at_minimum": calls == minimum,
            }
        return results


def _replayable_registration(client: Any, auth: dict[str, str]) -> tuple[list[tuple[str, dict[str, Any]]], dict]:
    """One registration through the app, recording the exact calls (with parameters) it made,
    and the ids those calls carry, so the same calls can be replayed with fresh ids."""
    token = invite(client, auth)
    with recording() as calls:
        reply = call(client, "POST", "/providers", registration(token, None))
    ids = {
        "invite": codec.parse(token).identifier.id,
        "provider": reply["providerId"],
        "root": codec.parse(reply["providerRootToken"]).identifier.id,
    }
    return calls, ids


def _replay(calls: list[tuple[str, dict[str, Any]]], ids: dict[str, str], fresh: dict[str, str]) -> list:
    """The recorded calls as (boto3 method name, parameters) with `ids` replaced by `fresh`."""
    text = json.dumps(calls)
    for what, old in ids.items():
        text = text.replace(old, fresh[what])
    snake = re.compile(r"(?<!^)(?=[A-Z])")
    return [(snake.sub("_", name).lower(), params) for name, params in json.loads(text)]


def _direct_registrations(client: Any, auth: dict[str, str], n: int) -> list[list]:
    """n registrations' worth of the app's own DynamoDB calls, ready to send with boto3: same
    tables, items, conditions and return values; fresh ids, each with its own unused invite."""
    calls, ids = _replayable_registration(client, auth)
    assert [name for name, _ in calls] == ["GetItem", "GetItem", "TransactWriteItems"], calls
    batches = []
    for i in range(n):
        fresh = {
            "invite": codec.parse(invite(client, auth)).identifier.id,
            "provider": f"{i:032x}",
            "root": f"direct-root-{i:020d}",
        }
        batches.append(_replay(calls, ids, fresh))
    return batches


def _send(ddb: Any, batch: list, per_op: dict[str, list[float]]) -> None:
    for method, params in batch:
        start = time.perf_counter()
        getattr(ddb, method)(**params)
        per_op.setdefault(method, []).append(time.perf_counter() - start)


def paired_run(existing: int, n: int) -> dict[str, Any]:
    """n registrations by domain through the app, each followed by the same calls made directly
    with boto3 (so both see the same tables as they grow), in one backend seeded with `existing`
    users, tokens and providers. Medians, per-operation medians of the direct calls, and every
    operation the app sent."""
    with backend() as client:
        _seed(existing)
        new_user("bench")
        auth = access_token(client, "bench")
        invite(client, auth)
        invites = [invite(client, auth) for _ in range(n + 1)]
        batches = _direct_registrations(client, auth, n + 1)
        ddb = boto3.client("dynamodb")
        call(client, "POST", "/providers", registration(invites.pop(), None))  # both warm
        _send(ddb, batches.pop(), {})
        app_samples, direct_samples, per_op = [], [], {}
        with recording() as calls:
            for token, batch in zip(invites, batches, strict=True):
                start = time.perf_counter()
                call(client, "POST", "/providers", registration(token, None))
                app_samples.append(time.perf_counter() - start)
                start = time.perf_counter()
                _send(ddb, batch, per_op)
                direct_samples.append(time.perf_counter() - start)
    return {
        "app": statistics.median(app_samples),
        "direct": statistics.median(direct_samples),
        "direct_per_op_ms": {op: ms(statistics.median(t)) for op, t in per_op.items()},
        "operations": dict(Counter(name for name, _ in calls)),
    }


def handler_overhead(n: int = 40) -> dict[str, Any]:
    run = paired_run(0, n)
    return {
        "n": n,
        "app_ms": ms(run["app"]),
        "direct_boto3_ms": ms(run["direct"]),
        "ratio": round(run["app"] / run["direct"], 2),
        "handler_ms": ms(run["app"] - run["direct"]),
        "direct_per_op_ms": run["direct_per_op_ms"],
    }


# What `chalicelib.observability` sets up, and a standard-library logger with the same fields:
# the rule is to keep Powertools unless its cold start costs more than 15 ms over this.
POWERTOOLS_SETUP = (
    "from aws_lambda_powertools import Logger; from aws_lambda_powertools.metrics import MetricUnit, single_metric; "
    "logger = Logger(service='onezone-registry'); logger.thread_safe_append_keys(requestId='r', route='/x'); "
    "logger.info('request', extra={'status': 200, 'latencyMs': 1.0})"
)
STDLIB_SETUP = (
    "import json, logging, sys, threading, time\n"
    "keys = threading.local()\n"
    "class JsonFormatter(logging.Formatter):\n"
    "    def format(self, record):\n"
    "        line = {'level': record.levelname, 'message': record.getMessage(), 'timestamp': time.time(),\n"
    "                'service': 'onezone-registry', 'name': record.name, **getattr(keys, 'values', {}),\n"
    "                **getattr(record, 'fields', {})}\n"
    "        return json.dumps(line, default=str)\n"
    "handler = logging.StreamHandler(sys.stdout); handler.setFormatter(JsonFormatter())\n"
    "logger = logging.getLogger('onezone-registry'); logger.addHandler(handler); logger.setLevel('INFO')\n"
    "keys.values = {'requestId': 'r', 'route': '/x'}\n"
    "logger.info('request', extra={'fields': {'status': 200, 'latencyMs': 1.0}})"
)
# What a cold request that reaches AWS imports besides its logging (GET /configuration imports
# only chalice before it: README "Performance" has its figure).
APP_DEPENDENCIES = "import chalice.app, botocore.session, botocore.config, pydantic, pymacaroons, json, logging"


def _setup_ms(setup: str) -> float:
    """Milliseconds `setup` takes in a fresh interpreter that already imported the app's other
    dependencies (what the logging choice adds to a cold start)."""
    script = (
        f"{APP_DEPENDENCIES}\nimport time\nt = time.perf_counter()\nexec({setup!r})\n"
        "print('ELAPSED', time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return ms(float(out.rsplit("ELAPSED", 1)[1]))


def logging_choice(runs: int = 9) -> dict[str, Any]:
    """Powertools' Logger and metrics against a standard-library JSON logger with the same
    fields, each in fresh interpreters, alternated."""
    powertools, stdlib = [], []
    for _ in range(runs):
        powertools.append(_setup_ms(POWERTOOLS_SETUP))
        stdlib.append(_setup_ms(STDLIB_SETUP))
    extra = round(statistics.median(powertools) - statistics.median(stdlib), 1)
    return {
        "runs": runs,
        "powertools_ms": round(statistics.median(powertools), 1),
        "stdlib_ms": round(statistics.median(stdlib), 1),
        "powertools_extra_ms": extra,
        "threshold_ms": 15,
        "choice": "powertools" if extra <= 15 else "stdlib",
    }


def _seed(count: int) -> None:
    """count users, tokens and providers (besides the bench's own), written in batches of 25."""
    ddb = boto3.client("dynamodb")
    hashed = passwords.hash_password("seed", FAST_KDF)
    rows = {
        "USERS_TABLE": lambda i: {
            "userId": {"S": f"seed-user-{i:08d}"},
            "username": {"S": f"seed{i}"},
            "fullName": {"S": f"Seed {i}"},
            "passwordHash": {"S": hashed},
            "createdAt": {"N": "0"},
        },
        "TOKENS_TABLE": lambda i: {
            "tokenId": {"S": f"seed-token-{i:08d}"},
            "type": {"S": "inviteToken"},
            "inviteType": {"S": "registerOneprovider"},
            "subjectType": {"S": "user"},
            "subjectId": {"S": f"seed-user-{i:08d}"},
            "usageLimit": {"N": "1"},
            "usageCount": {"N": "0"},
            "revoked": {"BOOL": False},
            "createdAt": {"N": "0"},
        },
        "PROVIDERS_TABLE": lambda i: {
            "providerId": {"S": f"seed-provider-{i:08d}"},
            "name": {"S": f"Seed provider {i}"},
            "adminEmail": {"S": "seed@example.com"},
            "domain": {"S": f"seed{i}.example.com"},
            "subdomainDelegation": {"BOOL": False},
            "adminUserId": {"S": f"seed-user-{i:08d}"},
            "createdAt": {"N": "0"},
        },
    }
    for table, row in rows.items():
        for start in range(0, count, 25):
            requests = [{"PutRequest": {"Item": row(i)}} for i in range(start, min(count, start + 25))]
            ddb.batch_write_item(RequestItems={os.environ[table]: requests})


def scale(n: int = 15) -> dict[str, Any]:
    small, large = paired_run(10, n), paired_run(10_000, n)
    scans = sum(count for op, count in large["operations"].items() if op in ("Scan", "Query"))
    if scans:
        raise SystemExit(f"a registration scanned or queried a table: {large['operations']}")
    app_ratio, direct_ratio = large["app"] / small["app"], large["direct"] / small["direct"]
    return {
        "n": n,
        "10_items_ms": ms(small["app"]),
        "10000_items_ms": ms(large["app"]),
        "ratio": round(app_ratio, 2),
        "direct_10_items_ms": ms(small["direct"]),
        "direct_10000_items_ms": ms(large["direct"]),
        "direct_boto3_ratio": round(direct_ratio, 2),
        "app_over_backend_growth": round(app_ratio / direct_ratio, 2),
        "direct_per_op_ms": {"10": small["direct_per_op_ms"], "10000": large["direct_per_op_ms"]},
        "operations_per_registration": {op: c // n for op, c in large["operations"].items()},
        "scans_or_queries": scans,
    }


def _delegated_zone(count: int) -> None:
    """`count` delegated providers (every fourth with OneS3, every tenth with a TXT record) in the
    providers table and their records in the zone, as registration leaves them; then three
    drifts: a record missing, one wrong, an orphan."""
    from chalicelib.dns.records import provider_records
    from chalicelib.store.providers import ProviderRecord, TxtRecord

    ctx = context.current()
    ddb, route53 = boto3.client("dynamodb"), boto3.client("route53")
    changes = []
    for start in range(0, count, 25):
        requests = []
        for i in range(start, min(count, start + 25)):
            provider = ProviderRecord(
                providerId=f"seed-provider-{i:08d}",
                name=f"Seed provider {i}",
                adminEmail="seed@example.com",
                domain=f"p{i:05d}.{ctx.settings.zone_domain}",
                subdomainDelegation=True,
                subdomain=f"p{i:05d}",
                opWorkerIpAddresses=[f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"],
                oneS3IpAddresses=[f"10.200.{i // 256 % 256}.{i % 256}"] if i % 4 == 0 else [],
                txtRecords={"_acme-challenge": TxtRecord(content=f"c{i}", ttl=120)} if i % 10 == 0 else {},
                rootTokenId=f"seed-token-{i:08d}",
                adminUserId=f"seed-user-{i:08d}",
                createdAt=0,
            )
            requests.append({"PutRequest": {"Item": db.encode(provider.model_dump(mode="json"))}})
            changes += [("UPSERT", record) for record in provider_records(ctx, provider)]
        ddb.batch_write_item(RequestItems={os.environ["PROVIDERS_TABLE"]: requests})
    zone = os.environ["HOSTED_ZONE_ID"]
    for start in range(0, len(changes), 400):  # an UPSERT counts twice towards 1,000 values a batch
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=change_batch(changes[start : start + 400]))
    missing, wrong = changes[0][1], changes[-1][1]
    orphan = RecordSet(f"orphan.{ctx.settings.zone_domain}.", ("192.0.2.250",))
    drift = [("DELETE", missing), ("UPSERT", RecordSet(wrong.name, ("192.0.2.251",))), ("CREATE", orphan)]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=change_batch(drift))


def reconcile_pass(count: int) -> dict[str, Any]:
    """One reconciler pass over `count` delegated providers, unpaced (the figures are the work; on
    AWS the pace adds calls / DNS_RECONCILE_REQUESTS_PER_SECOND seconds)."""
    from chalicelib.dns import reconciler
    from chalicelib.dns.route53 import Pace

    with backend():
        _delegated_zone(count)
        with recording() as calls, timed_calls() as in_calls:
            started = time.perf_counter()
            summary = reconciler.reconcile(context.current(), Pace(1_000_000))
            seconds = time.perf_counter() - started
        made = Counter(name for name, _ in calls)
        return {
            "providers": count,
            "record_sets": summary.checked,
            "seconds": round(seconds, 3),
            "own_seconds": round(seconds - sum(in_calls), 3),
            "route53_calls": summary.calls,
            "dynamodb_calls": made["Scan"] + made["GetItem"] + made["DeleteItem"],
            "calls": dict(made),
            "repaired": {"created": summary.created, "fixed": summary.fixed, "deleted": summary.deleted},
            "paced_seconds_on_aws": round(summary.calls / 4, 1),
        }


def reconcile_cost() -> dict[str, Any]:
    small, large = reconcile_pass(10), reconcile_pass(10_000)
    return {
        "10": small,
        "10000": large,
        "record_sets_ratio": round(large["record_sets"] / small["record_sets"], 1),
        "seconds_ratio": round(large["seconds"] / small["seconds"], 1),
        "own_seconds_ratio": round(large["own_seconds"] / small["own_seconds"], 1),
        "route53_calls_ratio": round(large["route53_calls"] / small["route53_calls"], 1),
        "dynamodb_calls_ratio": round(large["dynamodb_calls"] / small["dynamodb_calls"], 1),
    }


def kdf(runs: int = 5) -> dict[str, Any]:
    params = passwords.DEFAULT_PARAMS
    start = time.perf_counter()
    encoded = passwords.hash_password(PASSWORD)
    hashed = time.perf_counter() - start
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        assert passwords.verify_password(PASSWORD, encoded)
        samples.append(time.perf_counter() - start)
    return {
        "scheme": f"scrypt N=2^{params.log2_n} r={params.r} p={params.p}",
        "memory_mib": 128 * params.r * (1 << params.log2_n) // 2**20,
        "hash_ms": ms(hashed),
        "verify_ms": ms(statistics.median(samples)),
    }


def package_size() -> dict[str, Any]:
    package = ROOT / "out" / "deployment.zip"
    if not package.exists():
        return {"zip_mb": None, "how": "run `make package-check` (chalice package --stage prod ... out/) first"}
    return {"zip_mb": round(package.stat().st_size / 1e6, 1), "path": "out/deployment.zip"}


# ---------------------------------------------------------------- over HTTP: the local run


def http_latency(n: int = 20, n_scrypt: int = 6) -> dict[str, Any]:
    """p50/p95 of every operation, one request at a time. What a request consumes (a registration
    token, a provider to delete, a named token to delete, a unique username) is made beforehand,
    outside the timing; rows marked scrypt pay one real password hash or verification."""
    with local_run() as run:
        http = run.http
        admin_basic = basic("admin", run.admin_password)
        valid = int(time.time()) + 3600
        admin = run.admin_token(valid)
        admin_id = http("GET", "/user", headers=admin)["userId"]
        total = 3 * n + 2

        def provider(i: int) -> tuple[str, dict[str, str]]:
            token = http("POST", "/user/clusters/provider_registration_token", {}, admin)["token"]
            reply = http("POST", "/providers", registration(token, f"prep{i}"))
            return reply["providerId"], {"X-Auth-Token": reply["providerRootToken"]}

        invites = iter(
            [http("POST", "/user/clusters/provider_registration_token", {}, admin)["token"] for _ in range(2 * n)]
        )
        own_id, own = provider(total)
        for_self_delete = iter([provider(i)[1] for i in range(n)])
        for_admin_delete = iter([provider(n + i)[0] for i in range(n)])
        named = iter(
            [
                http("POST", "/user/tokens/named", {"name": f"bench-del-{i}", "type": {"accessToken": {}}}, admin)
                for i in range(n)
            ]
        )
        kept = http("POST", "/user/tokens/named", {"name": "bench-kept", "type": {"accessToken": {}}}, admin)
        numbers = iter(range(10**6))
        endpoints: dict[str, tuple[int, Callable[[], Any]]] = {
            "GET /configuration": (n, lambda: http("GET", "/configuration")),
            "GET /openapi.json": (n, lambda: http("GET", "/openapi.json")),
            "GET /user (token)": (n, lambda: http("GET", "/user", headers=admin)),
            "GET /user (Basic: scrypt)": (n_scrypt, lambda: http("GET", "/user", headers=admin_basic)),
            "POST /users (scrypt hash)": (
                n_scrypt,
                lambda: http("POST", "/users", {"username": f"bench{next(numbers)}", "password": PASSWORD}, admin),
            ),
            "GET /users/{id}/privileges": (n, lambda: http("GET", f"/users/{admin_id}/privileges", headers=admin)),
            "PATCH /users/{id}/privileges": (
                n,
                lambda: http("PATCH", f"/users/{admin_id}/privileges", {"grant": ["oz_providers_list"]}, admin),
            ),
            "POST provider_registration_token": (
                n,
                lambda: http("POST", "/user/clusters/provider_registration_token", {}, admin),
            ),
            "POST /providers (domain)": (n, lambda: http("POST", "/providers", registration(next(invites), None))),
            "POST /providers (subdomain)": (
                n,
                lambda: http("POST", "/providers", registration(next(invites), f"http{next(numbers)}")),
            ),
            "GET /provider": (n, lambda: http("GET", "/provider", headers=own)),
            "PATCH /provider": (n, lambda: http("PATCH", "/provider", {"name": "Renamed"}, own)),
            "GET /provider/domain_config": (n, lambda: http("GET", "/provider/domain_config", headers=own)),
            "PATCH /provider/domain_config (IPs)": (
                n,
                lambda: http(
                    "PATCH",
                    "/provider/domain_config",
                    {
                        "subdomainDelegation": True,
                        "subdomain": f"prep{total}",
                        "opWorkerIpAddresses": [f"192.0.2.{next(numbers) % 200 + 2}"],
                    },
                    own,
                ),
            ),
            "DELETE /provider": (n, lambda: http("DELETE", "/provider", headers=next(for_self_delete))),
            "GET /providers (list)": (n, lambda: http("GET", "/providers?limit=100", headers=admin)),
            "GET /providers/{id}": (n, lambda: http("GET", f"/providers/{own_id}", headers=admin)),
            "DELETE /providers/{id}": (
                n,
                lambda: http("DELETE", f"/providers/{next(for_admin_delete)}", headers=admin),
            ),
            "GET /user/clusters": (n, lambda: http("GET", "/user/clusters", headers=admin)),
            "GET /clusters/{id}": (n, lambda: http("GET", f"/clusters/{own_id}", headers=admin)),
            "POST /user/tokens/named": (
                n,
                lambda: http(
                    "POST", "/user/tokens/named", {"name": f"b{next(numbers)}", "type": {"accessToken": {}}}, admin
                ),
            ),
            "GET /user/tokens/named": (n, lambda: http("GET", "/user/tokens/named", headers=admin)),
            "POST /user/tokens/temporary": (
                n,
                lambda: http("POST", "/user/tokens/temporary", access_token_body(valid), admin),
            ),
            "GET /tokens/named/{id}": (n, lambda: http("GET", f"/tokens/named/{kept['tokenId']}", headers=admin)),
            "PATCH /tokens/named/{id}": (
                n,
                lambda: http("PATCH", f"/tokens/named/{kept['tokenId']}", {"revoked": False}, admin),
            ),
            "DELETE /tokens/named/{id}": (
                n,
                lambda: http("DELETE", f"/tokens/named/{next(named)['tokenId']}", headers=admin),
            ),
            "POST /tokens/examine": (n, lambda: http("POST", "/tokens/examine", {"token": kept["token"]})),
        }
        results = {}
        for name, (count, request) in endpoints.items():
            samples = []
            for _ in range(count):
                start = time.perf_counter()
                request()
                samples.append(time.perf_counter() - start)
            results[name] = {
                "n": count,
                "p50_ms": ms(percentile(samples, 0.5)),
                "p95_ms": ms(percentile(samples, 0.95)),
            }
        return results


def graphsync_figures() -> dict[str, Any]:
    from bench import graphsync

    return graphsync.measure()


# ---------------------------------------------------------------- the run


def main() -> int:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name, measure in [
        ("aws_calls", aws_calls),
        ("handler_overhead", handler_overhead),
        ("cold_request", cold_requests),
        ("logging_choice", logging_choice),
        ("scale", scale),
        ("reconcile", reconcile_cost),
        ("graphsync", graphsync_figures),
        ("http_latency", http_latency),
        ("password_kdf", kdf),
        ("package", package_size),
    ]:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = measure()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return 0


def print_table(results: dict[str, Any]) -> None:
    print("\nAWS calls per operation (warm, in process, moto)         calls  minimum")
    for name, f in results["aws_calls"].items():
        detail = ", ".join(f"{op} x{count}" for op, count in sorted(f["calls"].items()))
        print(f"  {name:52} {f['total']:>5}  {f['minimum']:>7}   [{detail}]")
        print(f"  {'':52} {'':>5}  {'':>7}   minimum: {f['why']}")
    o = results["handler_overhead"]
    print(f"\nHandler overhead (median of {o['n']} registrations by domain, in process, same moto backend)")
    print(f"  through the app {o['app_ms']} ms  vs  its exact DynamoDB calls via boto3 {o['direct_boto3_ms']} ms")
    print(f"  ratio {o['ratio']} ({o['handler_ms']} ms of handler work per registration)")
    print("\nCold requests (a fresh interpreter per request, API Gateway event through the handler, moto server;")
    print("  floor: a fresh interpreter making the same AWS calls with boto3 alone; medians, alternated)")
    heading = ("app ms", "floor ms", "ratio", "app cpu", "floor cpu", "import app", "peak RSS")
    print(f"  {'':32}" + "".join(f"{h:>11}" for h in heading))
    for name, c in results["cold_request"].items():
        figures = (c["app_ms"], c["floor_ms"], c["ratio"], c["app_cpu_ms"], c["floor_cpu_ms"])
        print(f"  {name:32}" + "".join(f"{f:>11}" for f in figures), end="")
        print(f"{c['import_app_ms']:>8} ms{c['peak_rss_mb']:>8} MB")
    costs = next(c["dependencies_cpu_ms"] for c in results["cold_request"].values() if "dependencies_cpu_ms" in c)
    print(
        f"  what the app's dependencies add to a floor of {costs['floor_cpu_ms']} ms CPU (the token request's reads):"
    )
    print("    " + ", ".join(f"{name} +{ms} ms" for name, ms in costs.items() if name != "floor_cpu_ms"))
    g = results["logging_choice"]
    print(f"\nLogging's cold-start cost (median of {g['runs']} fresh interpreters, after the app's other imports)")
    print(f"  Powertools Logger + metrics {g['powertools_ms']} ms  vs  a stdlib JSON logger {g['stdlib_ms']} ms")
    print(
        f"  Powertools adds {g['powertools_extra_ms']} ms (rule: keep it up to {g['threshold_ms']} ms): {g['choice']}"
    )
    s = results["scale"]
    print(f"\nScale (median of {s['n']} registrations by domain, 10 vs 10,000 users, tokens and providers)")
    print(f"  through the app    {s['10_items_ms']} ms -> {s['10000_items_ms']} ms: ratio {s['ratio']}")
    direct = f"{s['direct_10_items_ms']} ms -> {s['direct_10000_items_ms']} ms"
    print(f"  same calls direct  {direct}: ratio {s['direct_boto3_ratio']}")
    for op, small in s["direct_per_op_ms"]["10"].items():
        print(f"    {op:20} {small} ms -> {s['direct_per_op_ms']['10000'][op]} ms")
    print(f"  app's own growth   {s['app_over_backend_growth']} (1.0 = none beyond the backend's)")
    print(f"  Scan/Query calls   {s['scans_or_queries']} (per registration: {s['operations_per_registration']})")
    r = results["reconcile"]
    print("\nDNS reconciler: one pass, 10 vs 10,000 delegated providers (3 drifts each; in process, moto, unpaced)")
    print("  providers  record sets  Route 53 calls  DynamoDB calls  seconds  outside calls  paced on AWS")
    for key in ("10", "10000"):
        f = r[key]
        print(
            f"  {f['providers']:>9}  {f['record_sets']:>11}  {f['route53_calls']:>14}  {f['dynamodb_calls']:>14}"
            f"  {f['seconds']:>7}  {f['own_seconds']:>13}  {f['paced_seconds_on_aws']:>10} s"
        )
    print(
        f"  ratio      {r['record_sets_ratio']:>11}  {r['route53_calls_ratio']:>14}  {r['dynamodb_calls_ratio']:>14}"
        f"  {r['seconds_ratio']:>7}  {r['own_seconds_ratio']:>13}"
    )
    print("  (calls: a page per 300 record sets or 1 MB of items; time: moto's serialising of those pages)")
    gs = results["graphsync"]
    print("\nGraphSync: op-worker 21.02.7's handshake and on-connect steps (warm, in process)  calls  minimum")
    for name, f in gs["steps"].items():
        detail = ", ".join(f"{op} x{count}" for op, count in sorted(f["calls"].items()))
        print(f"  {name:52} {f['total']:>5}  {f['minimum']:>7}   [{detail}]")
        print(f"  {'':52} {'':>5}  {'':>7}   minimum: {f['why']}")
    print(f"  {'on-connect total':52} {gs['on_connect_calls']:>5}  {gs['on_connect_minimum']:>7}")
    print(f"  a push (the stream function, per subscribed channel): {gs['push_calls']['calls']}")
    if "skipped" in gs:
        print(f"  against the local run: skipped ({gs['skipped']})")
    else:
        print(
            f"  against the local run: handshake {gs['handshake_ms']} ms,"
            f" REST change -> push {gs['push_latency_ms']} ms (p95 {gs['push_latency_p95_ms']}),"
            f" channels held {gs['channels_held']}, dropped {gs['channels_dropped']}"
        )
    print("\nHTTP latency through chalice local + moto server, one request at a time (ms)")
    for name, f in results["http_latency"].items():
        print(f"  {name:40} n={f['n']:<3} p50 {f['p50_ms']:>8}   p95 {f['p95_ms']:>8}")
    k = results["password_kdf"]
    print(f"\nPassword KDF: {k['scheme']} ({k['memory_mib']} MiB): {k['verify_ms']} ms per verification")
    print(f"  ({k['hash_ms']} ms to hash)")
    p = results["package"]
    size = f"{p['zip_mb']} MB ({p['path']})" if p["zip_mb"] is not None else p["how"]
    print(f"Deployment package: {size}")
    print(
        f"\n(bench took {results['bench_seconds']} s on {results['machine']['cpus']} CPUs; bench/results/latest.json)"
    )


if __name__ == "__main__":
    sys.exit(main())
