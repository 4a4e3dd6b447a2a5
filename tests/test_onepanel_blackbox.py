"""A stock Onepanel, played call by call against the local run (`make run`), or against a deployed
stage (`ONEZONE_BASE_URL`, as `make deploy-check` runs it; `tests/localrun.py`): its registration,
then how it signs Onezone users in and invites them.

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


# ---- signing Onezone users in to Onepanel, and managing them -----------------------------------
#
# Onepanel 21.02.7 signs a Onezone user in (`onezone_tokens:authenticate_user`) with three calls:
# A `POST /tokens/verify_access_token` as `op_panel` (`x-auth-token: opp-<provider token>`), with
#   its provider's identity token as `serviceToken` (`opp-` marked), and the end user's address;
# B `GET /user` with the user's token and `x-onedata-service-token: opp-<identity token>`, reading
#   `userId`, `name`, `linkedAccounts`, `username`, `emails` (no defaults: a missing one crashes);
# C `GET /clusters/<id>/effective_users/<uid>/privileges` as its provider; 404 `notFound` means
#   "not in this cluster", which Onepanel refuses.
# Its identity token comes from op-worker over GraphSync, or else from `POST
# /provider/tokens/temporary` (call D, what this Onepanel does); it invites colleagues with
# `POST /provider/tokens/named` (call E).

ADMIN_SET = [
    "cluster_add_group",
    "cluster_add_user",
    "cluster_delete",
    "cluster_remove_group",
    "cluster_remove_user",
    "cluster_set_privileges",
    "cluster_update",
    "cluster_view",
    "cluster_view_privileges",
]
END_USER_IP = "192.0.2.77"


def call(method: str, url: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    """(status, decoded JSON body or None), with `content-type: application/json` as Onepanel's
    `oz_endpoint` always sends it."""
    status, _, raw = http(method, url, body, content_type="application/json", **headers)
    return status, json.loads(raw) if raw.strip() else None


@dataclass
class Refused(Exception):
    """Onepanel's answer when it does not let a user in, with the zone's error behind it."""

    error: dict[str, Any]


@dataclass
class Client:
    """Onepanel's `#client{}` of a signed-in Onezone user."""

    user_id: str
    full_name: str
    username: str
    privileges: list[str]


