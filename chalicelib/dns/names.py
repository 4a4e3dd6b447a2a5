"""Names in the zone: which subdomains a provider may hold, and which record names are the
registry's to write.

The registry writes, for a subdomain label `<sub>` a provider could hold: `<sub>` (A), `s3.<sub>`
(A) and `<name>.<sub>` (TXT, `<name>` one label other than `s3`). Everything else in the zone -
the apex, NS/SOA, deeper names, labels the zone reserves (`ns`, `ns<digits>`, the stage's
`RESERVED_SUBDOMAINS`: the place for an operator's own records) - is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.validation import LABEL

MAX_FQDN_LENGTH = 253
ONES3_LABEL = "s3"
_RESERVED = re.compile(r"ns\d*")
# A TXT record's own label: underscores allowed (`_acme-challenge`), as in service names.
_TXT_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def fqdn(ctx: Context, subdomain: str) -> str:
    """The provider's domain under delegation (without the trailing dot)."""
    return f"{subdomain}.{ctx.settings.zone_domain}".lower()


def is_reserved(ctx: Context, label: str) -> bool:
    """A label the zone keeps for itself: no provider may hold it, the reconciler never looks."""
    return bool(_RESERVED.fullmatch(label)) or label in ctx.settings.reserved_subdomains


def could_hold(ctx: Context, label: str) -> bool:
    """Whether a provider could hold `label`: the registry's names are the ones under it."""
    return bool(LABEL.fullmatch(label)) and not is_reserved(ctx, label) and _fits(ctx, label)


def registry_label(ctx: Context, name: str, record_type: str) -> str | None:
    """The label `<sub>` under which a record set of the zone is the registry's to write -
    `<sub>` A, `s3.<sub>` A, `<name>.<sub>` TXT - or None: it is somebody else's."""
    suffix = f".{ctx.settings.zone_domain}."
    name = name.lower()
    if not name.endswith(suffix):
        return None  # the apex, or not in this zone
    *below, label = name.removesuffix(suffix).split(".")
    if not could_hold(ctx, label):
        return None
    if not below:
        return label if record_type == "A" else None
    if len(below) != 1:
        return None
    if below[0] == ONES3_LABEL:
        return label if record_type == "A" else None
    return label if record_type == "TXT" and _TXT_LABEL.fullmatch(below[0]) else None


def require_support(ctx: Context, data: Mapping[str, Any]) -> None:
    """A body asking for delegation where this Onezone offers none: Onezone checks this first,
    before any other key of the body."""
    if not ctx.settings.subdomain_delegation_supported and str(data.get("subdomainDelegation")).lower() == "true":
        raise OnedataError("subdomainDelegationNotSupported")


def _fits(ctx: Context, subdomain: str) -> bool:
    return len(f"{ONES3_LABEL}.{fqdn(ctx, subdomain)}") <= MAX_FQDN_LENGTH


def check_length(ctx: Context, subdomain: str) -> None:
    """Reject a subdomain whose record names would be too long for DNS in this zone. A bad value
    like any other: registration reports it before looking at the token, as Onezone does."""
    if not _fits(ctx, subdomain):
        raise OnedataError("badValueSubdomain")


def check_subdomain(ctx: Context, subdomain: str) -> None:
    """Reject labels the zone reserves for itself and names too long for DNS."""
    check_length(ctx, subdomain)
    if is_reserved(ctx, subdomain):
        raise OnedataError("badValueIdentifierOccupied", key="subdomain")


def txt_label(name: str) -> str:
    """A TXT record's label under a provider's subdomain, lower-cased: one DNS label, and not the
    provider's own `s3.` name."""
    label = name.lower()
    if not _TXT_LABEL.fullmatch(label):
        raise OnedataError("badData", key="recordName", hint="one DNS label of letters, digits, '-' and '_'")
    if label == ONES3_LABEL:
        raise OnedataError("badValueIdentifierOccupied", key="recordName")
    return label


def check_txt_length(ctx: Context, subdomain: str, label: str) -> None:
    """Reject a TXT label whose record name would be too long for DNS under `subdomain`."""
    if len(f"{label}.{fqdn(ctx, subdomain)}") > MAX_FQDN_LENGTH:
        raise OnedataError("badData", key="recordName", hint=f"the record's name exceeds {MAX_FQDN_LENGTH} characters")
