"""The README's run command as a fixture: `make run` on free ports, once per test session.

Black-box tests (curl, the CLI, boto3 against the moto server) share one running stack; at the
end it is stopped the way a person stops it, with Ctrl-C's SIGINT, and both ports must be closed.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "blackbox-password"
ZONE = "onezone.test"
RECONCILE_INTERVAL = 2  # seconds: the DNS reconciler runs all through the black-box tests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalRun:
    port: int
    moto_port: int
    output: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.host}/api/v3/onezone"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def curl(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run curl; return (HTTP status, JSON body)."""
        out = subprocess.run(
            ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        body, _, status = out.rpartition("\n")
        return int(status), json.loads(body) if body.strip() else {}

    def client(self, service: str) -> Any:
        """A boto3 client of the moto server behind the run."""
        return boto3.client(
            service,
            endpoint_url=self.moto,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name="us-east-1",
        )

    def a_record(self, name: str) -> list[str] | None:
        """The A record's addresses in the zone, or None when there is none."""
        route53 = self.client("route53")
        [zone_id] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
        records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        found = [r for r in records if r["Name"] == f"{name}." and r["Type"] == "A"]
        return sorted(v["Value"] for v in found[0]["ResourceRecords"]) if found else None


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
    run = LocalRun(port=free_port(), moto_port=free_port())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "ONEZONE_PORT": str(run.port),
        "MOTO_PORT": str(run.moto_port),
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
            pytest.fail("make run exited early:\n" + "".join(run.output))
        run.output.append(line)
        if "Press Ctrl-C to stop" in line:
            break
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("make run did not come up:\n" + "".join(run.output))
    # Keep reading what the run prints (its request logs), or a full pipe would stall it.
    threading.Thread(target=_drain, args=(process.stdout, run.output), daemon=True).start()
    try:
        yield run
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("Ctrl-C did not stop make run")
        for port in (run.port, run.moto_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"
