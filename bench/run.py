"""`make bench`: the registry's performance claims as figures. Never run as a test.

Prints a table and writes bench/results/latest.json. In-process figures use moto's `mock_aws`
and chalice's test client; HTTP figures use the local run (moto server + `chalice local`) on
free loopback ports. Everything is bounded in count and time (about two minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ["AWS_SECRET_ACCESS_KEY"] = "bench"  # noqa: S105 - moto's fake credentials
for _name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import context, passwords, tokens  # noqa: E402
from chalicelib.store import users as user_store  # noqa: E402
from chalicelib.store.tokens import SubjectType  # noqa: E402
from infra import stack  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FAST_KDF = passwords.KdfParams(log2_n=4, r=1, p=1)
API = "/api/v3/onezone"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@contextmanager
def backend() -> Iterator[Any]:
    """A moto backend with the infra stack, the app's settings pointing at it, and a client."""
    with mock_aws():
        os.environ.update(stack.deploy(boto3.session.Session()))
        os.environ.update(REGISTRATION_POLICY="open", SUBDOMAIN_DELEGATION_SUPPORTED="true")
        context.reset()
        import app

        with Client(app.app, stage_name="local") as client:
            yield client
        context.reset()


def new_user(name: str) -> tuple[str, str]:
    """A user and an access token for it (fast KDF: these figures are not about passwords)."""
    user = user_store.UserRecord(
        userId=name + "-id",
        username=name,
        fullName=name,
        passwordHash=passwords.hash_password("bench-pass", FAST_KDF),
        createdAt=0,
    )
    user_store.create(context.current(), user)
    token = tokens.issue(context.current(), tokens.new_record(SubjectType.USER, user.userId, int(time.time())))
    return user.userId, token


def call(client: Any, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})}
    response = getattr(client.http, method.lower())(API + path, headers=headers, body=json.dumps(body or {}))
    assert response.status_code < 300, response.body
    return response.json_body if response.body else None


