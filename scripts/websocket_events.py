"""The events API Gateway's WebSocket API sends its Lambda proxy integrations: `$connect`,
messages, `$disconnect`.

The shapes are those AWS documents and that deployed WebSocket APIs are seen sending (AWS's
developer guide, "Set up WebSocket API integrations"; example events logged by users of API
Gateway): `requestContext` with `routeKey`, `eventType` (`CONNECT`, `MESSAGE`, `DISCONNECT`),
`connectionId`, `connectedAt` and `requestTimeEpoch` (milliseconds), `requestTime` (common log
format), `requestId`/`extendedRequestId`, `messageId` (messages only), `messageDirection: IN`,
`stage`, `domainName`, `apiId`, `identity` (`sourceIp`, `userAgent`, the rest null), and for
`$disconnect` `disconnectStatusCode`/`disconnectReason`. `$connect` carries the upgrade request's
headers (hop-by-hop ones aside, `X-Forwarded-*` added) and query string; a message carries its
text as `body`; `$disconnect` carries the few headers API Gateway puts there. Ids look like API
Gateway's (16 characters ending in `=`), but mean nothing.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

ID_ALPHABET = string.ascii_letters + string.digits
# Headers of the upgrade request that API Gateway does not pass on (they concern the hop).
HOP_BY_HOP = frozenset({"connection", "upgrade", "keep-alive", "transfer-encoding", "te", "trailer"})
IDENTITY_FIELDS = (
    "cognitoIdentityPoolId",
    "cognitoIdentityId",
    "principalOrgId",
    "cognitoAuthenticationType",
    "userArn",
    "userAgent",
    "accountId",
    "caller",
    "sourceIp",
    "accessKey",
    "cognitoAuthenticationProvider",
    "user",
)


def new_id() -> str:
    """An id in API Gateway's form: 15 letters or digits and `=` (connection, request and
    message ids alike)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(15)) + "="


def now_ms() -> int:
    return int(time.time() * 1000)


def request_time(epoch_ms: int) -> str:
    """`requestTime`: the common log format API Gateway uses, `13/Dec/2020:10:17:47 +0000`."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


@dataclass(frozen=True)
class Api:
    """The WebSocket API stage the events come from."""

    api_id: str
    stage: str


@dataclass
class Client:
    """One client connection as the events describe it."""

    connection_id: str
    domain_name: str
    source_ip: str
    user_agent: str | None
    connected_at: int = field(default_factory=now_ms)


def _context(api: Api, client: Client, route_key: str, event_type: str, **extra: Any) -> dict[str, Any]:
    at = now_ms()
    request_id = new_id()
    identity: dict[str, Any] = dict.fromkeys(IDENTITY_FIELDS)
    identity.update(sourceIp=client.source_ip, userAgent=client.user_agent)
    return {
        "routeKey": route_key,
        **extra,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(at),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": client.connected_at,
        "requestTimeEpoch": at,
        "identity": identity,
        "requestId": request_id,
        "domainName": client.domain_name,
        "connectionId": client.connection_id,
        "apiId": api.api_id,
    }


def _multi(headers: dict[str, str]) -> dict[str, list[str]]:
    return {name: [value] for name, value in headers.items()}


def connect(
    api: Api, client: Client, headers: list[tuple[str, str]], query: str, forwarded_port: int, proto: str = "http"
) -> dict[str, Any]:
    """`$connect`, from the upgrade request's headers (in order, repeated ones included) and raw
    query string."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() in HOP_BY_HOP:
            continue
        single[name] = value
        multi.setdefault(name, []).append(value)
    forwarded = {
        "X-Forwarded-For": client.source_ip,
        "X-Forwarded-Port": str(forwarded_port),
        "X-Forwarded-Proto": proto,
    }
    single.update(forwarded)
    multi.update(_multi(forwarded))
    event: dict[str, Any] = {
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": _context(
            api, client, "$connect", "CONNECT", disconnectStatusCode=None, messageId=None, disconnectReason=None
        ),
        "isBase64Encoded": False,
    }
    parsed = parse_qs(query, keep_blank_values=True)
    if parsed:
        event["queryStringParameters"] = {name: values[-1] for name, values in parsed.items()}
        event["multiValueQueryStringParameters"] = parsed
    return event


def message(api: Api, client: Client, body: str, route_key: str = "$default") -> dict[str, Any]:
    """A text message the client sent (whole: API Gateway reassembles fragments)."""
    return {
        "requestContext": _context(api, client, route_key, "MESSAGE", messageId=new_id()),
        "body": body,
        "isBase64Encoded": False,
    }


def disconnect(api: Api, client: Client, status_code: int, reason: str) -> dict[str, Any]:
    """`$disconnect`, after the connection closed (`status_code`: the close code, 1006 for a
    connection that dropped without a close frame)."""
    headers = {"Host": client.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": _multi(headers),
        "requestContext": _context(
            api,
            client,
            "$disconnect",
            "DISCONNECT",
            disconnectStatusCode=status_code,
            messageId=None,
            disconnectReason=reason,
        ),
        "isBase64Encoded": False,
    }
