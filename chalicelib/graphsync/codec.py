"""GraphSync's wire format, protocol version 4, as cluster-worker's `gs_protocol` writes it.

Client to server, one JSON text per message (or `{"batch": [...]}` of them):
`{"id", "type": "request", "subtype": "handshake|graph|unsub|rpc", "authOverride", "payload"}`.
Server to client: a response with the request's `id` and `subtype`,
`"payload": {"success", "error", "data"}`, or a push without id (`graph`: `updated`/`deleted` of
a GRI; `nosub`: a subscription ended; `error`: a failure no request can carry). Errors are
ctool's JSON, the same objects as on REST (`OnedataError.body()`).

Each encoder has its inverse beside it (`Request.to_message`/`decode`, `Response.to_message`/
`from_message`, ...): the server decodes requests and encodes the rest, a test client the reverse.

Where ctool would turn a request whose payload it cannot read into an uncorrelated `badMessage`
push, this server answers the request itself (its `id` is known), so no request waits out the
client's 30 s timeout: a bad GRI is `badGRI`, anything else unreadable `badMessage`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import CATALOGUE, OnedataError
from chalicelib.tokens.gri import Gri

PROTOCOL_VERSION = 4
SUPPORTED_VERSIONS = (PROTOCOL_VERSION,)
# API Gateway's limit on a WebSocket message, either way (frames are 32 KB, reassembled by it).
MAX_MESSAGE_BYTES = 128 * 1024
SUBTYPES = ("handshake", "graph", "unsub", "rpc")
OPERATIONS = ("create", "get", "update", "delete")
ECHOED_CHARACTERS = 1000  # how much of an unreadable message a `badMessage` repeats

Json = dict[str, Any]


def dumps(message: Json) -> str:
    """A message as the text frame that carries it (compact JSON, UTF-8)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def bad_message(message: Any) -> OnedataError:
    if isinstance(message, str) and len(message) > ECHOED_CHARACTERS:
        message = message[:ECHOED_CHARACTERS] + "..."
    return OnedataError("badMessage", message=message)


# ---- errors -----------------------------------------------------------------------------------


def error_json(error: OnedataError) -> Json:
    return error.body()


def error_from_json(data: Json) -> OnedataError:
    """The inverse of `error_json` for the errors this server sends."""
    if not isinstance(data, dict) or data.get("id") not in CATALOGUE:
        raise ValueError(f"not an error of this server: {data!r}")
    return OnedataError(data["id"], description=data.get("description"), **(data.get("details") or {}))


# ---- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request as the envelope carries it; its payload is read by its subtype's class."""

    id: str
    subtype: str
    payload: Json
    auth_override: Any = None

    def to_message(self) -> Json:
        return {
            "id": self.id,
            "type": "request",
            "subtype": self.subtype,
            "authOverride": self.auth_override,
            "payload": self.payload,
        }

    @classmethod
    def from_message(cls, message: Any) -> Request:
        if not isinstance(message, dict) or message.get("type") != "request":
            raise bad_message(message)
        request_id, subtype, payload = message.get("id"), message.get("subtype"), message.get("payload")
        if not isinstance(request_id, str) or subtype not in SUBTYPES or not isinstance(payload, dict):
            raise bad_message(message)
        return cls(request_id, subtype, payload, message.get("authOverride"))


