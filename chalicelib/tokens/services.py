"""Services: who processes a token on its subject's behalf, and what that allows.

A Oneprovider proves which of its services is at work with a service token: its identity token
(or, legacy, its root access token), in `x-onedata-service-token` on any REST call or in
`serviceToken` of `POST /tokens/verify_access_token`. `opp-<token>` is its Onepanel, the
service `op_panel:<providerId>` (`opp-<providerId>` in a caveat's terms); `opw-<token>` or no
mark its op-worker, `op_worker:<providerId>`. Without a service token the service is Onezone
itself, `ozw-onezone`. Then (oz-worker `token_auth`, ctool `service_caveats`):
- a token's `service` caveats must whitelist that service (`caveats.Service.holds`);
- an access token's subject must be allowed to be served by it (`require_allowed`): a user must be
  a member of the provider's cluster - one GetItem of the membership item - and a provider's
  token may be served by Onezone only; otherwise `tokenServiceForbidden`;
- a token whose `service` caveats whitelist no Onezone service is confined to the API those
  services need (`allowed_api`): `opp-` tokens may only `get` users, clusters and providers.
"""

from __future__ import annotations

from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.store import memberships
from chalicelib.tokens import caveats as cv
from chalicelib.tokens.codec import Subject
from chalicelib.tokens.gri import MatchSpec

ONEZONE_IDS = ("onezone", cv.WILDCARD)  # oz_worker:onezone is this zone; oz_worker:* any
_OZ_USER_CLUSTER_PROVIDER = ("ozw/get/user.*.*:*", "ozw/get/cluster.*.*:*", "ozw/get/provider.*.*:*")
# ctool's `service_caveats:allowed_api_by_service_type`, by service short name.
ALLOWED_API: dict[str, tuple[str, ...]] = {
    "ozw": ("ozw/all/*.*.*:*",),
    "ozp": ("ozp/all/*.*.*:*", *_OZ_USER_CLUSTER_PROVIDER),
    "opp": ("opp/all/*.*.*:*", *_OZ_USER_CLUSTER_PROVIDER),
    "opw": (
        "opw/all/*.*.*:*",
        "ozw/get/user.*.*:*",
        "ozw/create/user.*.idp_access_token,*:*",
        "ozw/get/group.*.*:*",
        "ozw/get/space.*.*:*",
        "ozw/create/space.*.infer_accessible_eff_groups:*",
        "ozw/all/share.*.*:*",
        "ozw/get/provider.*.*:*",
        "ozw/all/handle.*.*:*",
        "ozw/get/handleService.*.*:*",
        "ozw/get/atm_inventory.*.*:*",
        "ozw/get/atm_lambda.*.*:*",
        "ozw/get/atm_workflow_schema.*.*:*",
    ),
}


def to_json(service: str) -> dict[str, str]:
    """`{"type": "op_panel", "id": "<providerId>"}` of `opp-<providerId>` (ctool's service JSON)."""
    return {"type": cv.SERVICE_NAMES[service[:3]], "id": service[4:]}


def forbidden(service: str) -> OnedataError:
    json = to_json(service)
    return OnedataError(
        "tokenServiceForbidden",
        description=f"The service {json['type']}:{json['id']} is forbidden for this subject.",
        service=json,
    )


def allowed(ctx: Context, subject: Subject, service: str) -> bool:
    """Whether `service` may process `subject`'s access tokens (oz-worker's `is_service_allowed`)."""
    kind, service_id = service[:3], service[4:]
    if kind == "ozw" and service_id in ONEZONE_IDS:
        return True
    if subject.type != "user":
        return False
    if service_id == cv.WILDCARD:
        return True
    if kind in ("opp", "opw"):
        return memberships.get(ctx, service_id, subject.id or "") is not None
    return False  # Onezone's own panel: this registry has no Onezone cluster to be a member of


def require_allowed(ctx: Context, subject: Subject, service: str) -> None:
    if not allowed(ctx, subject, service):
        raise forbidden(service)


def require_allowed_by_caveats(ctx: Context, subject: Subject, caveats: tuple[cv.Caveat, ...]) -> None:
    """An access token about to be issued: every service its `service` caveats whitelist must be
    allowed to serve its subject (oz-worker checks this at creation, as at use)."""
    for caveat in caveats:
        if isinstance(caveat, cv.Service):
            for service in caveat.whitelist:
                require_allowed(ctx, subject, service)


def allowed_api(caveat: cv.Service) -> cv.Api:
    """The API a token with this `service` caveat may use (ctool's `service_caveats:to_allowed_api`):
    the union of what each whitelisted kind of service needs."""
    kinds = sorted({service[:3] for service in caveat.whitelist})
    return cv.Api(tuple(MatchSpec.parse(spec) for kind in kinds for spec in ALLOWED_API[kind]))
