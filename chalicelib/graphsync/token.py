"""`token.*` over GraphSync: op-worker mints its identity token here.

`create token.null.provider_temporary_token,<providerId>:private` with
`{"type": {"identityToken": {}}, "caveats": [{"type": "time", "validUntil": now + 900}]}` is how
op-worker gets the token Onepanel then signs users in with (its service token); the answer is the
serialized token as a value (oz-worker's `provider_gs_translator:translate_value`). It is the
same provider temporary token `POST /provider/tokens/temporary` issues, with the same rules
(`tokenTimeCaveatRequired` past `MAX_TEMPORARY_TOKEN_TTL`, caveats validated as on REST), for
the connection's own provider only. Nothing else about tokens is served over the channel.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.graphsync import codec
from chalicelib.graphsync.requests import Call, not_supported, owned
from chalicelib.models import CreateTemporaryTokenRequest
from chalicelib.store import providers as provider_store
from chalicelib.tokens import provider_tokens
from chalicelib.tokens.gri import Gri
from chalicelib.validation import validate

TYPE = "token"
PROVIDER_TEMPORARY_TOKEN = "provider_temporary_token"  # noqa: S105 - an aspect name


def subscribable(operation: str, gri: Gri) -> bool:
    return False


def handle(ctx: Context, call: Call) -> codec.Result:
    gri = call.gri
    if call.operation != "create" or gri.id is not None or gri.aspect_name != PROVIDER_TEMPORARY_TOKEN:
        raise not_supported()
    provider = provider_store.TABLE.get(ctx, call.provider_id) if gri.parameter == call.provider_id else None
    if provider is None:  # another provider's tokens (or its own, deregistered meanwhile)
        raise owned(gri.parameter is not None and provider_store.TABLE.get(ctx, gri.parameter) is not None)
    request = validate(CreateTemporaryTokenRequest, call.data)
    return codec.Value(provider_tokens.create_temporary(ctx, provider, request).token)
