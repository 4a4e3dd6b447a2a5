"""Black-box: the README's run command (`make run`), then real HTTP with curl and boto3.

Starts the whole local stack once for this module - moto server, infra stack, bootstrap admin,
`chalice local` - on free ports, exactly as a newcomer would, and talks to it from outside.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "blackbox-password"

pytestmark = pytest.mark.blackbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Local:
    base: str
    moto: str

    def curl(self, *args: str) -> tuple[int, dict]:
        """Run curl; return (HTTP status, JSON body)."""
        out = subprocess.run(
            ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        body, _, status = out.rpartition("\n")
        return int(status), json.loads(body) if body.strip() else {}

    def route53(self):
        return boto3.client(
            "route53",
            endpoint_url=self.moto,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name="us-east-1",
        )


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    port, moto_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "ONEZONE_PORT": str(port),
        "MOTO_PORT": str(moto_port),
        "ONEZONE_ADMIN_PASSWORD": PASSWORD,
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
    output: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(output))
        output.append(line)
        if "Press Ctrl-C to stop" in line:
            break
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("make run did not come up:\n" + "".join(output))
    assert any("curl -u admin:$ONEZONE_ADMIN_PASSWORD" in line for line in output), "".join(output)
    try:
        yield Local(base=f"http://127.0.0.1:{port}/api/v3/onezone", moto=f"http://127.0.0.1:{moto_port}")
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("Ctrl-C did not stop make run")
        for p in (port, moto_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still open after Ctrl-C"


def token(local: Local) -> str:
    status, body = local.curl(
        "-u", f"admin:{PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 200, body
    return body["token"]


def test_seed_curl_gets_a_registration_token(local: Local) -> None:
    from pymacaroons import Macaroon

    macaroon = Macaroon.deserialize(token(local))
    assert macaroon.location == "onezone.test"
    assert macaroon.caveats[0].caveat_id.startswith("time < ")


def test_wrong_password_is_401_onedata_error(local: Local) -> None:
    status, body = local.curl(
        "-u", "admin:wrong", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 401
    assert body["error"]["id"] == "unauthorized"
    assert body["error"]["details"]["authError"]["id"] == "badBasicCredentials"


def test_register_with_subdomain_then_reuse_and_collide(local: Local) -> None:
    first = token(local)
    request = {
        "token": first,
        "name": "Krakow DC",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": "krakow",
        "opWorkerIpAddresses": ["192.0.2.1", "192.0.2.2"],
    }
    url = f"{local.base}/providers"
    headers = ["-H", "Content-Type: application/json", "-X", "POST", url]
    status, body = local.curl(*headers, "-d", json.dumps(request))
    assert status == 200, body
    assert set(body) == {"providerId", "providerRootToken", "adminUserId"}

    [zone_id] = [
        z["Id"] for z in local.route53().list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == "onezone.test"
    ]
    records = local.route53().list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    [a_record] = [r for r in records if r["Name"] == "krakow.onezone.test." and r["Type"] == "A"]
    assert sorted(v["Value"] for v in a_record["ResourceRecords"]) == ["192.0.2.1", "192.0.2.2"]

    status, body = local.curl(*headers, "-d", json.dumps({**request, "subdomain": "other"}))
    assert (status, body["error"]["id"]) == (400, "inviteTokenUsageLimitReached")

    status, body = local.curl(*headers, "-d", json.dumps({**request, "token": token(local)}))
    assert (status, body["error"]["id"], body["error"]["details"]) == (
        400,
        "badValueIdentifierOccupied",
        {"key": "subdomain"},
    )


def test_seed_register_example_verbatim(local: Local) -> None:
    seed_body = (
        f'{{\n  "token" : "{token(local)}",\n  "name" : "My provider",\n  "adminEmail" : "person@example.com",\n'
        '  "subdomainDelegation" : "false",\n  "domain" : "my-provider.example.com",\n'
        '  "latitude" : "50.0647",\n  "longitude" : "19.9450",\n}'
    )
    status, body = local.curl(
        "-H", "Content-type: application/json", "-X", "POST", "-d", seed_body, f"{local.base}/providers"
    )
    assert status == 200, body
