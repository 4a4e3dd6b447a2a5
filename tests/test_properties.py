"""Property tests of the validation rules (module level, hypothesis).

For any input, validation either accepts a value (normalised) or raises the Onedata error its
rule names, with that error's details - and never anything else (no pydantic, type or overflow
error escapes, whatever JSON arrives in whatever field of whatever request body).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import CATALOGUE, OnedataError
from chalicelib.models import (
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    CreateUserRequest,
    ExamineTokenRequest,
    RegisterProviderRequest,
    UpdateDomainConfigRequest,
    UpdatePrivilegesRequest,
    UpdateProviderRequest,
    UpdateTokenRequest,
)
from chalicelib.validation import RequestModel, parse_json_object, validate

BASE = {"token": "t", "name": "My provider", "adminEmail": "ops@example.com", "subdomainDelegation": False}
BASE_DOMAIN = {**BASE, "domain": "p.example.com"}
DELEGATED = {**BASE, "subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.1"]}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)  # beyond any float
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)
# Anything a number field reads as no number (JSON null is an absent optional key instead).
not_numbers = st.booleans() | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.integers())
FIELDS = sorted(RegisterProviderRequest.model_fields)
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)
REQUEST_MODELS: list[type[RequestModel]] = [
    RegisterProviderRequest,
    UpdateDomainConfigRequest,
    UpdateProviderRequest,
    CreateUserRequest,
    UpdatePrivilegesRequest,
    CreateNamedTokenRequest,
    CreateTemporaryTokenRequest,
    UpdateTokenRequest,
    ExamineTokenRequest,
]


def outcome(data: dict[str, Any], model: type[RequestModel] = RegisterProviderRequest) -> Any:
    """The validated body, or the Onedata error - any other exception fails the property."""
    try:
        return validate(model, data)
    except OnedataError as error:
        return error


def rejected(result: Any, error_id: str, **details: Any) -> None:
    assert isinstance(result, OnedataError), result
    assert result.id == error_id, result
    if details:
        assert result.details == details


# ---- whatever arrives -----------------------------------------------------------------------


@SETTINGS
@given(field=st.sampled_from(FIELDS), value=json_values, delegated=st.booleans())
def test_any_json_value_in_any_field_is_accepted_or_a_onedata_error(field: str, value: Any, delegated: bool) -> None:
    result = outcome({**(DELEGATED if delegated else BASE_DOMAIN), field: value})
    assert isinstance(result, (RegisterProviderRequest, OnedataError))
    if isinstance(result, OnedataError):
        assert result.status == 400
        assert result.id in CATALOGUE
        json.dumps(result.body())  # always renderable


@settings(max_examples=400, deadline=None, derandomize=True)
@given(model=st.sampled_from(REQUEST_MODELS), draw=st.data())
def test_any_json_object_is_a_body_or_a_onedata_error(model: type[RequestModel], draw: st.DataObject) -> None:
    keys = st.sampled_from(sorted(model.model_fields)) | st.text(max_size=4)
    result = outcome(draw.draw(st.dictionaries(keys, json_values, max_size=8)), model)
    assert isinstance(result, (model, OnedataError))
    if isinstance(result, OnedataError):
        assert result.status == 400
        json.dumps(result.body())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_is_an_object_or_a_onedata_error(raw: bytes) -> None:
    try:
        parsed: object = parse_json_object(raw)
    except OnedataError as error:
        parsed = error.id
    assert isinstance(parsed, dict) or parsed in ("malformedData", "badMessage")


@SETTINGS
@given(data=st.dictionaries(st.text(max_size=8), json_values, max_size=6), trailing_comma=st.booleans())
def test_json_objects_are_read_as_sent(data: dict[str, Any], trailing_comma: bool) -> None:
    text = json.dumps(data)
    if trailing_comma and data:
        text = text[:-1] + ",}"  # the seed's curl example has one
    assert parse_json_object(text.encode()) == data


@SETTINGS
@given(value=json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_other_than_an_object_is_malformed(value: Any) -> None:
    with pytest.raises(OnedataError) as raised:
        parse_json_object(json.dumps(value).encode())
    assert raised.value.id == "malformedData"


# ---- coordinates ------------------------------------------------------------------------------


@SETTINGS
@given(key=st.sampled_from(["latitude", "longitude"]), value=st.floats(allow_nan=False, allow_infinity=False))
def test_coordinates_in_range_or_not_in_range(key: str, value: float) -> None:
    limit = 90.0 if key == "latitude" else 180.0
    result = outcome({**BASE_DOMAIN, key: value})
    if -limit <= value <= limit:
        assert getattr(result, key) == value
    else:
        rejected(result, "badValueNotInRange", key=key, low=-limit, high=limit)


@SETTINGS
@given(key=st.sampled_from(["latitude", "longitude"]), value=st.floats(allow_nan=False, allow_infinity=False))
def test_numeric_strings_are_numbers(key: str, value: float) -> None:
    limit = 90.0 if key == "latitude" else 180.0
    result = outcome({**BASE_DOMAIN, key: f" {value!r} "})
    if -limit <= value <= limit:
        assert getattr(result, key) == value
    else:
        rejected(result, "badValueNotInRange", key=key, low=-limit, high=limit)


def _not_a_finite_number(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return True


@SETTINGS
@given(
    key=st.sampled_from(["latitude", "longitude"]),
    value=st.text(max_size=12).filter(_not_a_finite_number)
    | st.sampled_from(["NaN", "inf", "-Infinity", "1e999"])
    | not_numbers,
)
def test_anything_but_a_finite_number_is_a_bad_float(key: str, value: Any) -> None:
    rejected(outcome({**BASE_DOMAIN, key: value}), "badValueFloat", key=key)


# ---- ports ------------------------------------------------------------------------------------


@SETTINGS
@given(
    key=st.sampled_from(["opWorkerPort", "oneS3Port"]),
    port=st.integers() | st.integers(min_value=-3, max_value=70000).map(str),
)
def test_ports(key: str, port: int | str) -> None:
    extra = {"oneS3IpAddresses": ["192.0.2.9"]} if key == "oneS3Port" else {}
    result = outcome({**BASE_DOMAIN, **extra, key: port})
    number = int(port)
    if 1 <= number <= 65535:
        assert getattr(result, key) == number
    elif _beyond_floats(number):  # not a number at all
        rejected(result, "badValueInteger", key=key)
    else:
        rejected(result, "badValueNotInRange", key=key, low=1, high=65535)


def _beyond_floats(number: int) -> bool:
    try:
        float(number)
    except OverflowError:
        return True
    return False


@SETTINGS
@given(port=st.floats(min_value=1, max_value=65535).filter(lambda f: not f.is_integer()) | not_numbers)
def test_fractions_and_non_numbers_are_not_ports(port: Any) -> None:
    rejected(outcome({**BASE_DOMAIN, "opWorkerPort": port}), "badValueInteger", key="opWorkerPort")


# ---- IPv4 lists -------------------------------------------------------------------------------


@SETTINGS
@given(
    key=st.sampled_from(["opWorkerIpAddresses", "ipList"]),
    addresses=st.lists(st.ip_addresses(v=4).map(str), max_size=6).flatmap(
        lambda ips: st.lists(st.sampled_from(ips), max_size=8) if ips else st.just([])
    ),
)
def test_ipv4_lists_are_kept_in_order_without_duplicates(key: str, addresses: list[str]) -> None:
    body = {**DELEGATED, key: addresses}
    if key == "ipList":
        del body["opWorkerIpAddresses"]
    result = outcome(body)
    assert getattr(result, key) == list(dict.fromkeys(addresses))
    assert result.worker_ips == list(dict.fromkeys(addresses))


def _is_ipv4(item: Any) -> bool:
    try:
        return isinstance(item, str) and str(ipaddress.IPv4Address(item)) == item
    except ValueError:
        return False


@SETTINGS
@given(
    item=st.text(max_size=20)
    | st.from_regex(r"\A\d{1,4}(\.\d{1,4}){2,4}\Z")
    | st.ip_addresses(v=6).map(str)
    | st.ip_addresses(v=4).map(lambda ip: f" {ip}")
    | json_values
)
def test_anything_but_dotted_quads_in_the_list_is_rejected(item: Any) -> None:
    result = outcome({**DELEGATED, "opWorkerIpAddresses": ["192.0.2.1", item]})
    if _is_ipv4(item):
        assert isinstance(result, RegisterProviderRequest)
    else:
        rejected(result, "badValueListOfIPv4Addresses", key="opWorkerIpAddresses")


@SETTINGS
@given(
    key=st.sampled_from(["opWorkerIpAddresses", "oneS3IpAddresses"]), value=json_values.filter(lambda v: v is not None)
)
def test_ipv4_lists_must_be_lists(key: str, value: Any) -> None:
    extra = {"oneS3Port": 9000} if key == "oneS3IpAddresses" else {}
    result = outcome({**DELEGATED, **extra, key: value})
    if isinstance(value, list) and all(_is_ipv4(item) for item in value):
        assert getattr(result, key) == list(dict.fromkeys(value))
    else:
        rejected(result, "badValueListOfIPv4Addresses", key=key)


# ---- subdomains and domains -------------------------------------------------------------------


@SETTINGS
@given(label=st.from_regex(rf"\A{LABEL}\Z"), padding=st.sampled_from(["", " ", "\t"]))
def test_dns_labels_are_subdomains(label: str, padding: str) -> None:
    assert outcome({**DELEGATED, "subdomain": padding + label.upper() + padding}).subdomain == label


@SETTINGS
@given(text=st.text(max_size=70) | st.from_regex(r"\A[a-zA-Z0-9.-]{1,70}\Z"))
def test_subdomain_iff_one_dns_label(text: str) -> None:
    label = text.strip().lower()
    result = outcome({**DELEGATED, "subdomain": text})
    if re.fullmatch(LABEL, label, flags=re.ASCII):
        assert result.subdomain == label
    else:
        rejected(result, "badValueEmpty" if text == "" else "badValueSubdomain")


@SETTINGS
@given(value=json_values.filter(lambda v: v is not None and not isinstance(v, str)))
def test_subdomains_and_domains_are_strings(value: Any) -> None:
    rejected(outcome({**DELEGATED, "subdomain": value}), "badValueString", key="subdomain")
    rejected(outcome({**BASE, "domain": value}), "badValueString", key="domain")


@SETTINGS
@given(
    labels=st.lists(st.from_regex(rf"\A{LABEL}\Z"), min_size=2, max_size=5),
    trailing_dot=st.booleans(),
)
def test_domains(labels: list[str], trailing_dot: bool) -> None:
    domain = ".".join(labels)
    result = outcome({**BASE, "domain": domain.upper() + ("." if trailing_dot else "")})
    if len(domain) <= 253:
        assert result.domain == domain
    else:
        rejected(result, "badValueDomain")


@SETTINGS
@given(address=st.ip_addresses().map(str))
def test_ip_addresses_are_domains(address: str) -> None:
    assert outcome({**BASE, "domain": address}).domain == address


@SETTINGS
@given(
    domain=st.lists(st.from_regex(rf"\A{LABEL}\Z"), min_size=2, max_size=4).map(".".join),
    spoiler=st.sampled_from(["http://", ":8443", "/path", "_", "a b", "*.", "..", "-", "a" * 64 + "."]),
    where=st.sampled_from(["start", "end"]),
)
def test_urls_ports_and_bad_labels_are_not_domains(domain: str, spoiler: str, where: str) -> None:
    value = spoiler + domain if where == "start" else domain + spoiler
    if value.strip().rstrip(".") == domain:
        return  # the spoiler was only whitespace or a trailing dot: still the domain
    rejected(outcome({**BASE, "domain": value}), "badValueDomain")


@SETTINGS
@given(label=st.from_regex(rf"\A{LABEL}\Z").filter(lambda label: not _is_ip(label)))
def test_a_single_label_is_not_a_domain(label: str) -> None:
    rejected(outcome({**BASE, "domain": label}), "badValueDomain")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# ---- emails and names -------------------------------------------------------------------------


@SETTINGS
@given(
    local=st.from_regex(r"\A[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}\Z"),
    domain=st.lists(st.from_regex(rf"\A{LABEL}\Z"), min_size=2, max_size=4).map(".".join),
)
def test_emails(local: str, domain: str) -> None:
    email = f"{local}@{domain}"
    result = outcome({**BASE_DOMAIN, "adminEmail": f"  {email} "})
    if len(email) <= 254:
        assert result.adminEmail == email
    else:
        rejected(result, "badValueEmail")


@SETTINGS
@given(text=st.text(max_size=40).filter(lambda t: t.count("@") != 1) | st.from_regex(r"\A[a-z]+@[a-z]+\Z"))
def test_emails_need_one_at_and_a_dotted_domain(text: str) -> None:
    rejected(outcome({**BASE_DOMAIN, "adminEmail": text}), "badValueEmpty" if text == "" else "badValueEmail")


@SETTINGS
@given(name=st.text(min_size=0, max_size=140))
def test_names_follow_onezones_rule(name: str) -> None:
    result = outcome({**BASE_DOMAIN, "name": name})
    inner_ok = all(ch.isalnum() or ch in "()_ .-" for ch in name[1:-1])
    ends_ok = len(name) >= 2 and all(ch.isalnum() or ch in "()_" for ch in (name[0], name[-1]))
    if 2 <= len(name) <= 128 and inner_ok and ends_ok:
        assert isinstance(result, RegisterProviderRequest), name
        assert result.name == name
    else:
        rejected(result, "badValueName")
