"""Onedata's token wire format: the escaped macaroon and the identifier inside it.

A serialized Onedata token is a libmacaroons v1 macaroon (pymacaroons' v1 serialization, base64url
without padding) whose characters outside `[A-Za-z0-9]` are escaped: `0`->`00`, `_`->`01`,
`-`->`02`, `/`->`03`, `+`->`04`, `=`->`05` (ctool's `base62`). Its location is the issuing
Onezone's domain, which Onepanel reads before it sends anything; its identifier (version 2) is

    2/<persistence>/<subject>/<type>/<id>
      persistence: nmd | tmp-<generation>
      subject:     usr-<id> | grp-<id> | prv-<id> | nobody
      type:        act | act:<sessionId> | idn | <invite code>:<target id>:<parameters>

An identifier without `/`, or whose first fragment is not an integer, is a legacy (version 1)
named access token: the whole identifier is its id. A token may be prefixed with `opw-` or
`opp-` (which Oneprovider service presents it).

Parsing trusts nothing: it only says what a token claims to be. Whether the claim holds is for
`chalicelib.tokens.verification`, which checks the signature before anything here is believed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymacaroons import Macaroon
from pymacaroons.macaroon import MACAROON_V1

from chalicelib.errors import OnedataError

MAX_TOKEN_BYTES = 1024 * 1024  # Onezone's `max_token_size`, on the serialized form
SERVICE_INDICATIONS = {"opw": "op_worker", "opp": "op_panel"}

_ESCAPES = {"0": "0", "_": "1", "-": "2", "/": "3", "+": "4", "=": "5"}
_UNESCAPES = {code: char for char, code in _ESCAPES.items()}
_ESCAPE_TABLE = str.maketrans({char: "0" + code for char, code in _ESCAPES.items()})
_ESCAPED = re.compile(r"0(.?)", re.DOTALL)
_INTEGER = re.compile(r"[+-]?[0-9]+")  # what Erlang's binary_to_integer accepts

# invite type -> (identifier code, JSON key of its target)
INVITE_TYPES: dict[str, tuple[str, str]] = {
    "userJoinGroup": ("ujg", "groupId"),
    "groupJoinGroup": ("gjg", "groupId"),
    "userJoinSpace": ("ujs", "spaceId"),
    "groupJoinSpace": ("gjs", "spaceId"),
    "supportSpace": ("ssp", "spaceId"),
    "harvesterJoinSpace": ("hjs", "spaceId"),
    "registerOneprovider": ("rop", "adminUserId"),
    "userJoinCluster": ("ujc", "clusterId"),
    "groupJoinCluster": ("gjc", "clusterId"),
    "userJoinHarvester": ("ujh", "harvesterId"),
    "groupJoinHarvester": ("gjh", "harvesterId"),
    "spaceJoinHarvester": ("sjh", "harvesterId"),
    "userJoinAtmInventory": ("uji", "atmInventoryId"),
    "groupJoinAtmInventory": ("gji", "atmInventoryId"),
}
_INVITE_BY_CODE = {code: invite_type for invite_type, (code, _key) in INVITE_TYPES.items()}
REGISTER_ONEPROVIDER = "registerOneprovider"
USER_JOIN_CLUSTER = "userJoinCluster"


def bad_token() -> OnedataError:
    return OnedataError("badToken")


def escape(base64url: str) -> str:
    """Onedata's escaping of a base64url text: only `[A-Za-z0-9]` remain."""
    return base64url.translate(_ESCAPE_TABLE)


def unescape(escaped: str) -> str:
    """The base64url text behind an escaped token; a `0` followed by anything but `0`-`5` (or by
    nothing) means the text is no token."""

    def unescape_one(match: re.Match[str]) -> str:
        char = _UNESCAPES.get(match.group(1))
        if char is None:
            raise bad_token()
        return char

    return _ESCAPED.sub(unescape_one, escaped)


# ---- identifier parts ---------------------------------------------------------------------

_SUBJECT_PREFIXES = {"usr-": "user", "grp-": "group", "prv-": "oneprovider"}
_SUBJECT_CODES = {kind: prefix for prefix, kind in _SUBJECT_PREFIXES.items()}


@dataclass(frozen=True)
class Subject:
    """Who a token speaks for (or, in a consumer caveat, who may use it)."""

    type: str  # user | group | oneprovider | nobody
    id: str | None = None

    def serialize(self) -> str:
        return "nobody" if self.type == "nobody" else _SUBJECT_CODES[self.type] + (self.id or "")

    @classmethod
    def parse(cls, text: str) -> Subject:
        """ctool's subject syntax; `ValueError` for anything else."""
        if text == "nobody":
            return NOBODY
        kind = _SUBJECT_PREFIXES.get(text[:4])
        if kind is None:
            raise ValueError(f"not a subject: {text!r}")
        return cls(kind, text[4:])

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


NOBODY = Subject("nobody")


