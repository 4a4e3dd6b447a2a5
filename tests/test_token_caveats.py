"""Caveats (module level): string <-> JSON for every Onedata caveat, and what each one demands.

The pairs below are written from ctool's `caveats` module (`serialize`/`to_json`): each string
must parse to the caveat whose JSON is given, and each JSON must give back the very string.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chalicelib.tokens import caveats as cv
from chalicelib.tokens.codec import NOBODY, Subject
from chalicelib.tokens.gri import Gri

OBJECT_ID = "00000000000CDBDA677569642331323323616263"  # ctool's vector: guid#123#abc
PAIRS: list[tuple[str, dict[str, Any]]] = [
    ("time < 8374891234", {"type": "time", "validUntil": 8374891234}),
    ("ip = 10.0.0.0/8|1.2.3.4/32", {"type": "ip", "whitelist": ["10.0.0.0/8", "1.2.3.4/32"]}),
    ("ip = 10.1.2.3/8", {"type": "ip", "whitelist": ["10.1.2.3/8"]}),  # host bits are kept, as in ctool
    ("asn = 322|112", {"type": "asn", "whitelist": [322, 112]}),
    ("geo.country = PL|FR", {"type": "geo.country", "filter": "whitelist", "list": ["PL", "FR"]}),
    ("geo.country != PL", {"type": "geo.country", "filter": "blacklist", "list": ["PL"]}),
    ("geo.region = Europe|EU", {"type": "geo.region", "filter": "whitelist", "list": ["Europe", "EU"]}),
    ("geo.region != Africa", {"type": "geo.region", "filter": "blacklist", "list": ["Africa"]}),
    ("service = ozw-onezone|opw-p1|opp-*", {"type": "service", "whitelist": ["ozw-onezone", "opw-p1", "opp-*"]}),
    (
        "consumer = usr-u1|grp-g1|prv-p1|usr-*",
        {"type": "consumer", "whitelist": ["usr-u1", "grp-g1", "prv-p1", "usr-*"]},
    ),
    ("interface = rest", {"type": "interface", "interface": "rest"}),
    ("interface = oneclient", {"type": "interface", "interface": "oneclient"}),
    ("interface = graphsync", {"type": "interface", "interface": "graphsync"}),
    (
        "api = all/all/*.*.*:*|ozw/get/provider.p1.instance:protected|opw/create/file.*.child,*:private",
        {
            "type": "api",
            "whitelist": [
                "all/all/*.*.*:*",
                "ozw/get/provider.p1.instance:protected",
                "opw/create/file.*.child,*:private",
            ],
        },
    ),
    ("data.readonly", {"type": "data.readonly"}),
    (
        "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0",
        {"type": "data.path", "whitelist": ["L3NwYWNlMS9maWxlMS50eHQ=", "L3NwYWNlMi9kaXIvZmlsZTIudHh0"]},
    ),
    (f"data.objectid = {OBJECT_ID}", {"type": "data.objectid", "whitelist": [OBJECT_ID]}),
    ("authorization = none", {"scope": "identityToken"}),
]
KINDS_COVERED = {type(cv.parse(text)) for text, _ in PAIRS}


def test_every_kind_of_caveat_is_covered() -> None:
    assert set(cv.KINDS) == KINDS_COVERED


@pytest.mark.parametrize(("text", "as_json"), PAIRS)
def test_string_to_json(text: str, as_json: dict[str, Any]) -> None:
    assert cv.parse(text).to_json() == as_json


@pytest.mark.parametrize(("text", "as_json"), PAIRS)
def test_json_to_string(text: str, as_json: dict[str, Any]) -> None:
    assert cv.from_json(as_json).serialize() == text


@pytest.mark.parametrize(("text", "as_json"), PAIRS)
def test_round_trips(text: str, as_json: dict[str, Any]) -> None:
    assert cv.parse(cv.from_json(as_json).serialize()).to_json() == as_json
    assert cv.from_json(cv.parse(text).to_json()).serialize() == text


def test_json_forms_are_normalised_as_onezone_does() -> None:
    """A bare address is a /32 (ctool's `parse_mask`), and what is stored is the canonical form."""
    assert (
        cv.from_json({"type": "ip", "whitelist": ["1.2.3.4", "5.6.7.8/"]}).serialize() == "ip = 1.2.3.4/32|5.6.7.8/32"
    )
    assert cv.parse("api = all/all/*.*.*").serialize() == "api = all/all/*.*.*:private"  # the default scope


@pytest.mark.parametrize(
    "text",
    [
        "time <= 5",
        "time < soon",
        "time < ",
        "ip = ",
        "ip = 300.1.1.1",
        "ip = 1.2.3.4/33",
        "ip = ::1/128",
        "asn = x",
        "geo.country = ",
        "geo.continent = EU",
        "service = xyz-1",
        "service = ozwonezone",
        "consumer = usx-1",
        "interface = soap",
        "api = all/all",
        "api = all/none/*.*.*:*",
        "api = all/all/space.*.*:everywhere",
        "api = all/all/nothing.*.*:*",
        "data.readonlyish",
        "data.path = !!!",
        "authorization = some",
        "something else",
        "",
    ],
)
def test_strings_that_are_no_caveat(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - verification turns any into tokenCaveatUnknown
        cv.parse(text)


@pytest.mark.parametrize(
    "as_json",
    [
        None,
        "time < 5",
        [],
        {},
        {"type": {}},
        {"type": "later"},
        {"type": "time"},
        {"type": "time", "validUntil": "soon"},
        {"type": "time", "validUntil": 1.5},
        {"type": "time", "validUntil": True},
        {"type": "ip", "whitelist": []},
        {"type": "ip", "whitelist": "1.2.3.4"},
        {"type": "ip", "whitelist": [1234]},
        {"type": "ip", "whitelist": ["1.2.3.4/40"]},
        {"type": "asn", "whitelist": []},
        {"type": "asn", "whitelist": ["322"]},
        {"type": "asn", "whitelist": [True]},
        {"type": "geo.country", "filter": "whitelist", "list": ["POL"]},
        {"type": "geo.country", "filter": "greylist", "list": ["PL"]},
        {"type": "geo.country", "list": ["PL"]},
        {"type": "geo.region", "filter": "whitelist", "list": ["Atlantis"]},
        {"type": "geo.region", "filter": {}, "list": ["Europe"]},
        {"type": "service", "whitelist": ["onezone"]},
        {"type": "consumer", "whitelist": ["nobody"]},  # nobody consumes anything
        {"type": "consumer", "whitelist": ["bob"]},
        {"type": "interface", "interface": "soap"},
        {"type": "interface", "interface": ["rest"]},
        {"type": "api", "whitelist": ["everything"]},
        {"type": "data.path", "whitelist": [base64.b64encode(b"relative/path").decode()]},
        {"type": "data.path", "whitelist": [base64.b64encode(b"/").decode()]},
        {"type": "data.path", "whitelist": [base64.b64encode(b"/space/dir/").decode()]},
        {"type": "data.path", "whitelist": ["not base64!"]},
        {"type": "data.objectid", "whitelist": ["xyz"]},
        {"type": "data.objectid", "whitelist": ["0000000000000000"]},  # no GUID inside
        {"scope": "everything"},
    ],
)
def test_json_that_is_no_valid_caveat(as_json: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the API turns any into badValueCaveat
        cv.from_json(as_json)


def test_expiration_is_the_earliest_time_caveat() -> None:
    parsed = [cv.parse(text) for text in ("ip = 1.2.3.4", "time < 500", "time < 300", "time < 400")]
    assert cv.expiration(parsed) == 300
    assert cv.expiration([cv.parse("ip = 1.2.3.4")]) is None


# ---- what each caveat demands of a use ----------------------------------------------------------


class FakeGeo(cv.GeoLookup):
    """192.0.2.x is in Poland (EU, AS 322); 198.51.100.x in the US (AS 112); nothing else is known."""

    PLACES = {"192.0.2.": ("PL", ["Europe", "EU"], 322), "198.51.100.": ("US", ["NorthAmerica"], 112)}

    def _place(self, ip: str) -> tuple[str, list[str], int]:
        for prefix, place in self.PLACES.items():
            if ip.startswith(prefix):
                return place
        raise cv.LookupFailed(ip)

    def asn(self, ip: str) -> int:
        return self._place(ip)[2]

    def country(self, ip: str) -> str:
        return self._place(ip)[0]

    def regions(self, ip: str) -> list[str]:
        return self._place(ip)[1]


def holds(text: str, **context: Any) -> bool:
    return cv.parse(text).holds(cv.Context(now=1000, geo=FakeGeo(), **context))


def test_time() -> None:
    assert holds("time < 1001")
    assert not holds("time < 1000")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("10.1.2.3", True), ("1.2.3.4", True), ("1.2.3.5", False), ("11.0.0.1", False), ("::1", False), (None, False)],
)
def test_ip(ip: str | None, expected: bool) -> None:
    assert holds("ip = 10.0.0.0/8|1.2.3.4/32", ip=ip) is expected


@pytest.mark.parametrize(
    ("text", "ip", "expected"),
    [
        ("asn = 322", "192.0.2.7", True),
        ("asn = 322", "198.51.100.7", False),
        ("asn = 322", "203.0.113.1", False),  # unknown to the database: fails closed
        ("asn = 322", None, False),
        ("geo.country = PL|FR", "192.0.2.7", True),
        ("geo.country = FR", "192.0.2.7", False),
        ("geo.country != PL", "198.51.100.7", True),
        ("geo.country != PL", "192.0.2.7", False),
        ("geo.country != PL", "203.0.113.1", False),  # a blacklist fails closed too
        ("geo.region = EU", "192.0.2.7", True),
        ("geo.region = Europe", "192.0.2.7", True),
        ("geo.region = Asia|NorthAmerica", "198.51.100.7", True),
        ("geo.region != EU", "192.0.2.7", False),
        ("geo.region != EU", "198.51.100.7", True),
    ],
)
def test_geo_and_asn(text: str, ip: str | None, expected: bool) -> None:
    assert holds(text, ip=ip) is expected


def test_geo_caveats_fail_without_a_database() -> None:
    for text in ("asn = 322", "geo.country = PL", "geo.country != PL", "geo.region = EU"):
        assert not cv.parse(text).holds(cv.Context(now=0, ip="192.0.2.7")), text


@pytest.mark.parametrize(
    ("consumer", "expected"),
    [
        (Subject("user", "u1"), True),
        (Subject("user", "u2"), False),
        (Subject("oneprovider", "p1"), True),
        (Subject("oneprovider", "p2"), False),
        (Subject("group", "g1"), False),  # no groups here: a group entry never matches
        (NOBODY, False),
        (None, False),
    ],
)
def test_consumer(consumer: Subject | None, expected: bool) -> None:
    assert holds("consumer = usr-u1|prv-p1|grp-g1", consumer=consumer) is expected


def test_consumer_wildcards() -> None:
    assert holds("consumer = usr-*", consumer=Subject("user", "anyone"))
    assert not holds("consumer = usr-*", consumer=Subject("oneprovider", "p"))
    assert not holds("consumer = usr-*", consumer=NOBODY)


@pytest.mark.parametrize(
    ("text", "service", "expected"),
    [
        ("service = ozw-onezone", "ozw-onezone", True),
        ("service = ozw-*", "ozw-onezone", True),
        ("service = opw-*", "ozw-onezone", False),
        ("service = opw-p1", "opw-p1", True),
        ("service = opw-p1", "opw-p2", False),
        ("service = opp-*|ozw-onezone", "opp-p9", True),
    ],
)
def test_service(text: str, service: str, expected: bool) -> None:
    assert holds(text, service=service) is expected


def test_interface() -> None:
    assert holds("interface = rest", interface="rest")
    assert not holds("interface = graphsync", interface="rest")
    assert not holds("interface = rest")  # unknown interface


def test_data_access_caveats_need_permission() -> None:
    for text in ("data.readonly", "data.path = L3NwYWNlMQ==", f"data.objectid = {OBJECT_ID}"):
        assert not holds(text), text
        assert holds(text, allow_data_access=True), text


def test_scope_holds_for_identity_only() -> None:
    assert not holds("authorization = none")
    assert holds("authorization = none", identity_scope=True)


def test_api_holds_lazily_and_is_checked_per_operation() -> None:
    api = cv.parse("api = ozw/get/provider.p1.instance:*|all/update/cluster.*.instance:private")
    assert api.holds(cv.Context(now=0))
    assert api.allows("ozw", "get", Gri("provider", "p1", "instance", "protected"))
    assert not api.allows("ozw", "get", Gri("provider", "p2", "instance", "protected"))
    assert not api.allows("ozw", "delete", Gri("provider", "p1", "instance", "private"))
    assert api.allows("ozw", "update", Gri("cluster", "c", "instance", "private"))
    assert not api.allows("ozw", "update", Gri("cluster", "c", "instance", "protected"))
    assert not cv.parse("api = ozw/get/provider.self.instance:*").allows(
        "ozw", "get", Gri("provider", "p1", "instance", "protected")
    )  # `self` is just a literal id


@pytest.mark.parametrize(
    ("pattern", "aspect", "expected"),
    [
        ("*", "instance", True),
        ("*", "user_named_token,u1", True),
        ("user_named_token,*", "user_named_token,u1", True),
        ("*,u1", "user_named_token,u1", True),
        ("*,*", "instance", False),
        ("instance", "instance", True),
        ("instance", "user_named_token,u1", False),
        ("user_named_token,u2", "user_named_token,u1", False),
    ],
)
def test_api_aspect_patterns(pattern: str, aspect: str, expected: bool) -> None:
    caveat = cv.parse(f"api = all/all/token.null.{pattern}:*")
    assert caveat.allows("ozw", "create", Gri("token", None, aspect, "private")) is expected


@pytest.mark.parametrize(
    ("caveat", "description"),
    [
        ("time < 0", "unverified time caveat: this token has expired at '1970-01-01T00:00:00Z'"),
        (
            "ip = 1.2.3.4/32|10.0.0.0/8",
            "unverified IP caveat: this token can only be used from an IP address that matches: "
            "'1.2.3.4/32 or 10.0.0.0/8'",
        ),
        (
            "geo.country != PL",
            "unverified country caveat: this token can only be used from an IP address that does NOT come "
            "from the following country: 'PL'",
        ),
        ("interface = rest", "unverified interface caveat: this token can only be used in the 'rest' interface"),
    ],
)
def test_unverified_descriptions_are_onezones(caveat: str, description: str) -> None:
    assert cv.parse(caveat).unverified() == description
