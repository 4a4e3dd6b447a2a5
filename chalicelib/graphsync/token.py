"""`token.*` over GraphSync. op-worker mints its identity token here
(`create token.null.provider_temporary_token,<providerId>:private`); until this registry has
provider temporary tokens, that request is `notSupported`, and Onepanel falls back to REST
`POST /provider/tokens/temporary`. Nothing else about tokens is served over the channel.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.graphsync import codec
from chalicelib.graphsync.requests import Call, not_supported
from chalicelib.tokens.gri import Gri

TYPE = "token"


def subscribable(operation: str, gri: Gri) -> bool:
    return False


def handle(ctx: Context, call: Call) -> codec.Result:
    raise not_supported()
