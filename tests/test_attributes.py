"""DynamoDB attribute values, checked against boto3's own serializer (`boto3.dynamodb.types`),
which the app no longer imports (it costs a cold start a third of its time) but which is the
reference for what DynamoDB expects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.store.attributes import from_attribute, to_attribute

VALUES = [
    "krakow",
    "",
    "zażółć ☃",
    0,
    -7,
    2**31 - 1,
    1795408235367,
    10**37,
    50.0647,
    -19.945,
    0.1,
    1e-05,
    True,
    False,
    None,
    [],
    ["a", 1, None, [True]],
    {},
    {"nested": {"list": [1.25, "x"], "flag": False}},
]


def reference(value: Any) -> dict[str, Any]:
    """boto3's serialization, given numbers the way boto3 wants them (Decimal)."""

    def decimals(v: Any) -> Any:
        if isinstance(v, float):
            return Decimal(repr(v))
        if isinstance(v, dict):
            return {k: decimals(x) for k, x in v.items()}
        if isinstance(v, list):
            return [decimals(x) for x in v]
        return v

    return TypeSerializer().serialize(decimals(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_serialize_as_boto3_does_and_come_back_the_same(value: Any) -> None:
    attribute = to_attribute(value)
    assert attribute == reference(value)
    assert from_attribute(attribute) == value
    assert type(from_attribute(attribute)) is type(value)


def test_numbers_come_back_as_int_when_integral_and_float_otherwise() -> None:
    assert to_attribute(1.5e100) == reference(1.5e100)
    assert from_attribute(to_attribute(1.5e100)) == 15 * 10**99
    assert from_attribute({"N": "42"}) == 42
    assert isinstance(from_attribute({"N": "42"}), int)
    assert from_attribute({"N": "4.2E+1"}) == 42
    assert from_attribute({"N": "0.5"}) == 0.5


def test_magnitudes_below_dynamodbs_smallest_are_stored_as_zero() -> None:
    assert to_attribute(1e-200) == {"N": "0"}
    assert to_attribute(-5e-324) == {"N": "0"}
    assert to_attribute(1e-130) == reference(1e-130)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 10**38 + 1, 1e200, {1, 2}, object()],
    ids=["nan", "inf", "above-dynamodb-range", "1e200", "set-of-numbers", "object"],
)
def test_what_dynamodb_cannot_store_fails_before_a_request(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)):
        to_attribute(value)


@pytest.mark.parametrize(
    "attribute",
    [{"SS": ["b", "a"]}, {"NS": ["2", "1.5"]}, {"BS": [b"\x02", b"\x01"]}, {"B": b"\x00\xff"}],
    ids=repr,
)
def test_sets_and_binaries_read_as_boto3_reads_them(attribute: dict[str, Any]) -> None:
    expected = TypeDeserializer().deserialize(attribute)
    if isinstance(expected, set):
        expected = sorted(float(v) if isinstance(v, Decimal) else getattr(v, "value", v) for v in expected)
    else:
        expected = expected.value
    assert from_attribute(attribute) == expected
