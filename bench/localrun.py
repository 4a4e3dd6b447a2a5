"""The local run (`scripts/run_local.py`: moto server + `chalice local`) on free loopback ports,
for the bench's figures over HTTP and against the moto server."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
API = "/api/v3/onezone"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - the local run's throwaway admin


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def access_token_body(valid_until: int) -> dict[str, Any]:
    """A `POST /user/tokens/temporary` body: an access token valid until `valid_until`."""
    return {"type": {"accessToken": {}}, "caveats": [{"type": "time", "validUntil": valid_until}]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None
        return json.loads(raw) if raw else None


@dataclass(frozen=True)
class LocalRun:
    http: Http  # the API, under /api/v3/onezone
    admin_password: str
    moto: str  # the moto server's endpoint URL

    def admin_token(self, valid_until: int) -> dict[str, str]:
        """Headers carrying an access token of the admin (one scrypt, here, instead of per call)."""
        body = access_token_body(valid_until)
        token = self.http("POST", "/user/tokens/temporary", body, basic("admin", self.admin_password))["token"]
        return {"X-Auth-Token": token}


@contextmanager
def local_run() -> Iterator[LocalRun]:
    """`scripts/run_local.py` as `make run` starts it, on free ports, its DNS reconciler off (its
    passes would compete for the CPU with what is measured)."""
    port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        ONEZONE_PORT=str(port),
        MOTO_PORT=str(moto_port),
        ONEZONE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        DNS_RECONCILE_INTERVAL="0",
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "local-run.log"  # a file, not a pipe: a full pipe would stall the servers
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
        deadline = time.monotonic() + 90
        while "Press Ctrl-C" not in log.read_text():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the local run did not start; see {log}")
            time.sleep(0.2)
        yield LocalRun(Http(f"http://127.0.0.1:{port}{API}"), ADMIN_PASSWORD, f"http://127.0.0.1:{moto_port}")
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
