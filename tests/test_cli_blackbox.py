"""Black-box: the issue's acceptance scenario, driven with `onezone-rest-cli` over `make run`.

Starts the whole local stack once for this module, as `tests/test_blackbox.py` does, and runs the
CLI as a subprocess (`python -m onezone_cli`) the way a Oneprovider admin would: admin creates a
user, the user gets a registration token, registers a provider with a subdomain, the provider
reads itself with its root token, changes its IPs (the A record in moto's Route 53 follows),
deregisters (the record goes), and its old root token is refused.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "cli-blackbox-password"
ZONE = "onezone.test"

pytestmark = pytest.mark.blackbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error(self) -> dict[str, Any]:
        return json.loads(self.stderr)["error"]


@dataclass
class Local:
    host: str
    moto: str

    def cli(self, *argv: str, **env: str) -> Result:
        """Run the CLI as a separate process, configured only through its documented variables."""
        base = {
            k: v for k, v in os.environ.items() if not k.startswith("ONEZONE_") and not k.lower().endswith("_proxy")
        }
        done = subprocess.run(
            [sys.executable, "-m", "onezone_cli", *argv],
            cwd=ROOT,
            env={**base, "ONEZONE_HOST": self.host, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def a_record(self, name: str) -> list[str] | None:
        """The A record's addresses in moto's Route 53, or None when there is none."""
        route53 = boto3.client(
            "route53",
            endpoint_url=self.moto,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name="us-east-1",
        )
        [zone_id] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
        records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        found = [r for r in records if r["Name"] == f"{name}." and r["Type"] == "A"]
        return sorted(v["Value"] for v in found[0]["ResourceRecords"]) if found else None


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    """`make run` on free ports, stopped with Ctrl-C's signal afterwards."""
    port, moto_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "ONEZONE_PORT": str(port),
        "MOTO_PORT": str(moto_port),
        "ONEZONE_ADMIN_PASSWORD": ADMIN_PASSWORD,
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
    try:
        yield Local(host=f"http://127.0.0.1:{port}", moto=f"http://127.0.0.1:{moto_port}")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_provider_lifecycle_with_the_cli(local: Local) -> None:
    admin = {"ONEZONE_BASIC_AUTH": f"admin:{ADMIN_PASSWORD}"}

    # The admin creates a user.
    created = local.cli("createUser", "username=cli-alice", "password=alice-pass-1", "fullName=Alice Smith", **admin)
    assert created.code == 0, created.stderr
    alice_id = created.json["userId"]

    # The user gets a registration token (the deprecated endpoint says so on stderr).
    issued = local.cli("-u", "cli-alice:alice-pass-1", "createProviderRegistrationTokenForCurrentUser")
    assert issued.code == 0, issued.stderr
    assert "deprecated; use /api/v3/onezone/user/tokens/named" in issued.stderr
    registration_token = issued.json["token"]

    # ... and registers a provider with a subdomain; no credentials, the token is in the body.
    registered = local.cli(
        "registerProvider",
        f"token={registration_token}",
        "name=CLI Krakow",
        "adminEmail=ops@example.com",
        "subdomainDelegation=true",
        "subdomain=cli-krakow",
        'opWorkerIpAddresses=["192.0.2.21"]',
        "latitude=50.06",
        "longitude=19.94",
    )
    assert registered.code == 0, registered.stderr
    assert set(registered.json) == {"providerId", "providerRootToken", "adminUserId"}
    assert registered.json["adminUserId"] == alice_id
    provider_id, root = registered.json["providerId"], registered.json["providerRootToken"]
    assert local.a_record(f"cli-krakow.{ZONE}") == ["192.0.2.21"]

    # The provider reads itself with its root token (flag, then environment).
    me = local.cli("--token", root, "getCurrentProvider")
    assert me.code == 0, me.stderr
    assert (me.json["providerId"], me.json["name"], me.json["domain"]) == (
        provider_id,
        "CLI Krakow",
        f"cli-krakow.{ZONE}",
    )
    assert (me.json["latitude"], me.json["longitude"]) == (50.06, 19.94)
    as_provider = {"ONEZONE_API_KEY": root}

    # An admin can page through providers with the query parameters.
    page = local.cli("listProviders", "limit=1", **admin)
    assert page.code == 0, page.stderr
    assert page.json["providers"] == [provider_id]

    # The provider changes its IPs; Route 53 follows and the 204 prints nothing.
    changed = local.cli(
        "updateProviderDomainConfig",
        "subdomainDelegation=true",
        "subdomain=cli-krakow",
        'opWorkerIpAddresses=["192.0.2.31", "192.0.2.32"]',
        **as_provider,
    )
    assert (changed.code, changed.stdout) == (0, ""), changed.stderr
    assert local.a_record(f"cli-krakow.{ZONE}") == ["192.0.2.31", "192.0.2.32"]
    config = local.cli("getProviderDomainConfig", **as_provider)
    assert config.code == 0, config.stderr
    assert sorted(config.json["ipList"]) == ["192.0.2.31", "192.0.2.32"]
    assert (config.json["subdomainDelegation"], config.json["subdomain"]) == (True, "cli-krakow")

    # A bad value is the service's Onedata error on stderr, exit 1, and changes nothing.
    rejected = local.cli(
        "updateProviderDomainConfig", "subdomainDelegation=true", "subdomain=cli-krakow", "ipList=nope", **as_provider
    )
    assert rejected.code == 1
    assert rejected.stdout == ""
    assert rejected.error["id"] == "badValueListOfIPv4Addresses"
    assert local.a_record(f"cli-krakow.{ZONE}") == ["192.0.2.31", "192.0.2.32"]

    # It deregisters: the A record goes.
    gone = local.cli("unregisterProvider", **as_provider)
    assert (gone.code, gone.stdout) == (0, ""), gone.stderr
    assert local.a_record(f"cli-krakow.{ZONE}") is None

    # The old root token is refused: exit 1, Onedata's unauthorized error on stderr.
    refused = local.cli("getCurrentProvider", **as_provider)
    assert refused.code == 1
    assert refused.stdout == ""
    assert refused.error["id"] == "unauthorized"

    # The provider is gone for the admin too.
    missing = local.cli("getProvider", f"provider_id={provider_id}", **admin)
    assert missing.code == 1
    assert missing.error["id"] == "notFound"
