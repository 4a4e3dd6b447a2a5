"""Request bodies: JSON parsing, Onedata-typed fields, and pydantic errors as Onedata errors.

Every field type below raises `PydanticCustomError` whose *type is the Onedata error id* and
whose context is the error's details, so translating a `ValidationError` is a lookup, done in one
place (`validate`). Onezone reports one error per request: missing required keys first (in sorted
key order), then bad values of required keys, then bad values of optional keys; `validate`
reproduces that order.

Leniency beyond Onezone, documented in the README: booleans may be sent as the strings
"true"/"false", numbers as numeric strings (the seed's own curl example does both), and a trailing
comma before a closing brace or bracket is tolerated (the seed's curl example has one).
"""

import ipaddress
import json
import math
import re
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chalicelib.errors import CATALOGUE, OnedataError
from chalicelib.model_base import Model

MAX_BODY_BYTES = 2 * 1024 * 1024  # a 1 MiB token must still reach `tokenTooLarge`
_MAX_TRAILING_COMMAS = 16


def invalid(error_id: str, **details: Any) -> PydanticCustomError:
    """The exception a field validator raises: its type is the Onedata error id."""
    return PydanticCustomError(error_id, error_id, details)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    """`json.loads` that tolerates trailing commas and rejects NaN/Infinity.

    A trailing comma is only removed where the decoder itself stopped at a closing `}`/`]` right
    after a comma, i.e. in structural position, never inside a string.
    """
    for _ in range(_MAX_TRAILING_COMMAS):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            before = text[: error.pos].rstrip()
            if error.pos < len(text) and text[error.pos] in "}]" and before.endswith(","):
                comma = len(before) - 1
                text = text[:comma] + " " + text[comma + 1 :]
                continue
            raise
    return json.loads(text, parse_constant=_reject_constant)


