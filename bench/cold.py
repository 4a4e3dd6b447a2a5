"""Cold requests: what a user waits for when a request lands on a fresh Lambda container.

Each sample is a fresh interpreter (bench/cold_lambda.py) that imports the handler module and
serves one API Gateway REST proxy event through it, against the local run's moto server, timed
from outside: start to exit. Its floor is a fresh interpreter making exactly the AWS calls that
request makes (recorded from a dry run of the same request, with its own fresh ids) with boto3
alone (bench/cold_floor.py); a request that makes no AWS calls has an interpreter that imports
`json` as its floor. The two alternate, sample by sample, so both see the same machine.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import boto3

from bench.localrun import API, ROOT, LocalRun, local_run
from infra import stack
from tests.apigateway import rest_event

# The row whose floor the dependencies' costs are measured on (`_dependency_costs`).
REFERENCE_ROW = "token endpoint (access token)"
BARE_FLOOR = [sys.executable, "-c", "import json, os; os._exit(0)"]


@dataclass(frozen=True)
class Row:
    name: str
    event: Callable[[str], dict[str, Any]]  # a sample's tag -> its event (each its own invite, name)
    status: int


@dataclass
class Samples:
    app: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    app_cpu: list[float] = field(default_factory=list)  # user + system: steadier than wall time
    floor_cpu: list[float] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)
    peak_rss_kb: list[int] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    recorded: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@contextmanager
def _pointed_at(endpoint: str) -> Iterator[None]:
    """This process's boto3 calls go to `endpoint` for the duration (to read the stack)."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield
    finally:
        del os.environ["AWS_ENDPOINT_URL"]


def _environment(run: LocalRun) -> dict[str, str]:
    """What the function's environment holds on the local run: its settings and the moto server
    as AWS (placeholder credentials)."""
    with _pointed_at(run.moto):
        settings = stack.environment(boto3.session.Session())
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": run.moto,
        "REGISTRATION_POLICY": "open",
        "SUBDOMAIN_DELEGATION_SUPPORTED": "true",
        **settings,
    }


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time, start to exit
    cpu: float  # the child's user + system time
    output: str


