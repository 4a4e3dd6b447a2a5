"""Property tests of the validation rules (module level, hypothesis).

For any input, validation either accepts a value (normalised) or raises the Onedata error its
rule names - and never anything else (no pydantic, type or overflow error escapes).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import OnedataError
from chalicelib.models import RegisterProviderRequest
from chalicelib.validation import parse_json_object, validate

BASE = {"token": "t", "name": "My provider", "adminEmail": "ops@example.com", "subdomainDelegation": False}
BASE_DOMAIN = {**BASE, "domain": "p.example.com"}
DELEGATED = {**BASE, "subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.1"]}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)
FIELDS = sorted(RegisterProviderRequest.model_fields)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


def outcome(data: dict[str, Any]) -> RegisterProviderRequest | OnedataError:
    try:
        return validate(RegisterProviderRequest, data)
    except OnedataError as error:
        return error


@SETTINGS
@given(field=st.sampled_from(FIELDS), value=json_values, delegated=st.booleans())
def test_any_json_value_in_any_field_is_accepted_or_a_onedata_error(field: str, value: Any, delegated: bool) -> None:
    result = outcome({**(DELEGATED if delegated else BASE_DOMAIN), field: value})
    assert isinstance(result, (RegisterProviderRequest, OnedataError))
    if isinstance(result, OnedataError):
        assert result.status == 400
        json.dumps(result.body())  # always renderable


@SETTINGS
@given(key=st.sampled_from(["latitude", "longitude"]), value=st.floats(allow_nan=False, allow_infinity=False))
def test_coordinates_in_range_or_not_in_range(key: str, value: float) -> None:
    limit = 90.0 if key == "latitude" else 180.0
    result = outcome({**BASE_DOMAIN, key: value})
    if -limit <= value <= limit:
        assert getattr(result, key) == value
    else:
        assert isinstance(result, OnedataError)
        assert (result.id, result.details) == ("badValueNotInRange", {"key": key, "low": -limit, "high": limit})


@SETTINGS
@given(value=st.floats(min_value=-90, max_value=90, allow_nan=False))
def test_numeric_strings_are_numbers(value: float) -> None:
    assert outcome({**BASE_DOMAIN, "latitude": repr(value)}).latitude == value


@SETTINGS
@given(value=st.text(max_size=12).filter(lambda t: _not_number(t)))
def test_non_numeric_strings_are_bad_floats(value: str) -> None:
    result = outcome({**BASE_DOMAIN, "longitude": value})
    assert isinstance(result, OnedataError)
    assert (result.id, result.details) == ("badValueFloat", {"key": "longitude"})


def _not_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


@SETTINGS
@given(port=st.integers())
def test_ports(port: int) -> None:
    result = outcome({**BASE_DOMAIN, "opWorkerPort": port})
    if 1 <= port <= 65535:
        assert result.opWorkerPort == port
    else:
        assert isinstance(result, OnedataError)
        assert result.id in ("badValueNotInRange", "badValueInteger")


@SETTINGS
@given(addresses=st.lists(st.ip_addresses(v=4).map(str), max_size=6))
def test_ipv4_lists_are_kept_in_order_without_duplicates(addresses: list[str]) -> None:
    result = outcome({**DELEGATED, "opWorkerIpAddresses": addresses})
    assert result.opWorkerIpAddresses == list(dict.fromkeys(addresses))


@SETTINGS
@given(item=st.one_of(st.text(max_size=20), st.ip_addresses(v=6).map(str), st.integers()))
def test_anything_but_ipv4_in_the_list_is_rejected(item: Any) -> None:
    try:
        valid = isinstance(item, str) and str(ipaddress.IPv4Address(item)) is not None
    except ValueError:
        valid = False
    result = outcome({**DELEGATED, "opWorkerIpAddresses": ["192.0.2.1", item]})
    if valid:
        assert isinstance(result, RegisterProviderRequest)
    else:
        assert isinstance(result, OnedataError)
        assert (result.id, result.details) == ("badValueListOfIPv4Addresses", {"key": "opWorkerIpAddresses"})


@SETTINGS
@given(label=st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z"))
def test_dns_labels_are_subdomains(label: str) -> None:
    assert outcome({**DELEGATED, "subdomain": label.upper()}).subdomain == label


@SETTINGS
@given(text=st.text(max_size=70) | st.from_regex(r"\A[a-z0-9-]{1,70}\Z"))
def test_subdomain_iff_one_dns_label(text: str) -> None:
    label = text.strip().lower()
    is_label = re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", label, flags=re.ASCII) is not None
    result = outcome({**DELEGATED, "subdomain": text})
    if is_label:
        assert result.subdomain == label
    else:
        assert isinstance(result, OnedataError)
        assert result.id == ("badValueEmpty" if text == "" else "badValueSubdomain")


@SETTINGS
@given(labels=st.lists(st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z"), min_size=2, max_size=5))
def test_domains(labels: list[str]) -> None:
    domain = ".".join(labels)
    assert outcome({**BASE, "domain": domain.upper()}).domain == domain


@SETTINGS
@given(text=st.text(max_size=40).filter(lambda t: "@" not in t))
def test_emails_need_an_at(text: str) -> None:
    result = outcome({**BASE_DOMAIN, "adminEmail": text})
    assert isinstance(result, OnedataError)
    assert result.id in ("badValueEmail", "badValueEmpty")


@SETTINGS
@given(name=st.text(min_size=0, max_size=140))
def test_names_follow_onezones_rule(name: str) -> None:
    result = outcome({**BASE_DOMAIN, "name": name})
    inner_ok = all(ch.isalnum() or ch in "()_ .-" for ch in name[1:-1])
    ends_ok = len(name) >= 2 and all(ch.isalnum() or ch in "()_" for ch in (name[0], name[-1]))
    if 2 <= len(name) <= 128 and inner_ok and ends_ok:
        assert isinstance(result, RegisterProviderRequest), name
    else:
        assert isinstance(result, OnedataError)
        assert result.id == "badValueName"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_is_an_object_or_a_onedata_error(raw: bytes) -> None:
    try:
        parsed: object = parse_json_object(raw)
    except OnedataError as error:
        parsed = error.id
    assert isinstance(parsed, dict) or parsed in ("malformedData", "badMessage")
