"""Onedata's caveats in both their forms, and what each one demands of a request.

Inside a macaroon a caveat is a string (`time < 8374891234`, `ip = 10.0.0.0/8|1.2.3.4/32`); in
the REST API it is JSON (`{"type": "time", "validUntil": 8374891234}`). `parse`/`serialize` and
`from_json`/`to_json` convert between them as ctool's `caveats` module does, so a canonical form
round-trips exactly. `from_json` also applies Onezone's sanitization (country codes of two
characters, known regions, absolute data paths...), because it guards what a client may ask to
be put into a token; `parse` only has to understand what a token already carries.

`Caveat.holds(context)` answers whether a request satisfies it (ctool's `caveats:verify`): the
IP, ASN and geo caveats against the request's peer address, `consumer` against who is consuming
the token, `service`/`interface` against where it is used. An `api` caveat always holds here and
is checked per operation (`allows_operation`). A lookup that fails (no GeoIP database, an
unknown address) makes the caveat fail: a caveat that cannot be checked is not satisfied.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from chalicelib.tokens.codec import NOBODY, Subject
from chalicelib.tokens.gri import Gri, MatchSpec

REGIONS = ("Africa", "Antarctica", "Asia", "Europe", "EU", "NorthAmerica", "Oceania", "SouthAmerica")
INTERFACES = ("rest", "oneclient", "graphsync")
SERVICE_NAMES = {"ozw": "oz_worker", "opw": "op_worker", "ozp": "oz_panel", "opp": "op_panel"}
ONEZONE_SERVICE = "ozw-onezone"  # who verifies tokens on Onezone's REST API
WILDCARD = "*"
_INTEGER = re.compile(r"[+-]?[0-9]+")


class LookupFailed(Exception):
    """The peer's ASN, country or region could not be established."""


class GeoLookup(ABC):
    """Where an IP address is: what the `asn` and `geo.*` caveats are checked against."""

    @abstractmethod
    def asn(self, ip: str) -> int: ...

    @abstractmethod
    def country(self, ip: str) -> str: ...

    @abstractmethod
    def regions(self, ip: str) -> list[str]:
        """The continent (`Europe`...) and, for EU members, `EU` too."""


class NoGeoLookup(GeoLookup):
    """No GeoIP database configured: every lookup fails, so geo caveats fail closed."""

    def asn(self, ip: str) -> int:
        raise LookupFailed("no ASN database is configured")

    def country(self, ip: str) -> str:
        raise LookupFailed("no GeoIP database is configured")

    def regions(self, ip: str) -> list[str]:
        raise LookupFailed("no GeoIP database is configured")


@dataclass(frozen=True)
class Context:
    """What a token is being used for (ctool's `auth_ctx`). `consumer` None means nobody proved
    who is consuming the token; `ip` None means the peer address is unknown."""

    now: int
    ip: str | None = None
    consumer: Subject | None = None
    interface: str | None = None
    service: str = ONEZONE_SERVICE
    allow_data_access: bool = False
    identity_scope: bool = False  # verifying an identity (not authority): `authorization = none` holds
    geo: GeoLookup = field(default_factory=NoGeoLookup)


class Caveat(ABC):
    """One caveat. Subclasses are frozen dataclasses registered by their `TYPE`."""

    TYPE: ClassVar[str]
    PREFIXES: ClassVar[tuple[str, ...]]

    @abstractmethod
    def serialize(self) -> str: ...

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...

    @abstractmethod
    def holds(self, context: Context) -> bool: ...

    @abstractmethod
    def unverified(self) -> str:
        """Why a token failed on this caveat, in Onezone's words."""


def _split(text: str) -> list[str]:
    return text.split("|")


def _listed(items: Iterable[str]) -> str:
    return " or ".join(items)


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def _json_integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value


def _json_strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ValueError("a non-empty list of strings is required")
    return value


def _non_empty(items: list[Any]) -> tuple[Any, ...]:
    if not items:
        raise ValueError("an empty list")
    return tuple(items)


