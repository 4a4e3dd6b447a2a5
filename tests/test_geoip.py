"""GeoIP lookups (MaxMind-format databases written here with `mmdb-writer`) and the `asn`/`geo.*`
caveats they decide, down to a registration through the HTTP surface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chalice import local
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from chalicelib import context
from chalicelib.geoip import MaxMindLookup
from chalicelib.tokens.caveats import LookupFailed
from tests.conftest import USER_PASSWORD, Api, error_of

POLAND, USA = "192.0.2.0/24", "198.51.100.0/24"


def write(path: Path, database_type: str, networks: dict[str, dict[str, Any]]) -> Path:
    writer = MMDBWriter(ip_version=4, database_type=database_type)
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def databases(tmp_path: Path) -> tuple[str, str]:
    asn = write(
        tmp_path / "asn.mmdb",
        "GeoLite2-ASN",
        {POLAND: {"autonomous_system_number": 322}, USA: {"autonomous_system_number": 112}},
    )
    country = write(
        tmp_path / "country.mmdb",
        "GeoLite2-Country",
        {
            POLAND: {"country": {"iso_code": "PL", "is_in_european_union": True}, "continent": {"code": "EU"}},
            USA: {"country": {"iso_code": "US"}, "continent": {"code": "NA"}},
        },
    )
    return str(asn), str(country)


def test_lookups(databases: tuple[str, str]) -> None:
    geo = MaxMindLookup(*databases)
    assert (geo.asn("192.0.2.9"), geo.country("192.0.2.9"), geo.regions("192.0.2.9")) == (322, "PL", ["Europe", "EU"])
    assert (geo.asn("198.51.100.9"), geo.country("198.51.100.9"), geo.regions("198.51.100.9")) == (
        112,
        "US",
        ["NorthAmerica"],
    )


@pytest.mark.parametrize("ip", ["203.0.113.1", "::1", "not an address"])
def test_unknown_addresses_fail(databases: tuple[str, str], ip: str) -> None:
    geo = MaxMindLookup(*databases)
    for lookup in (geo.asn, geo.country, geo.regions):
        with pytest.raises(LookupFailed):
            lookup(ip)


def test_missing_or_unreadable_databases_fail(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    for geo in (MaxMindLookup(None, None), MaxMindLookup(str(tmp_path / "absent.mmdb"), str(junk))):
        for lookup in (geo.asn, geo.country, geo.regions):
            with pytest.raises(LookupFailed):
                lookup("192.0.2.9")


def register(api: Api, caveat: dict[str, Any], name: str) -> Any:
    """Register with a fresh named invite carrying `caveat`."""
    created = api.call(
        "POST",
        "/user/tokens/named",
        {"name": name, "type": {"inviteToken": {"inviteType": "registerOneprovider"}}, "caveats": [caveat]},
        headers=api.basic("alice", USER_PASSWORD),
    )
    assert created.status_code == 201, created.body
    body = {
        "token": created.json_body["token"],
        "name": "Geo provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": False,
        "domain": "geo.example.com",
    }
    return api.call("POST", "/providers", body)


@pytest.mark.parametrize(
    ("caveat", "source", "allowed"),
    [
        ({"type": "geo.country", "filter": "whitelist", "list": ["PL"]}, "192.0.2.10", True),
        ({"type": "geo.country", "filter": "whitelist", "list": ["PL"]}, "198.51.100.10", False),
        ({"type": "geo.country", "filter": "blacklist", "list": ["PL"]}, "198.51.100.10", True),
        ({"type": "geo.region", "filter": "whitelist", "list": ["EU"]}, "192.0.2.10", True),
        ({"type": "geo.region", "filter": "blacklist", "list": ["NorthAmerica"]}, "198.51.100.10", False),
        ({"type": "asn", "whitelist": [322]}, "192.0.2.10", True),
        ({"type": "asn", "whitelist": [322]}, "203.0.113.10", False),  # unknown to the database
        ({"type": "ip", "whitelist": ["192.0.2.0/24"]}, "192.0.2.10", True),
        ({"type": "ip", "whitelist": ["192.0.2.0/24"]}, "198.51.100.10", False),
    ],
)
def test_registration_from_where_the_invite_allows(
    api: Api,
    databases: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caveat: dict[str, Any],
    source: str,
    allowed: bool,
) -> None:
    """`GEOIP_*_DATABASE` configured; the request comes from `source` (API Gateway's sourceIp)."""
    monkeypatch.setenv("GEOIP_ASN_DATABASE", databases[0])
    monkeypatch.setenv("GEOIP_COUNTRY_DATABASE", databases[1])
    context.reset()
    api.create_user("alice")
    monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP", source)
    response = register(api, caveat, "geo invite")
    if allowed:
        assert response.status_code == 200, response.body
    else:
        error = error_of(response)
        assert (response.status_code, error["id"]) == (400, "tokenCaveatUnverified")
        assert error["details"]["caveat"]["type"] == caveat["type"]


def test_without_databases_geo_caveats_fail_closed(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create_user("alice")
    monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP", "192.0.2.10")
    response = register(api, {"type": "geo.country", "filter": "blacklist", "list": ["XX"]}, "anywhere but XX")
    assert (response.status_code, error_of(response)["id"]) == (400, "tokenCaveatUnverified")