@dataclass(frozen=True)
class TokenType:
    """An access token (optionally bound to a session), an identity token, or an invite."""

    kind: str  # accessToken | identityToken | inviteToken
    session_id: str | None = None
    invite_type: str | None = None
    target_id: str | None = None
    parameters: str = ""  # opaque: Onezone ignores them, but a parsed token keeps its bytes

    @classmethod
    def access(cls, session_id: str | None = None) -> TokenType:
        return cls("accessToken", session_id=session_id)

    @classmethod
    def invite(cls, invite_type: str, target_id: str) -> TokenType:
        return cls("inviteToken", invite_type=invite_type, target_id=target_id)

    def serialize(self) -> str:
        if self.kind == "accessToken":
            return "act" if self.session_id is None else f"act:{self.session_id}"
        if self.kind == "identityToken":
            return "idn"
        code, _key = INVITE_TYPES[self.invite_type or ""]
        return f"{code}:{self.target_id}:{self.parameters}"

    @classmethod
    def parse(cls, text: str) -> TokenType:
        if text == "act":
            return cls.access()
        if text.startswith("act:") and len(text) > 4:
            return cls.access(text[4:])
        if text == "idn":
            return cls("identityToken")
        code, target, *parameters = text.split(":")
        if code not in _INVITE_BY_CODE or not target or len(parameters) != 1:
            raise ValueError(f"not a token type: {text!r}")
        return cls("inviteToken", invite_type=_INVITE_BY_CODE[code], target_id=target, parameters=parameters[0])

    def to_json(self) -> dict[str, Any]:
        """Onezone's JSON of a token type (`{"accessToken": {}}`, `{"inviteToken": {...}}`...)."""
        if self.kind == "accessToken":
            return {"accessToken": {} if self.session_id is None else {"sessionId": self.session_id}}
        if self.kind == "identityToken":
            return {"identityToken": {}}
        _code, target_key = INVITE_TYPES[self.invite_type or ""]
        return {"inviteToken": {"inviteType": self.invite_type, target_key: self.target_id, "parameters": {}}}


@dataclass(frozen=True)
class Identifier:
    """What a token claims: its id, persistence, subject and type."""

    id: str
    subject: Subject
    type: TokenType
    generation: int | None = None  # temporary tokens only: the subject's generation of secrets
    version: int = 2

    @property
    def persistence(self) -> str:
        return "named" if self.generation is None else "temporary"

    def serialize(self) -> str:
        if self.version == 1:
            return self.id
        persistence = "nmd" if self.generation is None else f"tmp-{self.generation}"
        return f"2/{persistence}/{self.subject.serialize()}/{self.type.serialize()}/{self.id}"

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """ctool's `from_identifier`; `ValueError` for an identifier no Onezone would issue."""
        version, *fragments = text.split("/")
        if not fragments or not _INTEGER.fullmatch(version):
            return cls.legacy(text)
        if int(version) == 1 and len(fragments) == 1:
            return cls.legacy(fragments[0])
        if int(version) != 2 or len(fragments) != 4:
            raise ValueError(f"unsupported token identifier {text!r}")
        persistence, subject, token_type, token_id = fragments
        return cls(
            id=token_id,
            subject=Subject.parse(subject),
            type=TokenType.parse(token_type),
            generation=_generation(persistence),
        )

    @classmethod
    def legacy(cls, token_id: str) -> Identifier:
        """A version 1 token: a named access token whose subject only its stored record knows."""
        return cls(id=token_id, subject=NOBODY, type=TokenType.access(), version=1)


def _generation(persistence: str) -> int | None:
    if persistence == "nmd":
        return None
    number = persistence.removeprefix("tmp-")
    if number == persistence or not _INTEGER.fullmatch(number):
        raise ValueError(f"not a token persistence: {persistence!r}")
    return int(number)


# ---- whole tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A deserialized token: what it claims, its caveats as written, and the macaroon itself."""

    onezone_domain: str
    identifier: Identifier
    caveats: tuple[str, ...]
    macaroon: Macaroon
    service: str | None = None  # op_worker / op_panel when presented with `opw-`/`opp-`


def mint(onezone_domain: str, identifier: Identifier, key: bytes | str, caveats: list[str]) -> str:
    """A new serialized token: a macaroon keyed with `key`, carrying `caveats` in order."""
    macaroon = Macaroon(location=onezone_domain, identifier=identifier.serialize(), key=key)
    return confine(macaroon, caveats)


def confine(macaroon: Macaroon, caveats: list[str]) -> str:
    """The serialized token with `caveats` appended (no key needed: that is what macaroons do)."""
    confined = macaroon.copy()
    for caveat in caveats:
        confined.add_first_party_caveat(caveat)
    return escape(confined.serialize())


def parse(serialized: str) -> Token:
    """Deserialize a token without trusting it; `tokenTooLarge` or `badToken` if impossible."""
    # The limit is in bytes, as Onezone's (surrogatepass: a JSON string may carry lone surrogates).
    if len(serialized.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise OnedataError("tokenTooLarge", limit=MAX_TOKEN_BYTES)
    service, proper = _service_indication(serialized)
    if not proper or not proper.isascii() or not proper.isalnum():
        raise bad_token()
    try:
        macaroon = Macaroon.deserialize(unescape(proper))
        if macaroon.version != MACAROON_V1 or any(not c.first_party() for c in macaroon.caveats):
            raise ValueError("Onedata tokens are v1 macaroons with first-party caveats only")
        return Token(
            onezone_domain=macaroon.location,
            identifier=Identifier.parse(macaroon.identifier),
            caveats=tuple(caveat.caveat_id for caveat in macaroon.caveats),
            macaroon=macaroon,
            service=service,
        )
    except OnedataError:
        raise
    except Exception:  # noqa: BLE001 - pymacaroons raises anything from binascii to IndexError on garbage
        raise bad_token() from None


def _service_indication(serialized: str) -> tuple[str | None, str]:
    """ctool's `check_for_oneprovider_service_indication`: a fourth character `-` means the first
    three name the presenting service, which must be a Oneprovider's worker or panel."""
    if len(serialized) > 3 and serialized[3] == "-":
        service = SERVICE_INDICATIONS.get(serialized[:3])
        if service is None:
            raise bad_token()
        return service, serialized[4:]
    return None, serialized
