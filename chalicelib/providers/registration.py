"""Provider registration: the registration token, and `POST /providers` all or nothing.

Registration order (Onezone's checks, then our writes):
1. `subdomainDelegationNotSupported`, required keys, values, coordinates (`validation`), the
   subdomain's length within the zone;
2. the token: parse (`badValueToken`), signature, caveats, record, invite type, uses left, the
   issuer's right to invite and the admin user's existence - all before anything is written;
3. the subdomain: reserved labels, then an atomic reservation in the identifiers table
   (conditional put: taken -> `badValueIdentifierOccupied`);
4. the DNS records are written in Route 53 (only the reservation holder writes that name);
5. one DynamoDB transaction: use the token (condition: still usable), confirm the reservation
   (condition: still ours), put provider, cluster, root token (its name claimed for the
   provider), the admin's membership with the admin privileges, and the cluster on the admin's
   list (condition: user exists and, under the restricted policy or for an invite naming somebody
   else, the issuer still may invite).
If step 4 or 5 fails for any reason, the records of step 4 are deleted and the reservation of
step 3 released, so a failed request leaves no provider, no cluster, no claim, no DNS record and an
unused token. The conditions, not the reads of step 2, are what make the token single-use and the
subdomain unique under concurrent requests; the reads only give early, precise errors.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from chalicelib import observability
from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.config import RegistrationPolicy
from chalicelib.context import Context
from chalicelib.dns import names, records, transitions
from chalicelib.errors import OnedataError
from chalicelib.models import RegisterProviderRequest, RegisterProviderResponse
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, identifiers, memberships
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.clusters import ClusterRecord
from chalicelib.store.memberships import MembershipRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.tokens import TokenRecord
from chalicelib.store.users import UserRecord
from chalicelib.tokens import caveats as cv
from chalicelib.tokens import issuing, verification
from chalicelib.tokens.codec import NOBODY, REGISTER_ONEPROVIDER, Subject, TokenType
from chalicelib.tokens.inspection import deserialize
from chalicelib.validation import parse_json_object, validate

log = logging.getLogger(__name__)

INVITE_PRIVILEGE = "oz_providers_invite"


@dataclass(frozen=True)
class Invite:
    """A verified registration invite: its stored item (named invites: the usage count) or its
    issuer's generation (temporary ones), and the user who becomes the cluster's admin."""

    issuer_id: str
    admin_id: str
    record: TokenRecord | None
    generation: int | None


def register(ctx: Context, body: bytes | None, source_ip: str | None) -> RegisterProviderResponse:
    """`POST /providers`, counted: `ProviderRegistered`, or `RegistrationRejected` by error id."""
    try:
        registered = _register(ctx, body, source_ip)
    except OnedataError as rejection:
        observability.count("RegistrationRejected", errorId=rejection.id)
        raise
    observability.count("ProviderRegistered")
    return registered


def _register(ctx: Context, body: bytes | None, source_ip: str | None) -> RegisterProviderResponse:
    """Nobody is authenticated: the invite's `consumer` caveats cannot hold, its `ip`/`geo`
    caveats are checked against the request's source address."""
    data = parse_json_object(body)
    names.require_support(ctx, data)
    request = validate(RegisterProviderRequest, data)
    if request.subdomainDelegation:
        names.check_length(ctx, request.subdomain or "")
    invite = _usable_invite(ctx, request.token, source_ip)
    if request.subdomainDelegation:
        names.check_subdomain(ctx, request.subdomain or "")
    return _create(ctx, request, invite)


