"""What the black-box tests talk to, as one session fixture, `local`: this module alone decides.

By default it is the README's run command: `make run` on free ports, once per test session; at
the end it is stopped the way a person stops it, with Ctrl-C's SIGINT, and both ports must be
closed.

With `ONEZONE_BASE_URL` set it is a deployed stage instead, and nothing is started. The URL is
the root under which the stage serves `/nagios` and `/api/v3/onezone/...` (for `make deploy`'s
default endpoint, `https://<api id>.execute-api.<region>.amazonaws.com/api`). Then:
- `ONEZONE_ADMIN_PASSWORD` is the stage's admin password (`make admin-password STAGE=...`);
- the stage's zone must be `ZONE` (deploy it with `ZONE_DOMAIN=onezone.test`);
- `local.client()` and `local.a_record()` read the stage's data with boto3's usual settings as
  they were when the session started (credentials, region, `AWS_ENDPOINT_URL_<SERVICE>`; the
  conftest replaces them with fake ones inside each test);
- `ONEZONE_EMULATOR` names the emulator the stage runs in, if any (`make deploy-check` sets
  `localstack-2.3.2`): a test of what that emulator is known not to reproduce skips, saying so
  (`local.not_on_emulator(...)`).
What only `make run` has - its output, its moto server - is read through `local.output` and
`local.moto_port`, which skip the test against a deployed stage with the reason. A black-box
module needs nothing else to run both ways: it uses the `local` fixture.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
ZONE = "onezone.test"
RECONCILE_INTERVAL = 2  # seconds: the DNS reconciler runs all through the black-box tests against make run
BASE_URL = os.environ.get("ONEZONE_BASE_URL", "").rstrip("/")
EMULATOR = os.environ.get("ONEZONE_EMULATOR") or None
# The admin's password: the one the tests give `make run`, or the deployed stage's.
ADMIN_PASSWORD = os.environ.get("ONEZONE_ADMIN_PASSWORD", "") if BASE_URL else "blackbox-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalRun:
    """The service under test: `make run` (`run_port`, `run_moto_port` set) or a deployed stage."""

    host: str
    run_port: int | None = None
    run_moto_port: int | None = None
    run_output: list[str] = field(default_factory=list)
    emulator: str | None = None
    aws_settings: dict[str, str] = field(default_factory=dict)  # a deployed stage's AWS_* variables

    @property
    def deployed(self) -> bool:
        return self.run_port is None

    @property
    def base(self) -> str:
        return f"{self.host}/api/v3/onezone"

    def _local_run_only(self, what: str) -> None:
        if self.deployed:
            pytest.skip(f"reads {what}, which only `make run` has (the tests run against {self.host})")

    @property
    def output(self) -> list[str]:
        """What `make run` printed (its request and reconciler logs)."""
        self._local_run_only("make run's output")
        return self.run_output

    @property
    def moto_port(self) -> int:
        self._local_run_only("make run's moto server")
        assert self.run_moto_port is not None
        return self.run_moto_port

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def not_on_emulator(self, gap: str) -> None:
        """Skip the test when the stage runs in an emulator that does not reproduce `gap`."""
        if self.emulator:
            pytest.skip(f"{self.emulator}: {gap}")

    def curl(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run curl; return (HTTP status, JSON body)."""
        out = subprocess.run(
            ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        body, _, status = out.rpartition("\n")
        return int(status), json.loads(body) if body.strip() else {}

    def client(self, service: str) -> Any:
        """A boto3 client of the AWS behind the service: make run's moto server, or the deployed
        stage's AWS as configured when the session started."""
        if not self.deployed:
            return boto3.client(
                service,
                endpoint_url=self.moto,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                region_name="us-east-1",
            )
        with _aws_settings(self.aws_settings):  # botocore reads them when it makes the client
            return boto3.session.Session().client(service)

    def a_record(self, name: str) -> list[str] | None:
        """The A record's addresses in the zone, or None when there is none."""
        route53 = self.client("route53")
        [zone_id] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
        records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        found = [r for r in records if r["Name"] == f"{name}." and r["Type"] == "A"]
        return sorted(v["Value"] for v in found[0]["ResourceRecords"]) if found else None


@contextmanager
def _aws_settings(settings: dict[str, str]) -> Iterator[None]:
    """Exactly `settings` as the process's AWS_* variables, for the duration."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    try:
        for name in saved:
            del os.environ[name]
        os.environ.update(settings)
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(saved)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server of the module's own, as the local run starts it; its endpoint URL."""
    from scripts.run_local import wait_for_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _drain(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


@pytest.fixture(scope="session")
def local() -> Iterator[LocalRun]:
    if BASE_URL:
        yield deployed_stage()
    else:
        yield from local_run()


def deployed_stage() -> LocalRun:
    """The stage at ONEZONE_BASE_URL, checked to be what the tests expect."""
    if not ADMIN_PASSWORD:
        pytest.fail("ONEZONE_BASE_URL is set: set ONEZONE_ADMIN_PASSWORD too (make admin-password STAGE=...)")
    stage = LocalRun(
        host=BASE_URL,
        emulator=EMULATOR,
        aws_settings={k: v for k, v in os.environ.items() if k.startswith("AWS_")},
    )
    status, configuration = stage.curl(f"{stage.base}/configuration")
    assert status == 200, f"{BASE_URL} does not serve the registry: {status} {configuration}"
    assert configuration["domain"] == ZONE, (
        f"the tests expect a stage of the zone {ZONE}, not {configuration['domain']}"
    )
    return stage


def local_run() -> Iterator[LocalRun]:
    port, moto_port = free_port(), free_port()
    run = LocalRun(host=f"http://127.0.0.1:{port}", run_port=port, run_moto_port=moto_port)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "ONEZONE_PORT": str(port),
        "MOTO_PORT": str(moto_port),
        "ONEZONE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DNS_RECONCILE_INTERVAL": str(RECONCILE_INTERVAL),
    }
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(run.run_output))
        run.run_output.append(line)
        if "Press Ctrl-C to stop" in line:
            break
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("make run did not come up:\n" + "".join(run.run_output))
    # Keep reading what the run prints (its request logs), or a full pipe would stall it.
    threading.Thread(target=_drain, args=(process.stdout, run.run_output), daemon=True).start()
    try:
        yield run
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("Ctrl-C did not stop make run")
        for open_port in (port, moto_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", open_port)) != 0, f"port {open_port} still open after Ctrl-C"