def parse_json_object(raw: bytes | None) -> dict[str, Any]:
    """The request body as a JSON object, or `malformedData`/`badMessage` (never a 500)."""
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise OnedataError("badMessage", message=f"request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data = _loads((raw or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise OnedataError("malformedData") from None
    if not isinstance(data, dict):
        raise OnedataError("malformedData")
    return data


# ---- field types --------------------------------------------------------------------------


def require_string(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str):
        raise invalid("badValueString", key=info.field_name)
    return value


def _non_empty_string(value: Any, info: ValidationInfo) -> str:
    if require_string(value, info) == "":
        raise invalid("badValueEmpty", key=info.field_name)
    return value


def as_boolean(value: Any) -> bool | None:
    """`value` as a `Boolean` field reads it (a JSON boolean, or "true"/"false" in any case),
    None if it is neither. Rules that depend on a boolean key before the body is validated (which
    keys `subdomainDelegation` makes required) must read it exactly as the field does, or a value
    the field accepts could skip the requirements it implies."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _boolean(value: Any, info: ValidationInfo) -> bool:
    result = as_boolean(value)
    if result is None:
        raise invalid("badValueBoolean", key=info.field_name)
    return result


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):  # OverflowError: an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _float(value: Any, info: ValidationInfo) -> float:
    number = _number(value)
    if number is None:
        raise invalid("badValueFloat", key=info.field_name)
    return number


def _integer(value: Any, info: ValidationInfo) -> int:
    number = _number(value)
    if number is None or not number.is_integer() or (isinstance(value, float) and not value.is_integer()):
        raise invalid("badValueInteger", key=info.field_name)
    return int(number)


MAX_TTL = 2**31 - 1  # Route 53's upper bound for a record's TTL, in seconds
MAX_TXT_STRING = 255  # one DNS character-string
_PRINTABLE_ASCII = re.compile(r"[ -~]+")


def _ttl(value: Any, info: ValidationInfo) -> int:
    ttl = _integer(value, info)
    if ttl < 0:
        raise invalid("badValueTooLow", key=info.field_name, limit=0)
    if ttl > MAX_TTL:
        raise invalid("badValueTooHigh", key=info.field_name, limit=MAX_TTL)
    return ttl


def _txt_string(value: Any, info: ValidationInfo) -> str:
    """One DNS character-string of printable ASCII: what Route 53 serves back exactly as it was
    written (other bytes it would hold as `\\ddd` escapes, which no ACME value needs)."""
    text = _non_empty_string(value, info)
    if len(text) > MAX_TXT_STRING:
        raise invalid("badValueTextTooLarge", key=info.field_name, limit=MAX_TXT_STRING)
    if not _PRINTABLE_ASCII.fullmatch(text):
        raise invalid("badData", key=info.field_name, hint="printable ASCII characters only")
    return text


def in_range(low: float, high: float) -> BeforeValidator:
    """Checks a value already converted by the preceding validator of the same field."""

    def check(value: float, info: ValidationInfo) -> float:
        if not low <= value <= high:
            raise invalid("badValueNotInRange", key=info.field_name, low=low, high=high)
        return value

    return BeforeValidator(check)


# The most addresses one list (a provider's workers, its OneS3 endpoints) may name: each becomes a
# value of one Route 53 record set, written in one change batch with the provider's other records
# (README "Decisions where Onezone's reference is silent").
MAX_IPV4_ADDRESSES = 100


def _ipv4_list(value: Any, info: ValidationInfo) -> list[str]:
    """A list of dotted-quad IPv4 addresses, normalised and de-duplicated (Route 53 rejects a
    record set that lists the same value twice), of at most `MAX_IPV4_ADDRESSES`."""
    if not isinstance(value, list):
        raise invalid("badValueListOfIPv4Addresses", key=info.field_name)
    addresses: dict[str, None] = {}  # ordered, and a linear pass however long the list
    for item in value:
        try:
            address = str(ipaddress.IPv4Address(item)) if isinstance(item, str) else None
        except ValueError:
            address = None
        if address is None:
            raise invalid("badValueListOfIPv4Addresses", key=info.field_name)
        addresses[address] = None
    if len(addresses) > MAX_IPV4_ADDRESSES:
        raise invalid("badData", key=info.field_name, hint=f"at most {MAX_IPV4_ADDRESSES} addresses")
    return list(addresses)


def _ipv4_address(value: Any, info: ValidationInfo) -> str:
    try:
        return str(ipaddress.IPv4Address(require_string(value, info)))
    except ValueError:
        raise invalid("badValueIPv4Address", key=info.field_name) from None


# Always applied with `fullmatch`: with `match`, `$` also accepts a trailing newline ("name\n").
_NAME = re.compile(r"^[)(\w][)(\w .-]{0,126}[)(\w]$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_EMAIL_BYTES = 254
MAX_DOMAIN_BYTES = 253


def _name(value: Any, info: ValidationInfo) -> str:
    if not _NAME.fullmatch(require_string(value, info)):
        raise invalid("badValueName")
    return value


def _email(value: Any, info: ValidationInfo) -> str:
    email = _non_empty_string(value, info).strip()
    # The ASCII-only pattern first: it also keeps lone surrogates away from `encode`.
    if not _EMAIL.fullmatch(email) or len(email.encode()) > MAX_EMAIL_BYTES:
        raise invalid("badValueEmail")
    return email


def is_domain(name: str) -> bool:
    """A lowercase FQDN of at least two labels, or an IPv4/IPv6 address; no scheme, no port."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    labels = name.split(".")
    return len(name) <= MAX_DOMAIN_BYTES and len(labels) >= 2 and all(LABEL.fullmatch(label) for label in labels)


def _domain(value: Any, info: ValidationInfo) -> str:
    domain = _non_empty_string(value, info).strip().lower().rstrip(".")
    if not is_domain(domain):
        raise invalid("badValueDomain")
    return domain


def _subdomain(value: Any, info: ValidationInfo) -> str:
    subdomain = _non_empty_string(value, info).strip().lower()
    if not LABEL.fullmatch(subdomain):
        raise invalid("badValueSubdomain")
    return subdomain


_NUMERIC_STRING = {"type": "string", "pattern": r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"}


def _number_schema(kind: str, low: float, high: float) -> WithJsonSchema:
    """Numbers, or numeric strings (the seed's curl example sends coordinates as strings)."""
    return WithJsonSchema({"anyOf": [{"type": kind, "minimum": low, "maximum": high}, _NUMERIC_STRING]})


String = Annotated[str, BeforeValidator(require_string)]
NonEmptyString = Annotated[str, BeforeValidator(_non_empty_string), WithJsonSchema({"type": "string", "minLength": 1})]
Boolean = Annotated[
    bool,
    BeforeValidator(_boolean),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}),
]
Latitude = Annotated[float, in_range(-90.0, 90.0), BeforeValidator(_float), _number_schema("number", -90, 90)]
Longitude = Annotated[float, in_range(-180.0, 180.0), BeforeValidator(_float), _number_schema("number", -180, 180)]
Port = Annotated[int, in_range(1, 65535), BeforeValidator(_integer), _number_schema("integer", 1, 65535)]
Ttl = Annotated[int, BeforeValidator(_ttl), _number_schema("integer", 0, MAX_TTL)]
TxtString = Annotated[
    str,
    BeforeValidator(_txt_string),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TXT_STRING, "pattern": "^[ -~]+$"}),
]
IPv4Address = Annotated[str, BeforeValidator(_ipv4_address), WithJsonSchema({"type": "string", "format": "ipv4"})]
IPv4List = Annotated[
    list[str],
    BeforeValidator(_ipv4_list),
    WithJsonSchema({"type": "array", "items": {"type": "string", "format": "ipv4"}, "maxItems": MAX_IPV4_ADDRESSES}),
]
Name = Annotated[
    str,
    BeforeValidator(_name),
    WithJsonSchema({"type": "string", "minLength": 2, "maxLength": 128, "pattern": _NAME.pattern}),
]
Email = Annotated[
    str,
    BeforeValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_BYTES}),
]
Domain = Annotated[
    str,
    BeforeValidator(_domain),
    WithJsonSchema({"type": "string", "description": "A fully qualified domain name or an IP address."}),
]
Subdomain = Annotated[
    str,
    BeforeValidator(_subdomain),
    WithJsonSchema({"type": "string", "pattern": LABEL.pattern, "description": "One DNS label."}),
]