def _usable_invite(ctx: Context, serialized: str, source_ip: str | None) -> Invite:
    context = cv.Context(now=int(time.time()), ip=source_ip, consumer=NOBODY, geo=ctx.geo)
    verified = verification.verify(ctx, deserialize(serialized), context, "inviteToken", REGISTER_ONEPROVIDER)
    record = verified.record
    require_uses_left(record)
    issuer = verified.subject_record
    if not isinstance(issuer, UserRecord):
        raise OnedataError("inviteTokenSubjectNotAuthorized")  # only users invite Oneproviders
    admin_id = verified.token.identifier.type.target_id or issuer.userId
    admin = issuer if admin_id == issuer.userId else user_store.get(ctx, admin_id)
    if admin is None:
        raise OnedataError("inviteTokenTargetIdInvalid", id=admin_id)
    if _needs_privilege(ctx, issuer.userId, admin_id) and INVITE_PRIVILEGE not in issuer.privileges:
        raise OnedataError("inviteTokenSubjectNotAuthorized")
    generation = verified.token.identifier.generation
    return Invite(issuer_id=issuer.userId, admin_id=admin_id, record=record, generation=generation)


def require_uses_left(record: TokenRecord | None) -> None:
    """A named invite below its usage limit (an early, precise error: the transaction's condition
    is what enforces it). Temporary invites are not counted, as in Onezone."""
    if record is not None and record.usageLimit is not None and record.usageCount >= record.usageLimit:
        raise OnedataError("inviteTokenUsageLimitReached")


def _needs_privilege(ctx: Context, issuer_id: str, admin_id: str) -> bool:
    """Whether inviting takes `oz_providers_invite`: under the restricted policy, and for an invite
    naming somebody else (Onezone's `has_privileges_to_invite` for `registerOneprovider`)."""
    return ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED or issuer_id != admin_id


def _create(ctx: Context, request: RegisterProviderRequest, invite: Invite) -> RegisterProviderResponse:
    now = int(time.time())
    provider_id = secrets.token_hex(16)
    admin_id = invite.admin_id
    root_token = issuing.named_record(
        Subject("oneprovider", provider_id), TokenType.access(), issuing.ROOT_TOKEN_NAME, now
    )
    serialized = issuing.serialize_named(ctx, root_token)
    provider = _provider_record(ctx, request, provider_id, root_token.tokenId, admin_id, now)
    cluster = ClusterRecord(clusterId=provider_id, serviceId=provider_id, creatorId=admin_id, createdAt=now)
    # The creator is the cluster's first member, with every privilege (Onezone's
    # `create_oneprovider_cluster`).
    membership = MembershipRecord(
        clusterId=provider_id, userId=admin_id, privileges=cluster_privileges.ADMIN, createdAt=now
    )
    with (
        transitions.reserved(ctx, provider.subdomain, provider_id),
        transitions.transition(ctx, [], records.provider_records(ctx, provider), reference=provider_id),
    ):
        _commit(ctx, invite, provider, cluster, membership, root_token)
    log.info("registered provider %s (admin %s, domain %s)", provider_id, admin_id, provider.domain)
    return RegisterProviderResponse(
        providerId=provider_id, providerRootToken=serialized, macaroon=serialized, adminUserId=admin_id
    )


def _provider_record(
    ctx: Context, request: RegisterProviderRequest, provider_id: str, root_token_id: str, admin_id: str, now: int
) -> ProviderRecord:
    delegated = request.subdomainDelegation
    return ProviderRecord(
        providerId=provider_id,
        name=request.name,
        adminEmail=request.adminEmail,
        subdomainDelegation=delegated,
        subdomain=request.subdomain if delegated else None,
        domain=names.fqdn(ctx, request.subdomain or "") if delegated else request.domain or "",
        opWorkerIpAddresses=request.worker_ips,
        opWorkerPort=request.opWorkerPort,
        oneS3IpAddresses=request.oneS3IpAddresses or [],
        oneS3Port=request.oneS3Port,
        latitude=request.latitude,
        longitude=request.longitude,
        rootTokenId=root_token_id,
        adminUserId=admin_id,
        createdAt=now,
        namedTokens=[root_token_id],
    )


