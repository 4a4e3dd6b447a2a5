"""DynamoDB's attribute values (`{"S": "x"}`, `{"N": "1.5"}`, ...) to and from plain Python.

boto3 has this (`boto3.dynamodb.types`), but importing it imports boto3 itself, its session
layer and `s3transfer`: about a third of a cold start, for two small functions. The records
here hold strings, numbers, booleans, nulls, lists and maps; numbers come back as `int` when
integral and `float` otherwise, sets (which the registry never writes) as sorted lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

AttributeValue = dict[str, Any]

# DynamoDB numbers: 38 significant digits, magnitudes from 1E-130 to 9.9E+125. Anything it
# could not store exactly fails here, before a request is sent.
NUMBERS = Context(prec=38, Emin=-128, Emax=126, traps=[Inexact, Overflow, Rounded, Underflow])
SMALLEST_MAGNITUDE = 1e-130


def to_attribute(value: Any) -> AttributeValue:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError("DynamoDB has no NaN or infinity")
        # Below DynamoDB's smallest magnitude ("Number underflow"), a float such as a latitude
        # of 1e-200 is stored as the 0 it is for every purpose here.
        value = Decimal(repr(value)) if abs(value) >= SMALLEST_MAGNITUDE else Decimal(0)
    return str(NUMBERS.create_decimal(value))


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _from_number(value)
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(value)
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_from_number(v) for v in value)
    if kind == "BS":
        return sorted(bytes(v) for v in value)
    raise TypeError(f"unknown DynamoDB type {kind}")


def _from_number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)
