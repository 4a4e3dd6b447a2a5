"""Black-box: the issue's acceptance scenario, driven with `onezone-rest-cli` over `make run`.

Uses the session's running stack (`tests/localrun.py`), as `tests/test_blackbox.py` does, and runs the
CLI as a subprocess (`python -m onezone_cli`) the way a Oneprovider admin would: admin creates a
user, the user gets a registration token, registers a provider with a subdomain, the provider
reads itself with its root token, changes its IPs (the A record in moto's Route 53 follows),
deregisters (the record goes), and its old root token is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.localrun import ADMIN_PASSWORD, ROOT, ZONE, LocalRun

pytestmark = pytest.mark.blackbox


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
class Cli:
    run: LocalRun

    def cli(self, *argv: str, **env: str) -> Result:
        """Run the CLI as a separate process, configured only through its documented variables."""
        base = {
            k: v for k, v in os.environ.items() if not k.startswith("ONEZONE_") and not k.lower().endswith("_proxy")
        }
        done = subprocess.run(
            [sys.executable, "-m", "onezone_cli", *argv],
            cwd=ROOT,
            env={**base, "ONEZONE_HOST": self.run.host, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def a_record(self, name: str) -> list[str] | None:
        return self.run.a_record(name)


@pytest.fixture
def cli(local: LocalRun) -> Cli:
    return Cli(local)


def test_provider_lifecycle_with_the_cli(cli: Cli) -> None:
    local = cli
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
    assert set(registered.json) == {"providerId", "providerRootToken", "macaroon", "adminUserId"}
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
    seen: list[str] = []
    paging = ["limit=1"]
    for _ in range(20):  # the session's stack holds other tests' providers too
        page = local.cli("listProviders", *paging, **admin)
        assert page.code == 0, page.stderr
        assert len(page.json["providers"]) <= 1
        seen += page.json["providers"]
        if "nextPageToken" not in page.json:
            break
        paging = ["limit=1", f"page_token={page.json['nextPageToken']}"]
    assert provider_id in seen

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


def test_onepanels_calls_and_the_token_api_with_the_cli(cli: Cli) -> None:
    """The new operations, including the two served at the root (`/nagios`, `/configuration`)."""
    admin = {"ONEZONE_BASIC_AUTH": f"admin:{ADMIN_PASSWORD}"}
    health = cli.cli("getHealth")
    assert health.code == 0, health.stderr
    assert '<healthdata date="' in health.stdout
    assert 'status="ok"' in health.stdout
    legacy, current = cli.cli("getConfigurationLegacy"), cli.cli("getConfiguration")
    assert legacy.json == current.json
    assert legacy.json["domain"] == ZONE
    assert cli.cli("getCurrentTime").json["timeMillis"] > 0
    assert cli.cli("checkMyIp").json == "127.0.0.1"

    token = cli.cli("createProviderRegistrationTokenForCurrentUser", **admin).json["token"]
    examined = cli.cli("examineToken", f"token={token}").json
    assert examined["type"]["inviteToken"]["inviteType"] == "registerOneprovider"
    confined = cli.cli("confineToken", f"token={token}", 'caveats=[{"type": "ip", "whitelist": ["10.0.0.0/8"]}]')
    assert confined.code == 0, confined.stderr
    verified = cli.cli("verifyInviteToken", f"token={token}", "peerIp=10.1.2.3").json
    assert verified["subject"]["type"] == "user"
    refused = cli.cli("verifyInviteToken", f"token={confined.json['token']}", "peerIp=192.0.2.1")
    assert (refused.code, refused.error["id"]) == (1, "tokenCaveatUnverified")

    temporary = cli.cli(
        "createTemporaryTokenForCurrentUser",
        f'caveats=[{{"type": "time", "validUntil": {int(time.time()) + 3600}}}]',
        **admin,
    )
    assert temporary.code == 0, temporary.stderr
    access = temporary.json["token"]
    assert cli.cli("--token", access, "getCurrentUser").code == 0
    assert cli.cli("revokeAllTemporaryTokensOfCurrentUser", **admin).code == 0
    revoked = cli.cli("--token", access, "getCurrentUser")
    assert (revoked.code, revoked.error["details"]["authError"]["id"]) == (1, "tokenRevoked")