def registration(token: str, subdomain: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": token, "name": "Bench provider", "adminEmail": "ops@example.com"}
    if subdomain:
        body.update(subdomainDelegation=True, subdomain=subdomain, opWorkerIpAddresses=["192.0.2.1"])
    else:
        body.update(subdomainDelegation=False, domain="bench.example.com")
    return body


def count_calls(action: Callable[[], Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    clients = context.current().aws
    for client in (clients.dynamodb, clients.route53, clients.secretsmanager):
        client.meta.events.register("before-call.*.*", lambda model, **_k: counts.update([model.name]), "bench")
    try:
        action()
    finally:
        for client in (clients.dynamodb, clients.route53, clients.secretsmanager):
            client.meta.events.unregister("before-call.*.*", unique_id="bench")
    return dict(counts)


def aws_calls() -> dict[str, Any]:
    with backend() as client:
        _, user_token = new_user("calls")
        call(client, "GET", "/configuration")  # warm: the root key is read once per container
        issue = lambda: call(client, "POST", "/user/clusters/provider_registration_token", token=user_token)  # noqa: E731
        first = issue()["token"]
        second = issue()["token"]
        return {
            "token creation": {
                "calls": count_calls(issue),
                "minimum": 2,
                "why": "one read to authenticate, one write of the token",
            },
            "registration by domain": {
                "calls": count_calls(lambda: call(client, "POST", "/providers", registration(first, None))),
                "minimum": 1,
                "why": "one conditional transaction (our two reads buy precise errors before any write)",
            },
            "registration with subdomain": {
                "calls": count_calls(lambda: call(client, "POST", "/providers", registration(second, "calls"))),
                "minimum": 2,
                "why": "the transaction and the Route 53 change (+1 reservation write to lock the name)",
            },
        }


def handler_overhead(n: int = 40) -> dict[str, Any]:
    """Registrations through the app vs the same DynamoDB calls made directly, same backend."""
    with backend() as client:
        user_id, user_token = new_user("overhead")
        invites = [call(client, "POST", "/user/clusters/provider_registration_token", token=user_token)["token"]]
        invites += [
            call(client, "POST", "/user/clusters/provider_registration_token", token=user_token)["token"]
            for _ in range(n - 1)
        ]
        start = time.perf_counter()
        for invite in invites:
            call(client, "POST", "/providers", registration(invite, None))
        through_app = (time.perf_counter() - start) / n

        ddb = boto3.client("dynamodb")
        names = {k: os.environ[k] for k in ("TOKENS_TABLE", "USERS_TABLE", "PROVIDERS_TABLE", "CLUSTERS_TABLE")}
        start = time.perf_counter()
        for i in range(n):
            ddb.get_item(TableName=names["TOKENS_TABLE"], Key={"tokenId": {"S": "direct"}}, ConsistentRead=True)
            ddb.get_item(TableName=names["USERS_TABLE"], Key={"userId": {"S": user_id}}, ConsistentRead=True)
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": names["PROVIDERS_TABLE"], "Item": {"providerId": {"S": f"d{i}"}}}},
                    {"Put": {"TableName": names["CLUSTERS_TABLE"], "Item": {"clusterId": {"S": f"d{i}"}}}},
                    {"Put": {"TableName": names["TOKENS_TABLE"], "Item": {"tokenId": {"S": f"r{i}"}}}},
                ]
            )
        direct = (time.perf_counter() - start) / n
    return {"n": n, "app_ms": ms(through_app), "direct_boto3_ms": ms(direct), "ratio": round(through_app / direct, 2)}


def _import_seconds(code: str) -> tuple[float, int]:
    # Peak RSS from /proc (VmHWM, kB): ru_maxrss would report the parent's high-water mark,
    # which survives fork+exec on Linux.
    script = (
        "import re, time; t = time.perf_counter(); " + code + "; "
        "print(time.perf_counter() - t, re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss)


def cold_start(runs: int = 5) -> dict[str, Any]:
    app = [_import_seconds("import app") for _ in range(runs)]
    deps = [_import_seconds("import chalice, boto3, pydantic, pymacaroons") for _ in range(runs)]
    app_s, deps_s = statistics.median(a for a, _ in app), statistics.median(d for d, _ in deps)
    return {
        "app_import_ms": ms(app_s),
        "dependencies_import_ms": ms(deps_s),
        "ratio": round(app_s / deps_s, 2),
        "peak_rss_mb": round(max(r for _, r in app) / 1024, 1),
        "dependencies_peak_rss_mb": round(max(r for _, r in deps) / 1024, 1),
    }


def _seed(count: int) -> None:
    ddb = boto3.client("dynamodb")
    rows = {
        "USERS_TABLE": lambda i: {"userId": {"S": f"seed-user-{i}"}, "username": {"S": f"u{i}"}},
        "TOKENS_TABLE": lambda i: {"tokenId": {"S": f"seed-token-{i}"}, "usageCount": {"N": "0"}},
        "PROVIDERS_TABLE": lambda i: {"providerId": {"S": f"seed-provider-{i}"}, "name": {"S": f"p{i}"}},
    }
    for table, row in rows.items():
        for start in range(0, count, 25):
            requests = [{"PutRequest": {"Item": row(i)}} for i in range(start, min(count, start + 25))]
            ddb.batch_write_item(RequestItems={os.environ[table]: requests})


def _registration_latency(existing: int, n: int = 30) -> float:
    with backend() as client:
        _seed(existing)
        _, user_token = new_user("scale")
        invites = [
            call(client, "POST", "/user/clusters/provider_registration_token", token=user_token)["token"]
            for _ in range(n)
        ]
        samples = []
        for i, invite in enumerate(invites):
            start = time.perf_counter()
            call(client, "POST", "/providers", registration(invite, f"scale{i}"))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _backend_latency(existing: int, n: int = 30) -> float:
    """The same backend calls a registration makes, issued directly: what moto itself costs."""
    with backend():
        _seed(existing)
        ddb = boto3.client("dynamodb")
        samples = []
        for i in range(n):
            start = time.perf_counter()
            ddb.get_item(TableName=os.environ["TOKENS_TABLE"], Key={"tokenId": {"S": "seed-token-1"}})
            ddb.get_item(TableName=os.environ["USERS_TABLE"], Key={"userId": {"S": "seed-user-1"}})
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": os.environ["PROVIDERS_TABLE"], "Item": {"providerId": {"S": f"x{i}"}}}},
                    {"Put": {"TableName": os.environ["TOKENS_TABLE"], "Item": {"tokenId": {"S": f"x{i}"}}}},
                ]
            )
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def scale() -> dict[str, Any]:
    """No request path scans: what remains of the growth is moto's, whose transactions copy
    whole tables (the direct boto3 figures show the same growth)."""
    small, large = _registration_latency(10), _registration_latency(10_000)
    direct_small, direct_large = _backend_latency(10), _backend_latency(10_000)
    return {
        "10_items_ms": ms(small),
        "10000_items_ms": ms(large),
        "ratio": round(large / small, 2),
        "direct_boto3_ratio": round(direct_large / direct_small, 2),
        "app_over_backend_growth": round((large / small) / (direct_large / direct_small), 2),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, body: Any = None, headers: dict[str, str] | None = None, method: str = "GET") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        raw = response.read()
    return json.loads(raw) if raw else None


