"""The keys tokens are signed with, derived from the root key so that none is ever stored.

Onezone keeps a random secret per named token and one per subject for its temporary tokens. We
derive the same secrets from one root key (Secrets Manager): a named token's from its id, a
subject's temporary tokens' from the subject and its generation - raising the generation (revoking
every temporary token) changes the key, so older tokens stop verifying even before their
generation is compared. A leaked table therefore reveals no key, and no token is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.context import Context
from chalicelib.tokens.codec import Identifier


def key_for(ctx: Context, identifier: Identifier) -> bytes:
    """The key of the token `identifier` names (whether it exists or not)."""
    if identifier.generation is None:
        label = f"named:{identifier.id}"
    else:
        label = f"temporary:{identifier.subject.serialize()}:{identifier.generation}"
    return hmac.new(ctx.root_key, b"onezone-token:" + label.encode(), hashlib.sha256).digest()
