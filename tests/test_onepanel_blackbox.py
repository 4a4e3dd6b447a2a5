"""A stock Onepanel's registration, played call by call against the local run (`make run`), or
against a deployed stage (`ONEZONE_BASE_URL`, as `make deploy-check` runs it; `tests/localrun.py`).

This test is the client: it imports nothing from the app, nor pymacaroons. Its token code is
written from Onedata's description of the format (ctool's `tokens`, `base62` and libmacaroons v1):
- a token is a libmacaroons v1 macaroon - packets of 4 hex digits of length, then `key value\\n`
  (`location`, `identifier`, `cid` per caveat, `signature` as 32 raw bytes) - base64url-encoded
  without padding, then escaped so only `[A-Za-z0-9]` remain (`0`->`00`, `_`->`01`, `-`->`02`,
  `/`->`03`, `+`->`04`, `=`->`05`), optionally prefixed `opw-`/`opp-`;
- confining it appends a `cid` packet and replaces the signature with
  HMAC-SHA256(key=old signature, message=caveat).

The steps are Onepanel's (`service_oneprovider`, `onezone_client`, `onezone_tokens`):
1. read the zone's domain from the registration token, before any network call;
2. `GET /nagios` (root path): 200 and `<healthdata status="ok">`;
3. `GET /api/v3/onezone/configuration`: the zone's version, and whether this Oneprovider's
   version is among `compatibleOneproviderVersions`;
4. `POST /providers` with only `content-type` and Onepanel's exact body; it needs `providerId` and
   `providerRootToken` (or an `error`), whatever the status;
5. from then on `x-auth-token: <root token confined with time < now+900>`;
6. `PATCH /clusters/<providerId>` with its `onepanelVersion` -> 204;
7. `GET /provider/public/get_current_time` (no auth) and `check_my_ip`;
8. `GET /provider`, `GET /provider/domain_config`, and at last deregistration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from tests.localrun import ADMIN_PASSWORD, ZONE, LocalRun

ONEPROVIDER_VERSION = "21.02.4"
ESCAPES = {"0": "0", "_": "1", "-": "2", "/": "3", "+": "4", "=": "5"}


@dataclass
class Macaroon:
    location: str
    identifier: str
    caveats: list[str]
    signature: bytes


def unescape(text: str) -> str:
    plain = {code: char for char, code in ESCAPES.items()}
    out, i = [], 0
    while i < len(text):
        if text[i] == "0":
            out.append(plain[text[i + 1]])  # anything else would be no token
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def escape(text: str) -> str:
    return "".join("0" + ESCAPES[c] if c in ESCAPES else c for c in text)


def deserialize(token: str) -> Macaroon:
    if token[3:4] == "-":
        assert token[:4] in ("opw-", "opp-")
        token = token[4:]
    assert re.fullmatch(r"[A-Za-z0-9]+", token), "a Onedata token has only letters and digits"
    raw = unescape(token)
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    fields: list[tuple[str, bytes]] = []
    while data:
        size = int(data[:4], 16)
        key, _, value = data[4:size].partition(b" ")
        assert value.endswith(b"\n")
        fields.append((key.decode(), value[:-1]))
        data = data[size:]
    keys = [key for key, _ in fields]
    assert keys[:2] == ["location", "identifier"], keys
    assert keys[-1] == "signature", keys
    assert set(keys[2:-1]) <= {"cid"}, "first-party caveats only"
    return Macaroon(
        location=fields[0][1].decode(),
        identifier=fields[1][1].decode(),
        caveats=[value.decode() for key, value in fields if key == "cid"],
        signature=fields[-1][1],
    )


def serialize(macaroon: Macaroon) -> str:
    def packet(key: str, value: bytes) -> bytes:
        body = key.encode() + b" " + value + b"\n"
        return f"{len(body) + 4:04x}".encode() + body

    data = packet("location", macaroon.location.encode()) + packet("identifier", macaroon.identifier.encode())
    data += b"".join(packet("cid", caveat.encode()) for caveat in macaroon.caveats)
    data += packet("signature", macaroon.signature)
    return escape(base64.urlsafe_b64encode(data).decode().rstrip("="))


def confine(token: str, caveat: str) -> str:
    macaroon = deserialize(token)
    signature = hmac.new(macaroon.signature, caveat.encode(), hashlib.sha256).digest()
    return serialize(Macaroon(macaroon.location, macaroon.identifier, [*macaroon.caveats, caveat], signature))


def http(method: str, url: str, body: Any = None, **headers: str) -> tuple[int, str, bytes]:
    """(status, content type, body) with curl: exactly the headers given, as Onepanel sends."""
    command = ["curl", "-sS", "-X", method, "-o", "-", "-w", "\n%{http_code} %{content_type}"]
    for name, value in headers.items():
        command += ["-H", f"{name.replace('_', '-')}: {value}"]
    if body is not None:
        command += ["--data-binary", json.dumps(body)]
    out = subprocess.run([*command, url], capture_output=True, timeout=30, check=True).stdout
    payload, _, tail = out.rpartition(b"\n")
    status, _, content_type = tail.decode().partition(" ")
    return int(status), content_type, payload


def test_a_stock_onepanel_registers_call_by_call(local: LocalRun) -> None:
    # 0. The user's part: a registration token, as the seed's curl gets it.
    status, body = local.curl(
        "-u", f"admin:{ADMIN_PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    assert status == 200, body
    registration_token = body["token"]

    # 1. Onepanel reads the zone's domain from the token itself.
    invite = deserialize(registration_token)
    assert invite.location == ZONE
    version, persistence, subject, token_type, _token_id = invite.identifier.split("/")
    assert (version, persistence, subject[:4], token_type[:4]) == ("2", "nmd", "usr-", "rop:")
    zone = local.host  # where `https://<invite.location>` is served locally

    # 2. The zone must be up.
    status, content_type, health = http("GET", f"{zone}/nagios")
    assert (status, content_type) == (200, "application/xml")
    root = ElementTree.fromstring(health)
    assert (root.tag, root.get("status")) == ("healthdata", "ok")

    # 3. And compatible.
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/configuration")
    configuration = json.loads(raw)
    assert status == 200
    assert configuration["version"]
    assert configuration["domain"] == invite.location
    assert ONEPROVIDER_VERSION in configuration["compatibleOneproviderVersions"]
    assert isinstance(configuration["compatibilityRegistryRevision"], int)
    assert configuration["subdomainDelegationSupported"] is True

    # 4. Registration: content-type only, Onepanel's body, real IPs come later.
    registration = {
        "subdomainDelegation": True,
        "subdomain": "onepanel-krk",
        "ipList": [],
        "token": registration_token,
        "name": "Onepanel Krakow",
        "adminEmail": "admin@krk.example.com",
        "latitude": 50.0647,
        "longitude": 19.945,
    }
    status, _, raw = http("POST", f"{zone}/api/v3/onezone/providers", registration, content_type="application/json")
    answer = json.loads(raw)
    assert "error" not in answer, answer
    provider_id, root_token = answer["providerId"], answer["providerRootToken"]
    assert status == 200
    assert answer["macaroon"] == root_token
    root_macaroon = deserialize(root_token)
    assert root_macaroon.location == ZONE
    assert root_macaroon.identifier.startswith(f"2/nmd/prv-{provider_id}/act/")
    assert root_macaroon.caveats == []

    # 5. Authentication from now on: the root token confined to 15 minutes.
    provider_token = confine(root_token, f"time < {int(time.time()) + 900}")
    auth = {"x_auth_token": provider_token}

    # 6. Onepanel reports its version.
    onepanel_version = {"release": ONEPROVIDER_VERSION, "build": "1-gabc", "gui": hashlib.sha256(b"gui").hexdigest()}
    status, _, raw = http(
        "PATCH",
        f"{zone}/api/v3/onezone/clusters/{provider_id}",
        {"onepanelVersion": onepanel_version},
        content_type="application/json",
        **auth,
    )
    assert status == 204, raw
    status, _, raw = http(
        "GET", f"{zone}/api/v3/onezone/clusters/{provider_id}", content_type="application/json", **auth
    )
    assert (status, json.loads(raw)["onepanelVersion"]) == (200, onepanel_version)

    # 7. Clock and address, public.
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/provider/public/get_current_time")
    assert status == 200
    assert abs(json.loads(raw)["timeMillis"] - time.time() * 1000) < 60_000
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/provider/public/check_my_ip")
    assert (status, json.loads(raw)) == (200, "127.0.0.1")

    # 8. What the provider then reads of itself.
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/provider", content_type="application/json", **auth)
    details = json.loads(raw)
    assert status == 200
    assert set(details) >= {
        "providerId",
        "clusterId",
        "name",
        "domain",
        "latitude",
        "longitude",
        "online",
        "creationTime",
    }
    assert (details["providerId"], details["clusterId"], details["domain"]) == (
        provider_id,
        provider_id,
        f"onepanel-krk.{ZONE}",
    )
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/provider/domain_config", **auth)
    assert (status, json.loads(raw)) == (
        200,
        {"domain": f"onepanel-krk.{ZONE}", "subdomainDelegation": True, "subdomain": "onepanel-krk", "ipList": []},
    )
    # The same credentials in the other forms Onezone accepts.
    for headers in (
        {"authorization": f"Bearer {provider_token}"},
        {"macaroon": provider_token},
        {"x_auth_token": f"opp-{provider_token}"},
    ):
        assert http("GET", f"{zone}/api/v3/onezone/provider", **headers)[0] == 200, headers

    # ... and, at the end of its life, deregistration; the token then stops working.
    assert http("DELETE", f"{zone}/api/v3/onezone/provider", **auth)[0] == 204
    status, _, raw = http("GET", f"{zone}/api/v3/onezone/provider", **auth)
    assert (status, json.loads(raw)["error"]["id"]) == (401, "unauthorized")


def test_the_registry_speaks_the_format_this_client_writes(local: LocalRun) -> None:
    """A token confined by this client's code is one the registry examines as confined."""
    status, body = local.curl(
        "-u", f"admin:{ADMIN_PASSWORD}", "-X", "POST", f"{local.base}/user/clusters/provider_registration_token"
    )
    confined = confine(body["token"], "ip = 192.0.2.0/24")
    status, shown = local.curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"token": confined}),
        f"{local.base}/tokens/examine",
    )
    assert status == 200
    assert shown["caveats"][-1] == {"type": "ip", "whitelist": ["192.0.2.0/24"]}
    assert deserialize(serialize(deserialize(confined))) == deserialize(confined)