def http_latency(n: int = 30) -> dict[str, Any]:
    port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ONEZONE_PORT=str(port), MOTO_PORT=str(moto_port))
    env["ONEZONE_ADMIN_PASSWORD"] = "bench-password"  # noqa: S105 - the local run's throwaway admin
    log = RESULTS / "local-run.log"  # a file, not a pipe: a full pipe would stall the server
    RESULTS.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "scripts/run_local.py"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in log.read_text():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the local run did not start; see {log}")
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port}{API}"
        basic = {"Authorization": "Basic " + __import__("base64").b64encode(b"admin:bench-password").decode()}
        valid_until = int(time.time()) + 3600
        temporary = {"type": {"accessToken": {}}, "caveats": [{"type": "time", "validUntil": valid_until}]}
        token = _http(f"{base}/user/tokens/temporary", temporary, basic, "POST")["token"]
        auth = {"X-Auth-Token": token, "Content-Type": "application/json"}
        counter = iter(range(10**6))
        endpoints: dict[str, Callable[[], Any]] = {
            "GET /configuration": lambda: _http(f"{base}/configuration"),
            "GET /user (token)": lambda: _http(f"{base}/user", headers=auth),
            "GET /user (basic, scrypt)": lambda: _http(f"{base}/user", headers=basic),
            "POST provider_registration_token": lambda: _http(
                f"{base}/user/clusters/provider_registration_token", {}, auth, "POST"
            ),
            "POST /providers (domain)": lambda: _http(
                f"{base}/providers",
                registration(_token(base, auth), None),
                {"Content-Type": "application/json"},
                "POST",
            ),
            "POST /providers (subdomain)": lambda: _http(
                f"{base}/providers",
                registration(_token(base, auth), f"http{next(counter)}"),
                {"Content-Type": "application/json"},
                "POST",
            ),
        }
        results = {}
        for name, request in endpoints.items():
            samples = []
            for _ in range(n):
                start = time.perf_counter()
                request()
                samples.append(time.perf_counter() - start)
            results[name] = {"p50_ms": ms(percentile(samples, 0.5)), "p95_ms": ms(percentile(samples, 0.95))}
        return results
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)


def _token(base: str, auth: dict[str, str]) -> str:
    """A fresh registration token (its own request: timed with the registration, noted in README)."""
    return _http(f"{base}/user/clusters/provider_registration_token", {}, auth, "POST")["token"]


def kdf() -> dict[str, Any]:
    params = passwords.DEFAULT_PARAMS
    encoded = passwords.hash_password("bench-password")
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        passwords.verify_password("bench-password", encoded)
        samples.append(time.perf_counter() - start)
    return {
        "scheme": f"scrypt N=2^{params.log2_n} r={params.r} p={params.p}",
        "memory_mb": 128 * params.r * (1 << params.log2_n) / 2**20,
        "verify_ms": ms(statistics.median(samples)),
    }


def package_size() -> dict[str, Any]:
    package = ROOT / "out" / "deployment.zip"
    if not package.exists():
        return {"zip_mb": None, "how": "run `make package-check` first"}
    return {"zip_mb": round(package.stat().st_size / 1e6, 1)}


def main() -> int:
    started = time.perf_counter()
    results = {
        "aws_calls": aws_calls(),
        "handler_overhead": handler_overhead(),
        "cold_start": cold_start(),
        "scale": scale(),
        "http_latency": http_latency(),
        "password_kdf": kdf(),
        "package": package_size(),
    }
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return 0


def print_table(results: dict[str, Any]) -> None:
    print("\nAWS calls per operation (in process, moto)")
    for name, figures in results["aws_calls"].items():
        total = sum(figures["calls"].values())
        detail = ", ".join(f"{op} x{count}" for op, count in sorted(figures["calls"].items()))
        print(f"  {name:30} {total:>2} (minimum {figures['minimum']}: {figures['why']})  [{detail}]")
    o = results["handler_overhead"]
    print(f"\nHandler overhead: {o['app_ms']} ms per registration through the app vs {o['direct_boto3_ms']} ms")
    print(f"  for the same DynamoDB calls made directly: ratio {o['ratio']} (n={o['n']})")
    c = results["cold_start"]
    print(f"\nCold start: import app {c['app_import_ms']} ms vs its dependencies {c['dependencies_import_ms']} ms:")
    print(
        f"  ratio {c['ratio']}, peak RSS {c['peak_rss_mb']} MB (dependencies alone {c['dependencies_peak_rss_mb']} MB)"
    )
    s = results["scale"]
    print(f"\nScale: registration {s['10_items_ms']} ms with 10 items per table, {s['10000_items_ms']} ms with 10,000:")
    print(f"  ratio {s['ratio']}; the same calls made directly against moto grow {s['direct_boto3_ratio']}x,")
    print(f"  so the app's own growth factor is {s['app_over_backend_growth']} (1.0 = none of its own)")
    print("\nHTTP latency through chalice local + moto server (ms)")
    for name, figures in results["http_latency"].items():
        print(f"  {name:35} p50 {figures['p50_ms']:>8}   p95 {figures['p95_ms']:>8}")
    k = results["password_kdf"]
    print(f"\nPassword KDF: {k['scheme']} ({k['memory_mb']:.0f} MiB), {k['verify_ms']} ms per verification")
    print(f"Deployment package: {results['package'].get('zip_mb')} MB")
    print(f"\n(bench took {results['bench_seconds']} s; figures in bench/results/latest.json)")


if __name__ == "__main__":
    sys.exit(main())