# ---- models and error translation ---------------------------------------------------------


class RequestModel(Model):
    """Base of every request body: unknown keys are dropped, as Onezone does.

    `REQUIRED` lists keys that must be present; subclasses with conditional requirements
    override `required_keys`. Missing keys are reported before any value is looked at.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def required_keys(cls, data: dict[str, Any]) -> set[str]:
        return set(cls.REQUIRED)

    @model_validator(mode="before")
    @classmethod
    def _required_present(cls, data: Any) -> Any:
        missing = sorted(key for key in cls.required_keys(data) if data.get(key) is None)
        if missing:
            raise invalid("missingRequiredValue", key=missing[0])
        return data


Model = TypeVar("Model", bound=RequestModel)


def _translate(error: ValidationError, model: type[RequestModel], data: dict[str, Any]) -> OnedataError:
    required = model.required_keys(data)

    def rank(item: Any) -> tuple[int, str]:
        key = str(item["loc"][0]) if item["loc"] else ""
        return (0 if key in required else 1, key)

    first = min(error.errors(include_url=False), key=rank)
    if first["type"] in CATALOGUE:
        return OnedataError(first["type"], **first.get("ctx", {}))
    key = str(first["loc"][0]) if first["loc"] else "body"
    return OnedataError("badData", key=key)


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """`data` as `model`, or the first `OnedataError` in Onezone's order of checks."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _translate(error, model, data) from None


def parse(model: type[Model], raw: bytes | None) -> Model:
    return validate(model, parse_json_object(raw))