@dataclass(frozen=True)
class Time(Caveat):
    TYPE = "time"
    PREFIXES = ("time < ",)
    valid_until: int

    def serialize(self) -> str:
        return f"time < {self.valid_until}"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "validUntil": self.valid_until}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Time:
        return cls(_integer(rest))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Time:
        return cls(_json_integer(data["validUntil"]))

    def holds(self, context: Context) -> bool:
        return context.now < self.valid_until

    def unverified(self) -> str:
        when = datetime.fromtimestamp(self.valid_until, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"unverified time caveat: this token has expired at '{when}'"


def _mask(text: str) -> tuple[str, int]:
    """ctool's `ip_utils:parse_mask`: `a.b.c.d` (a /32) or `a.b.c.d/len`; host bits may be set
    (`10.1.2.3/8` stays as written)."""
    parts = [part for part in text.split("/") if part]
    if len(parts) not in (1, 2):
        raise ValueError(f"not an IPv4 mask: {text!r}")
    length = _integer(parts[1]) if len(parts) == 2 else 32
    if not 0 <= length <= 32:
        raise ValueError(f"not a mask length: {length}")
    return str(ipaddress.IPv4Address(parts[0])), length


@dataclass(frozen=True)
class Ip(Caveat):
    TYPE = "ip"
    PREFIXES = ("ip = ",)
    whitelist: tuple[tuple[str, int], ...]

    def masks(self) -> list[str]:
        return [f"{address}/{length}" for address, length in self.whitelist]

    def serialize(self) -> str:
        return "ip = " + "|".join(self.masks())

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": self.masks()}

    @classmethod
    def of(cls, masks: list[str]) -> Ip:
        return cls(_non_empty([_mask(mask) for mask in masks]))

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Ip:
        return cls.of(_split(rest))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ip:
        return cls.of(_json_strings(data["whitelist"]))

    def holds(self, context: Context) -> bool:
        if context.ip is None:
            return False
        try:
            peer = ipaddress.IPv4Address(context.ip)
        except ValueError:  # an IPv6 peer matches no IPv4 mask
            return False
        return any(peer in ipaddress.IPv4Network(mask, strict=False) for mask in self.whitelist)

    def unverified(self) -> str:
        return (
            "unverified IP caveat: this token can only be used from an IP address that matches: "
            f"'{_listed(self.masks())}'"
        )


def _looked_up(context: Context, what: str) -> Any | None:
    """`context.geo.<what>(peer)`, or None if there is no answer (unknown peer, failed lookup)."""
    if context.ip is None:
        return None
    try:
        return getattr(context.geo, what)(context.ip)
    except LookupFailed:
        return None


@dataclass(frozen=True)
class Asn(Caveat):
    TYPE = "asn"
    PREFIXES = ("asn = ",)
    whitelist: tuple[int, ...]

    def serialize(self) -> str:
        return "asn = " + "|".join(str(asn) for asn in self.whitelist)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": list(self.whitelist)}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Asn:
        return cls(_non_empty([_integer(item) for item in _split(rest)]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Asn:
        whitelist = data["whitelist"]
        if not isinstance(whitelist, list):
            raise ValueError("whitelist must be a list")
        return cls(_non_empty([_json_integer(item) for item in whitelist]))

    def holds(self, context: Context) -> bool:
        asn = _looked_up(context, "asn")
        return asn is not None and asn in self.whitelist

    def unverified(self) -> str:
        return (
            "unverified ASN caveat: this token can only be used from an IP address that maps to the "
            f"following Autonomous System Number: '{_listed(str(asn) for asn in self.whitelist)}'"
        )


@dataclass(frozen=True)
class _GeoFilter(Caveat):
    """`geo.country`/`geo.region`: a whitelist (`=`) or a blacklist (`!=`) of places."""

    NOUN: ClassVar[str]
    filter: str  # whitelist | blacklist
    places: tuple[str, ...]

    def serialize(self) -> str:
        operator = "=" if self.filter == "whitelist" else "!="
        return f"{self.TYPE} {operator} " + "|".join(self.places)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "filter": self.filter, "list": list(self.places)}

    @classmethod
    def parse(cls, prefix: str, rest: str) -> _GeoFilter:
        return cls("blacklist" if "!=" in prefix else "whitelist", _non_empty(_split(rest)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _GeoFilter:
        if data["filter"] not in ("whitelist", "blacklist"):
            raise ValueError("filter must be whitelist or blacklist")
        places = _json_strings(data["list"])
        if not all(cls.valid(place) for place in places):
            raise ValueError(f"not a valid {cls.NOUN}")
        return cls(data["filter"], tuple(places))

    @staticmethod
    @abstractmethod
    def valid(place: str) -> bool: ...

    @abstractmethod
    def peer_places(self, context: Context) -> list[str] | None: ...

    def holds(self, context: Context) -> bool:
        found = self.peer_places(context)
        if found is None:
            return False
        listed = any(place in found for place in self.places)
        return listed if self.filter == "whitelist" else not listed

    def unverified(self) -> str:
        comes = "comes" if self.filter == "whitelist" else "does NOT come"
        return (
            f"unverified {self.NOUN} caveat: this token can only be used from an IP address that {comes} "
            f"from the following {self.NOUN}: '{_listed(self.places)}'"
        )


@dataclass(frozen=True)
class Country(_GeoFilter):
    TYPE = "geo.country"
    PREFIXES = ("geo.country = ", "geo.country != ")
    NOUN = "country"

    @staticmethod
    def valid(place: str) -> bool:
        return len(place.encode("utf-8", "surrogatepass")) == 2  # ctool: a two-byte code

    def peer_places(self, context: Context) -> list[str] | None:
        country = _looked_up(context, "country")
        return None if country is None else [country]


@dataclass(frozen=True)
class Region(_GeoFilter):
    TYPE = "geo.region"
    PREFIXES = ("geo.region = ", "geo.region != ")
    NOUN = "region"

    @staticmethod
    def valid(place: str) -> bool:
        return place in REGIONS

    def peer_places(self, context: Context) -> list[str] | None:
        return _looked_up(context, "regions")


@dataclass(frozen=True)
class Scope(Caveat):
    """The deprecated `authorization = none`: the token only proves identity."""

    TYPE = "authorization"
    PREFIXES = ("authorization = none",)

    def serialize(self) -> str:
        return "authorization = none"

    def to_json(self) -> dict[str, Any]:
        return {"scope": "identityToken"}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Scope:
        if rest:
            raise ValueError("authorization takes no value but none")
        return cls()

    @classmethod
    def from_json(cls, _data: dict[str, Any]) -> Scope:
        return cls()

    def holds(self, context: Context) -> bool:
        return context.identity_scope

    def unverified(self) -> str:
        return "this token carries no authorization (can be used only for identity verification)"


def _service(text: str) -> str:
    """`ozw-onezone`, `opw-<providerId>`, `opp-*`..."""
    if len(text) < 4 or text[3] != "-" or text[:3] not in SERVICE_NAMES:
        raise ValueError(f"not a service: {text!r}")
    return text


@dataclass(frozen=True)
class Service(Caveat):
    TYPE = "service"
    PREFIXES = ("service = ",)
    whitelist: tuple[str, ...]

    def serialize(self) -> str:
        return "service = " + "|".join(self.whitelist)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": list(self.whitelist)}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Service:
        return cls(_non_empty([_service(item) for item in _split(rest)]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Service:
        return cls(tuple(_service(item) for item in _json_strings(data["whitelist"])))

    def holds(self, context: Context) -> bool:
        kind = context.service[:3]
        return any(entry == context.service or entry == f"{kind}-{WILDCARD}" for entry in self.whitelist)

    def unverified(self) -> str:
        allowed = _listed(f"{SERVICE_NAMES[entry[:3]]}:{entry[4:]}" for entry in self.whitelist)
        return (
            f"unverified service caveat: the service using this token must authenticate as '{allowed}' "
            "(use the x-onedata-service-token header), or the requested API operation is disallowed for "
            "the whitelisted services"
        )


@dataclass(frozen=True)
class Consumer(Caveat):
    TYPE = "consumer"
    PREFIXES = ("consumer = ",)
    whitelist: tuple[Subject, ...]

    def serialize(self) -> str:
        return "consumer = " + "|".join(subject.serialize() for subject in self.whitelist)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": [subject.serialize() for subject in self.whitelist]}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Consumer:
        return cls(_non_empty([Subject.parse(item) for item in _split(rest)]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Consumer:
        subjects = [Subject.parse(item) for item in _json_strings(data["whitelist"])]
        if any(subject == NOBODY for subject in subjects):
            raise ValueError("nobody cannot be a consumer")
        return cls(tuple(subjects))

    def holds(self, context: Context) -> bool:
        """Against who proved to be consuming the token. Nobody (an unauthenticated request)
        matches nothing, and group entries never match: this registry keeps no groups."""
        consumer = context.consumer
        if consumer is None or consumer == NOBODY:
            return False
        return any(
            entry.type == consumer.type and entry.type != "group" and entry.id in (WILDCARD, consumer.id)
            for entry in self.whitelist
        )

    def unverified(self) -> str:
        allowed = _listed(f"{subject.type}:{subject.id}" for subject in self.whitelist)
        return (
            f"unverified consumer caveat: the consumer of this token must authenticate as '{allowed}' - "
            "if that's you, you should:\n"
            "   * send your access token in 'x-auth-token' header if consuming an invite token\n"
            "   * send your identity token in 'x-onedata-consumer-token' header if performing an operation "
            "on behalf of somebody else with their access token\n"
            "   * send your identity token in 'consumerToken' field if using token verification API"
        )


@dataclass(frozen=True)
class Interface(Caveat):
    TYPE = "interface"
    PREFIXES = ("interface = ",)
    interface: str

    def __post_init__(self) -> None:
        if self.interface not in INTERFACES:
            raise ValueError(f"unknown interface {self.interface!r}")

    def serialize(self) -> str:
        return f"interface = {self.interface}"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "interface": self.interface}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Interface:
        return cls(rest)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interface:
        if not isinstance(data["interface"], str):
            raise ValueError("interface must be a string")
        return cls(data["interface"])

    def holds(self, context: Context) -> bool:
        return context.interface == self.interface

    def unverified(self) -> str:
        return f"unverified interface caveat: this token can only be used in the '{self.interface}' interface"


@dataclass(frozen=True)
class Api(Caveat):
    TYPE = "api"
    PREFIXES = ("api = ",)
    whitelist: tuple[MatchSpec, ...]

    def serialize(self) -> str:
        return "api = " + "|".join(spec.serialize() for spec in self.whitelist)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": [spec.serialize() for spec in self.whitelist]}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> Api:
        return cls(_non_empty([MatchSpec.parse(item) for item in _split(rest)]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Api:
        return cls(tuple(MatchSpec.parse(item) for item in _json_strings(data["whitelist"])))

    def holds(self, context: Context) -> bool:
        """API caveats are lazy: they hold when the token is verified and are checked against each
        operation it is used for (`allows_operation`)."""
        return True

    def allows(self, service: str, operation: str, gri: Gri) -> bool:
        return any(spec.matches(service, operation, gri) for spec in self.whitelist)

    def unverified(self) -> str:
        specs = _listed(spec.serialize() for spec in self.whitelist)
        return (
            f"unverified API caveat: this token can only be used for API calls that match the following spec: '{specs}'"
        )


class _DataAccess(Caveat):
    """Data access caveats only make sense where data is accessed (a Oneprovider); Onezone
    accepts them only when the verifying party explicitly allows them."""

    def holds(self, context: Context) -> bool:
        return context.allow_data_access


@dataclass(frozen=True)
class DataReadonly(_DataAccess):
    TYPE = "data.readonly"
    PREFIXES = ("data.readonly",)

    def serialize(self) -> str:
        return "data.readonly"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> DataReadonly:
        if rest:
            raise ValueError("data.readonly takes no value")
        return cls()

    @classmethod
    def from_json(cls, _data: dict[str, Any]) -> DataReadonly:
        return cls()

    def unverified(self) -> str:
        return "unverified data access caveat: this token allows for readonly data access"


def _canonical_path(path: bytes) -> bytes:
    """ctool's canonical path: absolute, below the root, no trailing slash."""
    if not path.startswith(b"/") or path.endswith(b"/") or not path.strip(b"/"):
        raise ValueError(f"not a canonical path: {path!r}")
    return path


@dataclass(frozen=True)
class DataPath(_DataAccess):
    TYPE = "data.path"
    PREFIXES = ("data.path = ",)
    whitelist: tuple[bytes, ...]

    def encoded(self) -> list[str]:
        return [base64.b64encode(path).decode() for path in self.whitelist]

    def serialize(self) -> str:
        return "data.path = " + "|".join(self.encoded())

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": self.encoded()}

    @staticmethod
    def _decode(encoded: str) -> bytes:
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError(f"not base64: {encoded!r}") from None

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> DataPath:
        return cls(_non_empty([cls._decode(item) for item in _split(rest)]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataPath:
        return cls(tuple(_canonical_path(cls._decode(item)) for item in _json_strings(data["whitelist"])))

    def unverified(self) -> str:
        paths = _listed(path.decode("utf-8", "replace") for path in self.whitelist)
        return (
            "unverified data path caveat: this token can only be used to access data under the "
            f"following paths (and nested directories): '{paths}'"
        )


def _object_id(object_id: str) -> str:
    """A CDMI object id of a file: `00`, a 24-bit enterprise number, `00`, a length, a CRC, and
    the file's GUID (`guid#<uuid>#<spaceId>` or `shareGuid#<uuid>#<spaceId>#<shareId>`)."""
    try:
        raw = bytes.fromhex(object_id)
        guid = raw[8:].decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"not an object id: {object_id!r}") from None
    parts = guid.split("#")
    well_formed = (parts[0] == "guid" and len(parts) == 3) or (parts[0] == "shareGuid" and len(parts) == 4)
    if len(raw) < 9 or raw[0] != 0 or raw[4] != 0 or not well_formed:
        raise ValueError(f"not an object id: {object_id!r}")
    return object_id


@dataclass(frozen=True)
class DataObjectId(_DataAccess):
    TYPE = "data.objectid"
    PREFIXES = ("data.objectid = ",)
    whitelist: tuple[str, ...]

    def serialize(self) -> str:
        return "data.objectid = " + "|".join(self.whitelist)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "whitelist": list(self.whitelist)}

    @classmethod
    def parse(cls, _prefix: str, rest: str) -> DataObjectId:
        return cls(_non_empty(_split(rest)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataObjectId:
        return cls(tuple(_object_id(item) for item in _json_strings(data["whitelist"])))

    def unverified(self) -> str:
        return (
            "unverified data path caveat: this token can only be used to access data with the "
            f"following FILE_ID (and nested directories): '{_listed(self.whitelist)}'"
        )


KINDS: tuple[Any, ...] = (
    Time,
    Ip,
    Asn,
    Country,
    Region,
    Scope,
    Service,
    Consumer,
    Interface,
    Api,
    DataReadonly,
    DataPath,
    DataObjectId,
)
_BY_TYPE = {kind.TYPE: kind for kind in KINDS if kind is not Scope}


def parse(text: str) -> Caveat:
    """The caveat a string in a macaroon stands for; `ValueError` if it is none Onedata knows."""
    for kind in KINDS:
        for prefix in kind.PREFIXES:
            if text.startswith(prefix):
                rest = text[len(prefix) :]
                if rest or kind in (Scope, DataReadonly):
                    return kind.parse(prefix, rest)
    raise ValueError(f"unknown caveat {text!r}")


def from_json(data: Any) -> Caveat:
    """The caveat a JSON object of the API describes; `ValueError` if it is not a valid one."""
    if not isinstance(data, dict):
        raise ValueError("a caveat is a JSON object")
    if data.get("scope") == "identityToken" and "type" not in data:
        return Scope()
    caveat_type = data.get("type")
    kind = _BY_TYPE.get(caveat_type) if isinstance(caveat_type, str) else None
    if kind is None:
        raise ValueError(f"unknown caveat type {caveat_type!r}")
    try:
        return kind.from_json(data)
    except KeyError as missing:
        raise ValueError(f"missing {missing}") from None


def expiration(caveats: Iterable[Caveat]) -> int | None:
    """The earliest `time` caveat's deadline (ctool's `infer_expiration_time`)."""
    return min((caveat.valid_until for caveat in caveats if isinstance(caveat, Time)), default=None)