@dataclass
class Onepanel:
    """A stock Onepanel of one registered Oneprovider, as far as signing users in goes."""

    zone: str  # https://<zone> here, without the API prefix
    provider_id: str
    root_token: str

    @property
    def api(self) -> str:
        return f"{self.zone}/api/v3/onezone"

    def provider_auth(self) -> dict[str, str]:
        """`provider`: the root token confined to 15 minutes (`provider_auth:acquire_access_token`)."""
        return {"x_auth_token": confine(self.root_token, f"time < {int(time.time()) + 900}")}

    def op_panel_auth(self) -> dict[str, str]:
        """`op_panel`: the same, marked as coming from Onepanel."""
        return {"x_auth_token": "opp-" + self.provider_auth()["x_auth_token"]}

    def identity_token(self) -> str:
        """Call D, the REST fallback: an identity token of its provider for 60 s."""
        body = {"type": {"identityToken": {}}, "caveats": [{"type": "time", "validUntil": int(time.time()) + 60}]}
        status, answer = call("POST", f"{self.api}/provider/tokens/temporary", body, **self.provider_auth())
        assert status == 201, answer
        return str(answer["token"])

    def user_auth(self, token: str) -> dict[str, str]:
        """`{token, UserToken}`: the user's token, and its own identity as the service token."""
        return {"x_auth_token": token, "x_onedata_service_token": "opp-" + self.identity_token()}

    def sign_in(self, token: str) -> Client:
        deserialize(token)  # a Onezone token must be a Onedata macaroon, checked locally first
        verify = {"token": token, "peerIp": END_USER_IP, "serviceToken": "opp-" + self.identity_token()}
        status, verified = call("POST", f"{self.api}/tokens/verify_access_token", verify, **self.op_panel_auth())
        if status >= 400:
            raise Refused(verified["error"])
        subject, _ttl = verified["subject"], verified["ttl"]  # both required
        status, user = call("GET", f"{self.api}/user", **self.user_auth(token))
        if status != 200:
            raise Refused(user["error"])
        user_id, name, _linked, username, _emails = (
            user[key] for key in ("userId", "name", "linkedAccounts", "username", "emails")
        )
        assert (subject["type"], subject["id"]) == ("user", user_id)
        url = f"{self.api}/clusters/{self.provider_id}/effective_users/{user_id}/privileges"
        status, answer = call("GET", url, **self.provider_auth())
        if status == 404 and answer["error"]["id"] == "notFound":
            raise Refused({"id": "userNotInCluster"})
        assert status == 200, answer
        return Client(user_id, name, username, answer["privileges"])

    def invite_token(self) -> str:
        """Call E, Onepanel's `POST /cluster/invite_user_token`, its body exactly."""
        body = {
            "name": f"admin invite to cluster {time.strftime('%Y-%m-%d')} {int(time.time() * 1e6) % 0xFFFFFF:06x}",
            "type": {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": self.provider_id, "parameters": {}}},
            "usageLimit": 1,
            "privileges": ADMIN_SET,
        }
        status, answer = call("POST", f"{self.api}/provider/tokens/named", body, **self.provider_auth())
        assert status == 201, answer
        return str(answer["token"])


@dataclass
class Person:
    """A Onezone user, with what the Onezone GUI would hand them."""

    base: str
    username: str
    password: str
    user_id: str = ""
    token: str = ""  # an access token for Onezone itself

    def sign_up(self, admin_token: str) -> Person:
        body = {"username": self.username, "password": self.password, "fullName": self.username.title()}
        status, answer = call("POST", f"{self.base}/users", body, x_auth_token=admin_token)
        assert status == 201, answer
        self.user_id = answer["userId"]
        self.token = temporary_token(self.base, {"authorization": basic(self.username, self.password)})
        return self

    def token_for(self, panel: Onepanel) -> str:
        """What the Onezone GUI mints to open a Onepanel (`gui-preauthorize`): a temporary access
        token for that Onepanel's service only."""
        service = {"type": "service", "whitelist": [f"opp-{panel.provider_id}"]}
        return temporary_token(self.base, {"x_auth_token": self.token}, service)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def temporary_token(base: str, auth: dict[str, str], *caveats: dict[str, Any]) -> str:
    body = {"caveats": [{"type": "time", "validUntil": int(time.time()) + 3600}, *caveats]}
    status, answer = call("POST", f"{base}/user/tokens/temporary", body, **auth)
    assert status == 201, answer
    return str(answer["token"])


def register(base: str, registrant: Person, name: str) -> Onepanel:
    status, answer = call("POST", f"{base}/user/clusters/provider_registration_token", x_auth_token=registrant.token)
    assert status == 200, answer
    body = {
        "subdomainDelegation": False,
        "domain": f"{name}.example.com",
        "token": answer["token"],
        "name": name,
        "adminEmail": f"admin@{name}.example.com",
    }
    status, answer = call("POST", f"{base}/providers", body)
    assert status == 200, answer
    return Onepanel(base.removesuffix("/api/v3/onezone"), answer["providerId"], answer["providerRootToken"])


def refusal(panel: Onepanel, token: str) -> dict[str, Any]:
    try:
        panel.sign_in(token)
    except Refused as refused:
        return refused.error
    raise AssertionError("Onepanel let the user in")


def test_onepanel_signs_in_its_registrant_refuses_strangers_and_lets_invited_users_join(local: LocalRun) -> None:
    suffix = f"{int(time.time() * 1000) % 10**9}"
    admin_token = temporary_token(local.base, {"authorization": basic("admin", ADMIN_PASSWORD)})
    alice, bob, carol, dave = (
        Person(local.base, f"{name}{suffix}", f"{name}-password-1").sign_up(admin_token)
        for name in ("alice", "bob", "carol", "dave")
    )
    panel = register(local.base, alice, f"panel{suffix}")
    other = register(local.base, alice, f"other{suffix}")

    # The registering user signs in with the admin privileges, through Onepanel's own checks.
    client = panel.sign_in(alice.token_for(panel))
    assert (client.user_id, client.full_name, client.username) == (
        alice.user_id,
        alice.username.title(),
        alice.username,
    )
    assert client.privileges == ADMIN_SET
    # ... and Onepanel's other reads work with that token (calls G, H, I, J; H with its slash).
    auth = panel.user_auth(alice.token_for(panel))
    for path, key in (
        (f"/clusters/{panel.provider_id}", "creator"),
        ("/user/effective_clusters/", "clusters"),
        (f"/clusters/{panel.provider_id}/users", "users"),
        (f"/clusters/{panel.provider_id}/effective_groups", "groups"),
        (f"/providers/{panel.provider_id}", "domain"),
    ):
        status, answer = call("GET", panel.api + path, **auth)
        assert (status, key in answer) == (200, True), (path, answer)
    # That token is meant for this Onepanel: it reads, it changes nothing.
    status, answer = call("POST", f"{panel.api}/user/tokens/named", {"name": "more"}, **auth)
    assert (status, answer["error"]["details"]["authError"]["id"]) == (401, "tokenCaveatUnverified")

    # Refused, as Onezone refuses them: a token meant for another Onepanel, either way round ...
    error = refusal(panel, alice.token_for(other))
    assert (error["id"], error["details"]["caveat"]) == (
        "tokenCaveatUnverified",
        {"type": "service", "whitelist": [f"opp-{other.provider_id}"]},
    )
    assert refusal(other, alice.token_for(panel))["id"] == "tokenCaveatUnverified"
    # ... and a user who is not a member, whatever token they bring.
    error = refusal(panel, carol.token)
    assert (error["id"], error["details"]) == (
        "tokenServiceForbidden",
        {"service": {"type": "op_panel", "id": panel.provider_id}},
    )
    url = f"{panel.api}/clusters/{panel.provider_id}/effective_users/{carol.user_id}/privileges"
    assert call("GET", url, **panel.provider_auth())[1]["error"]["id"] == "notFound"

    # An invited user joins with exactly the invite's privileges: Onepanel's own invite ...
    status, _ = call(
        "POST", f"{local.base}/user/clusters/join", {"token": panel.invite_token()}, x_auth_token=bob.token
    )
    assert status == 201
    assert panel.sign_in(bob.token_for(panel)).privileges == ADMIN_SET
    # ... or one the admin issued in Onezone with fewer privileges.
    invite = {
        "name": f"view only {suffix}",
        "type": {"inviteToken": {"inviteType": "userJoinCluster", "clusterId": panel.provider_id}},
        "usageLimit": 1,
        "privileges": ["cluster_view"],
    }
    status, answer = call("POST", f"{local.base}/user/tokens/named", invite, x_auth_token=alice.token)
    assert status == 201, answer
    status, _ = call("POST", f"{local.base}/user/clusters/join", {"token": answer["token"]}, x_auth_token=dave.token)
    assert status == 201
    dave_token = dave.token_for(panel)
    assert panel.sign_in(dave_token).privileges == ["cluster_view"]

    # The cluster's admin grants, revokes and removes members, in Onezone.
    privileges_url = f"{local.base}/clusters/{panel.provider_id}/users/{dave.user_id}/privileges"
    change = {"grant": ["cluster_update", "cluster_add_user"]}
    assert call("PATCH", privileges_url, change, x_auth_token=alice.token)[0] == 204
    assert panel.sign_in(dave_token).privileges == ["cluster_add_user", "cluster_update", "cluster_view"]
    assert call("PATCH", privileges_url, {"revoke": ["cluster_add_user"]}, x_auth_token=alice.token)[0] == 204
    assert panel.sign_in(dave_token).privileges == ["cluster_update", "cluster_view"]
    removal = f"{local.base}/clusters/{panel.provider_id}/users/{dave.user_id}"
    assert call("DELETE", removal, x_auth_token=bob.token)[0] == 204  # bob holds cluster_remove_user
    assert refusal(panel, dave_token)["id"] == "tokenServiceForbidden"
    status, answer = call("GET", f"{local.base}/clusters/{panel.provider_id}/users", x_auth_token=alice.token)
    assert sorted(answer["users"]) == sorted([alice.user_id, bob.user_id])