def _commit(
    ctx: Context,
    invite: Invite,
    provider: ProviderRecord,
    cluster: ClusterRecord,
    membership: MembershipRecord,
    root_token: TokenRecord,
) -> None:
    """The single transaction of step 5, with each failed condition mapped to its Onezone error.

    A named invite is used up by its condition; a temporary one (not counted, as in Onezone)
    holds only while its issuer's generation stands, so a revocation racing this request wins.
    """
    needed = (INVITE_PRIVILEGE,) if _needs_privilege(ctx, invite.issuer_id, provider.adminUserId) else ()
    # The issuer must still be entitled to invite, and a temporary invite's generation current:
    # conditions on the issuer's item - the admin's own, when the issuer is the admin.
    issuer_is_admin = invite.issuer_id == provider.adminUserId
    ops: dict[str, db.TransactItem] = {}
    if invite.record is not None:
        ops["token"] = token_store.consume_op(ctx, invite.record)
    requirements = (needed, invite.generation) if issuer_is_admin else ((), None)
    ops["membership"], ops["admin"] = memberships.join_ops(ctx, membership, *requirements)
    ops["provider"] = provider_store.TABLE.put_new_op(ctx, provider)
    ops["cluster"] = cluster_store.TABLE.put_new_op(ctx, cluster)
    ops["rootToken"] = token_store.TABLE.put_new_op(ctx, root_token)
    ops["rootTokenName"] = identifiers.claim_op(
        ctx, token_store.NAME_CLAIM, token_store.name_key(root_token), root_token.tokenId, root_token.createdAt
    )
    if not issuer_is_admin and (needed or invite.generation is not None):
        ops["issuer"] = user_store.still_op(ctx, invite.issuer_id, needed, invite.generation)
    if provider.subdomain:
        ops["subdomain"] = identifiers.confirm_op(ctx, identifiers.SUBDOMAIN, provider.subdomain, provider.providerId)
    names = list(ops)
    try:
        db.transact(ctx.aws.dynamodb, list(ops.values()), request_token=provider.providerId)
    except db.Cancelled as cancelled:
        failed = [name for index, name in enumerate(names) if cancelled.failed(index)]
        # The provider item, keyed by a fresh random id, failing its condition means this very
        # transaction already committed: an attempt whose answer was lost, retried by botocore and
        # run again (DynamoDB would honour the idempotency token; emulators such as moto do not).
        # That registration stands: an error now would undo its DNS records, but not the records.
        if "provider" in failed and _committed_after_all(ctx, provider.providerId):
            return
        old = cancelled.old_item(names.index(failed[0]))
        raise _cancellation_error(failed[0], old, provider, invite) from None
    except Exception:
        if not _committed_after_all(ctx, provider.providerId):
            raise


def _committed_after_all(ctx: Context, provider_id: str) -> bool:
    """After a failure whose outcome is unknown (a timeout, a 5xx after the write), whether the
    transaction committed anyway: then the registration succeeded and must not be undone."""
    try:
        return provider_store.TABLE.get(ctx, provider_id) is not None
    except Exception:  # still unreachable: treat as not committed, and undo
        log.exception("could not tell whether registration %s committed", provider_id)
        return False


def _cancellation_error(what: str, old: dict | None, provider: ProviderRecord, invite: Invite) -> Exception:
    """Which Onezone error a failed transaction condition stands for (the first one wins)."""
    if what == "token":
        if old is None:
            return OnedataError("tokenInvalid")
        return OnedataError("tokenRevoked" if old.get("revoked") else "inviteTokenUsageLimitReached")
    if what == "subdomain":
        return OnedataError("badValueIdentifierOccupied", key="subdomain")
    if what in ("admin", "issuer"):
        if old is None:
            if what == "admin":
                return OnedataError("inviteTokenTargetIdInvalid", id=provider.adminUserId)
            return OnedataError("tokenSubjectInvalid")
        issuer_item = what == "issuer" or invite.issuer_id == provider.adminUserId
        if issuer_item and invite.generation is not None and old.get("temporaryTokenGeneration") != invite.generation:
            return OnedataError("tokenRevoked")  # all the issuer's temporary tokens were revoked meanwhile
        return OnedataError("inviteTokenSubjectNotAuthorized")
    # A fresh random id collided with an existing item: astronomically unlikely, not the client's fault.
    return RuntimeError(f"registration transaction cancelled by {what}")