def decode(text: str) -> list[Request]:
    """The requests of one text message: one, or a batch; `badMessage` if it is none."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise bad_message(text)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise bad_message(text) from None
    if isinstance(message, dict) and "batch" in message:
        if not isinstance(message["batch"], list):
            raise bad_message(message)
        return [Request.from_message(item) for item in message["batch"]]
    return [Request.from_message(message)]


def encode(requests: list[Request]) -> str:
    """The inverse of `decode`: one request as itself, several as a batch."""
    if len(requests) == 1:
        return dumps(requests[0].to_message())
    return dumps({"batch": [request.to_message() for request in requests]})


@dataclass(frozen=True)
class Handshake:
    """`supportedVersions`, the client's token (`auth`: `{"token"}`, or the deprecated
    `{"macaroon"}`; `null` or `"nobody"` for none) and a session to resume."""

    supported_versions: tuple[int, ...]
    token: str | None = None
    session_id: str | None = None

    def to_payload(self) -> Json:
        auth = None if self.token is None else {"token": self.token, "macaroon": self.token}
        return {"supportedVersions": list(self.supported_versions), "auth": auth, "sessionId": self.session_id}

    @classmethod
    def from_payload(cls, payload: Json) -> Handshake:
        versions, auth = payload.get("supportedVersions"), payload.get("auth")
        if not isinstance(versions, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in versions):
            raise bad_message(payload)
        token: Any = None
        if isinstance(auth, dict):
            token = auth.get("token", auth.get("macaroon"))
            if not isinstance(token, str):
                raise bad_message(payload)
        elif auth not in (None, "nobody"):
            raise bad_message(payload)
        session_id = payload.get("sessionId")
        return cls(tuple(versions), token, session_id if isinstance(session_id, str) else None)


@dataclass(frozen=True)
class HandshakeReply:
    """A successful handshake's `data`. op-worker reads it before a version is agreed, with the
    basic codec, so the identity is the old object form `{"provider": <id>}`."""

    version: int
    session_id: str | None
    provider_id: str
    attributes: Json | None = None

    def to_data(self) -> Json:
        return {
            "version": self.version,
            "sessionId": self.session_id,
            "identity": {"provider": self.provider_id},
            "attributes": self.attributes,
        }

    @classmethod
    def from_data(cls, data: Json) -> HandshakeReply:
        return cls(data["version"], data["sessionId"], data["identity"]["provider"], data.get("attributes"))


def parse_gri(text: Any) -> Gri:
    try:
        return Gri.parse(text)
    except (ValueError, AttributeError, TypeError):
        raise OnedataError("badGRI") from None


@dataclass(frozen=True)
class GraphRequest:
    """`{"gri", "operation", "data", "subscribe", "authHint"}`."""

    gri: Gri
    operation: str
    data: Json | None = None
    subscribe: bool = False
    auth_hint: str | None = None

    def to_payload(self) -> Json:
        return {
            "gri": self.gri.serialize(),
            "operation": self.operation,
            "data": self.data,
            "subscribe": self.subscribe,
            "authHint": self.auth_hint,
        }

    @classmethod
    def from_payload(cls, payload: Json) -> GraphRequest:
        gri = parse_gri(payload.get("gri"))
        operation, data = payload.get("operation"), payload.get("data", {})
        subscribe, auth_hint = payload.get("subscribe", False), payload.get("authHint")
        if operation not in OPERATIONS or not isinstance(subscribe, bool):
            raise bad_message(payload)
        if not (data is None or isinstance(data, dict)) or not (auth_hint is None or isinstance(auth_hint, str)):
            raise bad_message(payload)
        return cls(gri, operation, data, subscribe, auth_hint)


def unsub_payload(gri: Gri) -> Json:
    return {"gri": gri.serialize()}


def unsub_gri(payload: Json) -> Gri:
    """The inverse of `unsub_payload`."""
    return parse_gri(payload.get("gri"))


# ---- results of graph requests ----------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """An entity's view: its fields, the GRI it answers for (with the concrete id) and the
    entity's revision, which clients compare with their cached copy."""

    gri: Gri
    revision: int
    fields: Json = field(default_factory=dict)

    def to_data(self) -> Json:
        return {**self.fields, "gri": self.gri.serialize(), "revision": self.revision}

    @classmethod
    def from_data(cls, data: Json) -> Resource:
        fields = {key: value for key, value in data.items() if key not in ("gri", "revision")}
        return cls(Gri.parse(data["gri"]), data["revision"], fields)


@dataclass(frozen=True)
class Value:
    """A result that is no entity (a token, a count...)."""

    value: Any


Result = Resource | Value | None


def result_data(result: Result) -> Json | None:
    """A graph response's `data`: `null`, `{"format": "value", ...}` or a resource."""
    if result is None:
        return None
    if isinstance(result, Value):
        return {"format": "value", "value": result.value}
    return {"format": "resource", "resource": result.to_data()}


def parse_result(data: Json | None) -> Result:
    """The inverse of `result_data`."""
    if not data:
        return None
    if data["format"] == "value":
        return Value(data["value"])
    return Resource.from_data(data["resource"])


# ---- responses and pushes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    id: str
    subtype: str
    data: Any = None
    error: OnedataError | None = None

    def to_message(self) -> Json:
        # ctool sends an empty object as the `data` of a failure.
        data = {} if self.error is not None else self.data
        return {
            "id": self.id,
            "type": "response",
            "subtype": self.subtype,
            "payload": {
                "success": self.error is None,
                "error": None if self.error is None else error_json(self.error),
                "data": data,
            },
        }

    @classmethod
    def from_message(cls, message: Json) -> Response:
        payload = message["payload"]
        error = error_from_json(payload["error"]) if not payload["success"] else None
        return cls(message["id"], message["subtype"], None if error else payload.get("data"), error)


def answer(request: Request, data: Any = None) -> Response:
    return Response(request.id, request.subtype, data)


def refuse(request: Request, error: OnedataError) -> Response:
    return Response(request.id, request.subtype, error=error)


@dataclass(frozen=True)
class Push:
    subtype: str  # graph | nosub | error
    payload: Json

    def to_message(self) -> Json:
        return {"type": "push", "subtype": self.subtype, "payload": self.payload}

    @classmethod
    def from_message(cls, message: Json) -> Push:
        if message.get("type") != "push":
            raise ValueError(f"not a push: {message!r}")
        return cls(message["subtype"], message["payload"])


def updated(gri: Gri, resource: Resource) -> Push:
    """A newer view of a subscribed resource, under the GRI the client subscribed with."""
    data = {**resource.to_data(), "gri": gri.serialize()}
    return Push("graph", {"gri": gri.serialize(), "updateType": "updated", "data": data})


def deleted(gri: Gri) -> Push:
    return Push("graph", {"gri": gri.serialize(), "updateType": "deleted", "data": None})


def nosub(gri: Gri, auth_hint: str | None = None) -> Push:
    return Push("nosub", {"gri": gri.serialize(), "authHint": auth_hint, "reason": "forbidden"})


def error_push(error: OnedataError) -> Push:
    return Push("error", {"error": error_json(error)})