def _timed(command: list[str], env: dict[str, str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[1]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, cpu, done.stdout)


def _answer(output: str, row: Row) -> dict[str, Any]:
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    answer = json.loads(line.removeprefix("RESULT "))
    if answer["status"] != row.status:
        raise SystemExit(f"{row.name}: {answer['status']} {answer['body'][:300]}")
    return answer


# What the app's own dependencies add to the floor of a token request (`chalice`, pydantic, pymacaroons
# and Powertools' logger are imported by every cold request that reaches AWS; boto3 is the floor's).
DEPENDENCIES = {
    "chalice": ["chalice.app"],
    "pydantic": ["pydantic.main"],
    "pymacaroons (with PyNaCl)": ["pymacaroons"],
    "Powertools logger and metrics": ["aws_lambda_powertools.logging", "aws_lambda_powertools.metrics"],
}


def _sample(row: Row, tag: str, env: dict[str, str], work: Path, samples: Samples) -> None:
    """One app sample, then one floor sample (the floor's calls recorded first, untimed)."""
    lambda_child = [sys.executable, str(ROOT / "bench" / "cold_lambda.py")]
    app_event, floor_event, calls = work / "app.json", work / "floor.json", work / "calls.pickle"
    app_event.write_text(json.dumps(row.event(f"a{tag}")))
    run = _timed([*lambda_child, str(app_event)], env)
    answer = _answer(run.output, row)
    samples.app.append(run.seconds)
    samples.app_cpu.append(run.cpu)
    samples.import_ms.append(answer["import_ms"])
    samples.peak_rss_kb.append(answer["peak_rss_kb"])

    floor_event.write_text(json.dumps(row.event(f"f{tag}")))
    _answer(_timed([*lambda_child, str(floor_event), "--dry-record", str(calls)], env).output, row)
    recorded = pickle.loads(calls.read_bytes())  # noqa: S301 - written by the child just now
    samples.calls = Counter(method for _, method, _ in recorded)
    floor = [sys.executable, str(ROOT / "bench" / "cold_floor.py"), str(calls)] if recorded else BARE_FLOOR
    run = _timed(floor, env)
    samples.floor.append(run.seconds)
    samples.floor_cpu.append(run.cpu)
    samples.recorded = recorded


def _rows(run: LocalRun) -> list[Row]:
    http = run.http
    admin = run.admin_token(int(time.time()) + 3600)

    def invite() -> str:
        return http("POST", "/user/clusters/provider_registration_token", {}, admin)["token"]

    def registration(**fields: Any) -> Callable[[str], dict[str, Any]]:
        def event(tag: str) -> dict[str, Any]:
            body = {"token": invite(), "name": f"Cold {tag}", "adminEmail": "ops@example.com", **fields}
            if fields.get("subdomainDelegation"):
                body["subdomain"] = f"cold{tag}"
            return rest_event("POST", f"{API}/providers", body=body)

        return event

    token_path = f"{API}/user/clusters/provider_registration_token"
    return [
        Row(REFERENCE_ROW, lambda _: rest_event("POST", token_path, headers=admin), 200),
        Row(
            "registration by domain",
            registration(subdomainDelegation=False, domain="cold.example.com", latitude=50.06, longitude=19.94),
            200,
        ),
        Row(
            "registration with subdomain",
            registration(subdomainDelegation=True, opWorkerIpAddresses=["192.0.2.1"]),
            200,
        ),
        Row("GET /configuration", lambda _: rest_event("GET", "/configuration"), 200),
    ]


def _dependency_costs(
    reads: list[tuple[str, str, dict[str, Any]]], env: dict[str, str], work: Path, samples: int
) -> dict:
    """The floor of a token request's reads, alone and with each dependency imported first
    (alternated); the median CPU milliseconds each adds."""
    calls = work / "reads.pickle"
    calls.write_bytes(pickle.dumps(reads))
    floor = [sys.executable, str(ROOT / "bench" / "cold_floor.py"), str(calls)]
    variants = {"floor": [], **{name: modules for name, modules in DEPENDENCIES.items()}}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(samples):
        for name, modules in variants.items():
            cpu[name].append(_timed([*floor, *modules], env).cpu)
    base = _median_ms(cpu["floor"])
    return {"floor_cpu_ms": base, **{name: round(_median_ms(cpu[name]) - base, 1) for name in DEPENDENCIES}}


def _median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def cold_requests(samples: int = 15) -> dict[str, Any]:
    """Per row: the medians of `samples` app and floor runs, their ratio, and what `import app`
    took (time, and the container's peak RSS after the request); then what each of the app's
    dependencies adds to a floor (`dependencies_cpu_ms`)."""
    results: dict[str, Any] = {}
    with local_run() as run, TemporaryDirectory() as work:
        env = _environment(run)
        for row in _rows(run):
            measured = Samples()
            for i in range(samples):
                _sample(row, f"{i:02d}", env, Path(work), measured)
            app_ms, floor_ms = _median_ms(measured.app), _median_ms(measured.floor)
            results[row.name] = {
                "samples": samples,
                "app_ms": app_ms,
                "floor_ms": floor_ms,
                "ratio": round(app_ms / floor_ms, 2),
                "app_cpu_ms": _median_ms(measured.app_cpu),
                "floor_cpu_ms": _median_ms(measured.floor_cpu),
                "import_app_ms": round(statistics.median(measured.import_ms), 1),
                "peak_rss_mb": round(max(measured.peak_rss_kb) / 1024, 1),
                "aws_calls": dict(measured.calls),
            }
            if row.name == REFERENCE_ROW:
                reads = [call for call in measured.recorded if call[1].startswith("get")]
                results[row.name]["dependencies_cpu_ms"] = _dependency_costs(reads, env, Path(work), samples)
    return results
