"""`chalicelib.validation` and `RegisterProviderRequest` on their own: parsing, every field rule,
and the order in which Onezone reports the first of several errors. No AWS involved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import validation
from chalicelib.errors import CATALOGUE, OnedataError
from chalicelib.models import CreateUserRequest, RegisterProviderRequest, UpdateDomainConfigRequest
from chalicelib.validation import MAX_BODY_BYTES, parse_json_object, validate

OWN_DOMAIN: dict[str, Any] = {
    "token": "some-token",
    "name": "My provider",
    "adminEmail": "person@example.com",
    "subdomainDelegation": False,
    "domain": "my-provider.example.com",
}
DELEGATED: dict[str, Any] = {
    "token": "some-token",
    "name": "Krakow DC",
    "adminEmail": "ops@example.com",
    "subdomainDelegation": True,
    "subdomain": "krakow",
    "opWorkerIpAddresses": ["192.0.2.1"],
}


def rejected(data: dict[str, Any], model: type[Any] = RegisterProviderRequest) -> OnedataError:
    with pytest.raises(OnedataError) as raised:
        validate(model, data)
    return raised.value


def error_of(data: dict[str, Any], model: type[Any] = RegisterProviderRequest) -> tuple[str, dict[str, Any]]:
    error = rejected(data, model)
    return error.id, error.details


def parse_error(raw: bytes | None) -> OnedataError:
    with pytest.raises(OnedataError) as raised:
        parse_json_object(raw)
    return raised.value


# ---- parse_json_object ----------------------------------------------------------------------


def test_seed_body_with_string_values_and_trailing_comma_parses() -> None:
    raw = b"""{
  "token" : "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW...",
  "name" : "My provider",
  "adminEmail" : "person@example.com",
  "subdomainDelegation" : "false",
  "domain" : "my-provider.example.com",
  "latitude" : "50.0647",
  "longitude" : "19.9450",
}"""
    data = parse_json_object(raw)
    assert data["longitude"] == "19.9450"
    request = validate(RegisterProviderRequest, data)
    assert request.subdomainDelegation is False
    assert (request.latitude, request.longitude) == (50.0647, 19.945)
    assert request.domain == "my-provider.example.com"
    assert request.subdomain is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": 1,}', {"a": 1}),
        (b'{"a": [1, 2,],}', {"a": [1, 2]}),
        (b'{"a": {"b": [1,\n ],\n},\n}', {"a": {"b": [1]}}),
        (b'{"a": "x,}", "b": "y,]",}', {"a": "x,}", "b": "y,]"}),  # commas inside strings are data
        (b'  {"a": 1}  ', {"a": 1}),
        ('{"name": "Zażółć"}'.encode(), {"name": "Zażółć"}),
    ],
)
def test_json_objects_parse(raw: bytes, expected: dict[str, Any]) -> None:
    assert parse_json_object(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"   ",
        b"[]",
        b'[{"a": 1}]',
        b'"a string"',
        b"42",
        b"null",
        b"true",
        b"{",
        b'{"a": 1',
        b"{,}",
        b'{"a": 1,,}',
        b'{"a": ,}',
        b"{'a': 1}",
        b"\xff\xfe{}",  # not UTF-8
        b'{"a": "\xc3"}',  # truncated UTF-8 sequence
        '\ufeff{"a": 1}'.encode(),  # byte order mark
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the decoder's recursion limit
        b"a=1&b=2",  # a form body
    ],
)
def test_anything_but_a_json_object_is_malformed_data(raw: bytes | None) -> None:
    error = parse_error(raw)
    assert (error.id, error.status, error.details) == ("malformedData", 400, {})


def test_more_nested_trailing_commas_than_tolerated_are_malformed() -> None:
    depth = 17
    raw = ("[" * depth + "1" + ",]" * depth).encode()
    assert parse_error(raw).id == "malformedData"
    tolerated = ("[" * 15 + "1" + ",]" * 15).encode()
    assert parse_json_object(b'{"a": ' + tolerated + b"}")["a"] is not None


def test_body_over_the_limit_is_bad_message() -> None:
    raw = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    error = parse_error(raw)
    assert (error.id, error.status) == ("badMessage", 400)
    assert error.details == {"message": f"request body exceeds {MAX_BODY_BYTES} bytes"}


def test_body_at_the_limit_is_parsed() -> None:
    prefix, suffix = b'{"a": "', b'"}'
    raw = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(raw) == MAX_BODY_BYTES
    assert len(parse_json_object(raw)["a"]) == MAX_BODY_BYTES - 9


# ---- valid requests -------------------------------------------------------------------------


def test_own_domain_defaults() -> None:
    request = validate(RegisterProviderRequest, OWN_DOMAIN)
    assert (request.latitude, request.longitude) == (0.0, 0.0)
    assert (request.opWorkerPort, request.oneS3IpAddresses, request.oneS3Port) == (None, None, None)
    assert request.worker_ips == []


def test_unknown_keys_are_ignored() -> None:
    request = validate(RegisterProviderRequest, {**OWN_DOMAIN, "colour": "blue", "admin": True, "": None})
    assert "colour" not in request.model_dump()
    assert request.name == "My provider"


def test_delegation_keeps_its_values() -> None:
    request = validate(
        RegisterProviderRequest,
        {**DELEGATED, "opWorkerPort": "443", "oneS3IpAddresses": ["192.0.2.9"], "oneS3Port": 9000},
    )
    assert (request.subdomain, request.worker_ips, request.opWorkerPort) == ("krakow", ["192.0.2.1"], 443)
    assert (request.oneS3IpAddresses, request.oneS3Port) == (["192.0.2.9"], 9000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("True", True), ("FALSE", False)],
)
def test_booleans_and_their_documented_string_forms(value: Any, expected: bool) -> None:
    data = {**DELEGATED, "subdomainDelegation": value} if expected else {**OWN_DOMAIN, "subdomainDelegation": value}
    assert validate(RegisterProviderRequest, data).subdomainDelegation is expected


@pytest.mark.parametrize("value", ["True", "TRUE", "tRuE"])
def test_delegation_in_any_case_requires_its_keys(value: str) -> None:
    """Regression: "True" used to switch delegation on without requiring a subdomain, so a
    provider was registered with domain ".<zone>" and no subdomain at all."""
    base = {key: OWN_DOMAIN[key] for key in ("token", "name", "adminEmail")}
    missing = ("missingRequiredValue", {"key": "opWorkerIpAddresses"})
    assert error_of({**base, "subdomainDelegation": value}) == missing
    assert error_of({**base, "subdomainDelegation": value, "ipList": []}) == (
        "missingRequiredValue",
        {"key": "subdomain"},
    )
    assert error_of({**base, "subdomainDelegation": value, "subdomain": "krakow"}) == missing
    assert error_of({"subdomainDelegation": value, "ipList": []}, UpdateDomainConfigRequest) == (
        "missingRequiredValue",
        {"key": "subdomain"},
    )


@pytest.mark.parametrize("value", ["False", "FALSE"])
def test_own_domain_in_any_case_requires_the_domain(value: str) -> None:
    base = {key: OWN_DOMAIN[key] for key in ("token", "name", "adminEmail")}
    assert error_of({**base, "subdomainDelegation": value}) == ("missingRequiredValue", {"key": "domain"})


@pytest.mark.parametrize("value", [1, 0, 1.0, "yes", "1", [], {}, " true"])
def test_non_booleans_are_bad_booleans_not_missing_keys(value: Any) -> None:
    """1 == True in Python: the delegation flag must not be compared with `in (True, ...)`."""
    base = {key: OWN_DOMAIN[key] for key in ("token", "name", "adminEmail")}
    assert error_of({**base, "subdomainDelegation": value}) == ("badValueBoolean", {"key": "subdomainDelegation"})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("latitude", "50.0647", 50.0647),
        ("latitude", " -90 ", -90.0),
        ("latitude", 90, 90.0),
        ("latitude", -0.0, 0.0),
        ("longitude", "1e2", 100.0),
        ("longitude", 180, 180.0),
        ("longitude", -180.0, -180.0),
        ("longitude", ".5", 0.5),
    ],
)
def test_coordinates_accept_numbers_and_numeric_strings(key: str, value: Any, expected: float) -> None:
    assert getattr(validate(RegisterProviderRequest, {**OWN_DOMAIN, key: value}), key) == expected


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (65535, 65535), ("443", 443), (" 8443 ", 8443), (443.0, 443)])
def test_ports(value: Any, expected: int) -> None:
    request = validate(RegisterProviderRequest, {**OWN_DOMAIN, "opWorkerPort": value})
    assert request.opWorkerPort == expected
    assert isinstance(request.opWorkerPort, int)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Pp", "Pp"),
        ("My provider", "My provider"),
        ("(Kraków) DC_1", "(Kraków) DC_1"),
        ("a.b-c d", "a.b-c d"),
        ("x" * 128, "x" * 128),
        ("数据中心", "数据中心"),
    ],
)
def test_valid_names(value: str, expected: str) -> None:
    assert validate(RegisterProviderRequest, {**OWN_DOMAIN, "name": value}).name == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MY-Provider.Example.COM", "my-provider.example.com"),
        ("my-provider.example.com.", "my-provider.example.com"),
        (" host.example.org ", "host.example.org"),
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8::1", "2001:db8::1"),
        ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
    ],
)
def test_valid_domains_are_normalised(value: str, expected: str) -> None:
    assert validate(RegisterProviderRequest, {**OWN_DOMAIN, "domain": value}).domain == expected


@pytest.mark.parametrize(("value", "expected"), [("Krakow", "krakow"), (" krk-1 ", "krk-1"), ("a" * 63, "a" * 63)])
def test_valid_subdomains_are_normalised(value: str, expected: str) -> None:
    assert validate(RegisterProviderRequest, {**DELEGATED, "subdomain": value}).subdomain == expected


@pytest.mark.parametrize(
    ("ips", "expected"),
    [
        ([], []),
        (["192.0.2.1"], ["192.0.2.1"]),
        (["192.0.2.1", "192.0.2.1", "192.0.2.2"], ["192.0.2.1", "192.0.2.2"]),  # Route 53 refuses duplicates
        (["1.1.1.1", "255.255.255.255"], ["1.1.1.1", "255.255.255.255"]),
    ],
)
def test_worker_ip_lists(ips: list[str], expected: list[str]) -> None:
    assert validate(RegisterProviderRequest, {**DELEGATED, "opWorkerIpAddresses": ips}).worker_ips == expected


def test_deprecated_ip_list_is_the_worker_list() -> None:
    data = {**DELEGATED, "ipList": ["192.0.2.7"]}
    del data["opWorkerIpAddresses"]
    assert validate(RegisterProviderRequest, data).worker_ips == ["192.0.2.7"]


@pytest.mark.parametrize(
    ("ip_list", "workers"),
    [(["192.0.2.1"], ["192.0.2.1"]), (["192.0.2.2", "192.0.2.1"], ["192.0.2.1", "192.0.2.2"])],
)
def test_both_worker_lists_may_be_sent_when_they_agree(ip_list: list[str], workers: list[str]) -> None:
    request = validate(RegisterProviderRequest, {**DELEGATED, "ipList": ip_list, "opWorkerIpAddresses": workers})
    assert request.worker_ips == workers


def test_own_domain_ignores_delegation_keys() -> None:
    request = validate(RegisterProviderRequest, {**OWN_DOMAIN, "subdomain": "krakow", "ipList": ["192.0.2.1"]})
    assert request.subdomainDelegation is False
    assert request.domain == "my-provider.example.com"


# ---- one error per rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "adminEmail"),
        ({"adminEmail": "a@b.co"}, "name"),
        ({"adminEmail": "a@b.co", "name": "Pp"}, "subdomainDelegation"),
        ({"adminEmail": "a@b.co", "name": "Pp", "subdomainDelegation": False}, "domain"),
        ({"adminEmail": "a@b.co", "name": "Pp", "subdomainDelegation": True}, "opWorkerIpAddresses"),
        ({"adminEmail": "a@b.co", "name": "Pp", "subdomainDelegation": True, "ipList": []}, "subdomain"),
        ({"adminEmail": "a@b.co", "name": "Pp", "subdomainDelegation": False, "domain": "a.bc"}, "token"),
        ({"adminEmail": "a@b.co", "name": "Pp", "subdomainDelegation": "yes"}, "token"),
        ({**OWN_DOMAIN, "token": None}, "token"),
        ({**OWN_DOMAIN, "domain": None}, "domain"),
        ({**DELEGATED, "subdomain": None}, "subdomain"),
        ({**DELEGATED, "opWorkerIpAddresses": None}, "opWorkerIpAddresses"),
        ({**OWN_DOMAIN, "oneS3IpAddresses": ["192.0.2.9"]}, "oneS3Port"),
        ({**OWN_DOMAIN, "oneS3Port": 9000}, "oneS3IpAddresses"),
        ({**DELEGATED, "oneS3IpAddresses": [], "oneS3Port": None}, "oneS3Port"),
    ],
)
def test_missing_required_values(data: dict[str, Any], key: str) -> None:
    error = rejected(data)
    assert (error.id, error.details, error.status) == ("missingRequiredValue", {"key": key}, 400)
    assert error.description == f"Missing required value: {key}."


@pytest.mark.parametrize("missing", ["token", "name", "adminEmail", "subdomainDelegation", "domain"])
def test_each_required_key_of_own_domain(missing: str) -> None:
    data = {key: value for key, value in OWN_DOMAIN.items() if key != missing}
    assert error_of(data) == ("missingRequiredValue", {"key": missing})


@pytest.mark.parametrize("missing", ["token", "name", "adminEmail", "subdomain", "opWorkerIpAddresses"])
def test_each_required_key_of_delegation(missing: str) -> None:
    data = {key: value for key, value in DELEGATED.items() if key != missing}
    assert error_of(data) == ("missingRequiredValue", {"key": missing})


@pytest.mark.parametrize(
    ("key", "value", "error_id"),
    [
        ("token", 5, "badValueString"),
        ("token", ["a"], "badValueString"),
        ("token", {"a": 1}, "badValueString"),
        ("token", True, "badValueString"),
        ("name", 5, "badValueString"),
        ("name", ["My provider"], "badValueString"),
        ("adminEmail", 5, "badValueString"),
        ("adminEmail", False, "badValueString"),
        ("domain", 1.5, "badValueString"),
        ("domain", ["a.bc"], "badValueString"),
        ("subdomainDelegation", "no", "badValueBoolean"),
        ("subdomainDelegation", 0, "badValueBoolean"),
        ("latitude", "north", "badValueFloat"),
        ("latitude", True, "badValueFloat"),
        ("latitude", None, "badValueFloat"),
        ("latitude", [50], "badValueFloat"),
        ("latitude", "NaN", "badValueFloat"),
        ("latitude", "inf", "badValueFloat"),
        ("latitude", 10**400, "badValueFloat"),
        ("longitude", "", "badValueFloat"),
        ("longitude", {"deg": 19}, "badValueFloat"),
        ("longitude", "-Infinity", "badValueFloat"),
        ("opWorkerPort", "https", "badValueInteger"),
        ("opWorkerPort", 443.5, "badValueInteger"),
        ("opWorkerPort", "443.5", "badValueInteger"),
        ("opWorkerPort", True, "badValueInteger"),
        ("opWorkerPort", [443], "badValueInteger"),
        ("opWorkerPort", 10**400, "badValueInteger"),
        ("opWorkerPort", "0x1bb", "badValueInteger"),
    ],
)
def test_wrong_types(key: str, value: Any, error_id: str) -> None:
    assert error_of({**OWN_DOMAIN, key: value}) == (error_id, {"key": key})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("opWorkerIpAddresses", "192.0.2.1"),
        ("opWorkerIpAddresses", ["192.0.2.256"]),
        ("opWorkerIpAddresses", ["192.0.2"]),
        ("opWorkerIpAddresses", ["2001:db8::1"]),
        ("opWorkerIpAddresses", ["192.0.2.1", 7]),
        ("opWorkerIpAddresses", [["192.0.2.1"]]),
        ("opWorkerIpAddresses", ["192.0.2.01"]),
        ("opWorkerIpAddresses", ["host.example.com"]),
        ("opWorkerIpAddresses", {"ip": "192.0.2.1"}),
        ("ipList", ["192.0.2.1 "]),
        ("ipList", [""]),
        ("oneS3IpAddresses", ["999.0.0.1"]),
        ("oneS3IpAddresses", "192.0.2.9"),
    ],
)
def test_bad_ip_lists(key: str, value: Any) -> None:
    data = {**DELEGATED, "oneS3Port": 9000, "oneS3IpAddresses": ["192.0.2.9"], key: value}
    if key == "ipList":
        del data["opWorkerIpAddresses"]
    assert error_of(data) == ("badValueListOfIPv4Addresses", {"key": key})


@pytest.mark.parametrize(
    ("key", "value", "low", "high"),
    [
        ("latitude", 90.0001, -90, 90),
        ("latitude", -91, -90, 90),
        ("latitude", "100", -90, 90),
        ("latitude", 1e300, -90, 90),
        ("longitude", 180.5, -180, 180),
        ("longitude", "-181", -180, 180),
        ("opWorkerPort", 0, 1, 65535),
        ("opWorkerPort", 65536, 1, 65535),
        ("opWorkerPort", -443, 1, 65535),
        ("opWorkerPort", "70000", 1, 65535),
        ("oneS3Port", 0, 1, 65535),
        ("oneS3Port", 100000, 1, 65535),
    ],
)
def test_out_of_range(key: str, value: Any, low: int, high: int) -> None:
    data = {**DELEGATED, "oneS3IpAddresses": ["192.0.2.9"], "oneS3Port": 9000, key: value}
    error = rejected(data)
    assert (error.id, error.details) == ("badValueNotInRange", {"key": key, "low": low, "high": high})
    assert error.description == f'Bad value: provided "{key}" must be between <{float(low)}, {float(high)}>.' or (
        error.description == f'Bad value: provided "{key}" must be between <{low}, {high}>.'
    )


@pytest.mark.parametrize(
    "value",
    [
        "plainaddress",
        "@example.com",
        "person@",
        "person@example",
        "person@@example.com",
        "person@exa mple.com",
        "person@-example.com",
        "person@example-.com",
        "person example@example.com",
        "osoba@przykład.pl",
        "a@b.co\nx",
        "a\n@b.co",
        "\ud800@example.com",  # a lone surrogate, as a JSON "\\ud800" escape decodes
        "x" * 250 + "@example.com",  # over 254 bytes
        "   ",
    ],
)
def test_bad_emails(value: str) -> None:
    error = rejected({**OWN_DOMAIN, "adminEmail": value})
    assert (error.id, error.details) == ("badValueEmail", {})
    assert error.description == "Bad value: provided e-mail is not valid."


@pytest.mark.parametrize("value", ["person@example.com", "first.last+tag@sub.example.co.uk", " a@b.co "])
def test_good_emails(value: str) -> None:
    assert validate(RegisterProviderRequest, {**OWN_DOMAIN, "adminEmail": value}).adminEmail == value.strip()


@pytest.mark.parametrize(
    "value",
    [
        "localhost",
        "my_provider.example.com",
        "-bad.example.com",
        "bad-.example.com",
        "a..b",
        ".example.com",
        "https://my-provider.example.com",
        "my-provider.example.com:443",
        "my-provider.example.com/path",
        "a" * 64 + ".example.com",
        ".".join(["ab"] * 85),  # 254 characters
        "a\n.example.com",  # regression: `$` matched before the newline
        "example.com\nevil",
        "przykład.pl",
        "   ",
        "my provider.example.com",
    ],
)
def test_bad_domains(value: str) -> None:
    error = rejected({**OWN_DOMAIN, "domain": value})
    assert (error.id, error.details) == ("badValueDomain", {})


def test_domain_length_limit() -> None:
    at_limit = ".".join(["ab"] * 84) + ".a"  # 253 characters
    assert len(at_limit) == 253
    assert validate(RegisterProviderRequest, {**OWN_DOMAIN, "domain": at_limit}).domain == at_limit
    assert error_of({**OWN_DOMAIN, "domain": at_limit + "b"}) == ("badValueDomain", {})


@pytest.mark.parametrize(
    "value",
    [
        "krakow.pl",
        "a.b",
        "-krakow",
        "krakow-",
        "kra_kow",
        "kra kow",
        "a" * 64,
        "kraków",
        "krakow\nx",
        "*",
        "krakow.",
    ],
)
def test_bad_subdomains(value: str) -> None:
    error = rejected({**DELEGATED, "subdomain": value})
    assert (error.id, error.details) == ("badValueSubdomain", {})


@pytest.mark.parametrize(
    "value",
    [
        "P",
        "x" * 129,
        " Pp",
        "Pp ",
        "-Pp",
        "Pp-",
        ".Pp",
        "Pp.",
        "P/p",
        "P@p",
        "Pp\n",  # regression: `$` matched before a trailing newline
        "Pp\nQq",
        "P\tp",
        "P'p",
    ],
)
def test_bad_names(value: str) -> None:
    error = rejected({**OWN_DOMAIN, "name": value})
    assert (error.id, error.details) == ("badValueName", {})


@pytest.mark.parametrize("key", ["token", "adminEmail", "domain"])
def test_empty_strings(key: str) -> None:
    assert error_of({**OWN_DOMAIN, key: ""}) == ("badValueEmpty", {"key": key})


def test_empty_subdomain() -> None:
    assert error_of({**DELEGATED, "subdomain": ""}) == ("badValueEmpty", {"key": "subdomain"})


def test_empty_name_is_a_bad_name() -> None:
    assert error_of({**OWN_DOMAIN, "name": ""}) == ("badValueName", {})


@pytest.mark.parametrize(
    ("ip_list", "workers"),
    [
        (["192.0.2.9"], ["192.0.2.1"]),
        ([], ["192.0.2.1"]),
        (["192.0.2.1", "192.0.2.2"], ["192.0.2.1"]),
    ],
)
def test_disagreeing_worker_lists(ip_list: list[str], workers: list[str]) -> None:
    error = rejected({**DELEGATED, "ipList": ip_list, "opWorkerIpAddresses": workers})
    assert (error.id, error.details["key"]) == ("badData", "ipList")


def test_ones3_needs_both_keys() -> None:
    assert error_of({**DELEGATED, "oneS3IpAddresses": ["192.0.2.9"]}) == (
        "missingRequiredValue",
        {"key": "oneS3Port"},
    )
    assert error_of({**DELEGATED, "oneS3Port": 9000}) == ("missingRequiredValue", {"key": "oneS3IpAddresses"})
    both = validate(RegisterProviderRequest, {**DELEGATED, "oneS3Port": 9000, "oneS3IpAddresses": []})
    assert (both.oneS3IpAddresses, both.oneS3Port) == ([], 9000)


# ---- order --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # missing keys before any bad value, however bad
        ({"name": 5, "latitude": "x", "token": ""}, ("missingRequiredValue", {"key": "adminEmail"})),
        ({**OWN_DOMAIN, "name": 5, "domain": None}, ("missingRequiredValue", {"key": "domain"})),
        (
            {**DELEGATED, "subdomain": "a.b", "opWorkerIpAddresses": None},
            ("missingRequiredValue", {"key": "opWorkerIpAddresses"}),
        ),
        # bad values of required keys, in sorted key order
        ({**OWN_DOMAIN, "adminEmail": "x", "name": "x"}, ("badValueEmail", {})),
        ({**OWN_DOMAIN, "name": 5, "token": ""}, ("badValueString", {"key": "name"})),
        ({**DELEGATED, "subdomain": "a.b", "token": 5}, ("badValueSubdomain", {})),
        (
            {**DELEGATED, "opWorkerIpAddresses": ["x"], "subdomain": "a.b"},
            ("badValueListOfIPv4Addresses", {"key": "opWorkerIpAddresses"}),
        ),
        # then optional keys, latitude and longitude before the ports
        ({**OWN_DOMAIN, "token": "", "latitude": 100}, ("badValueEmpty", {"key": "token"})),
        (
            {**OWN_DOMAIN, "latitude": 100, "longitude": 200},
            ("badValueNotInRange", {"key": "latitude", "low": -90.0, "high": 90.0}),
        ),
        (
            {**OWN_DOMAIN, "longitude": 200, "opWorkerPort": 0},
            ("badValueNotInRange", {"key": "longitude", "low": -180.0, "high": 180.0}),
        ),
        (
            {**OWN_DOMAIN, "oneS3Port": 0, "opWorkerPort": "x"},
            ("badValueNotInRange", {"key": "oneS3Port", "low": 1, "high": 65535}),
        ),
        # cross-key rules last
        (
            {**DELEGATED, "ipList": [], "latitude": 100},
            ("badValueNotInRange", {"key": "latitude", "low": -90.0, "high": 90.0}),
        ),
        ({**OWN_DOMAIN, "oneS3Port": 9000, "latitude": "x"}, ("badValueFloat", {"key": "latitude"})),
    ],
)
def test_first_error_in_onezone_order(data: dict[str, Any], expected: tuple[str, dict[str, Any]]) -> None:
    assert error_of(data) == expected


def test_error_bodies_render_as_onezone_does() -> None:
    assert rejected({**OWN_DOMAIN, "name": 5}).body() == {
        "id": "badValueString",
        "description": 'Bad value: provided "name" must be a string.',
        "details": {"key": "name"},
    }
    assert rejected({**OWN_DOMAIN, "name": "P"}).body() == {
        "id": "badValueName",
        "description": CATALOGUE["badValueName"][1],
    }


def test_parse_combines_both_steps() -> None:
    request = validation.parse(RegisterProviderRequest, json.dumps(OWN_DOMAIN).encode())
    assert request.domain == "my-provider.example.com"
    with pytest.raises(OnedataError) as raised:
        validation.parse(RegisterProviderRequest, b"[]")
    assert raised.value.id == "malformedData"


# ---- the same defect class elsewhere ----------------------------------------------------------


@pytest.mark.parametrize("username", ["alice\n", "al\nice", "a"])
def test_usernames_with_newlines_are_rejected(username: str) -> None:
    """Regression: `match` with `$` accepted "alice\\n" as a username."""
    assert error_of({"username": username, "password": "password1"}, CreateUserRequest) == ("badValueUsername", {})


def test_plain_username_is_accepted() -> None:
    assert validate(CreateUserRequest, {"username": "alice", "password": "password1"}).username == "alice"
