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
   (condition: still ours), put provider, cluster and root token, add the cluster to the admin user
   (condition: user exists and, under the restricted policy, the issuer still may invite).
If step 4 or 5 fails for any reason, the records of step 4 are deleted and the reservation of
step 3 released, so a failed request leaves no provider, no cluster, no claim, no DNS record and an
unused token. The conditions, not the reads of step 2, are what make the token single-use and the
subdomain unique under concurrent requests; the reads only give early, precise errors.
"""

from __future__ import annotations

import logging
import secrets
import time

from chalicelib import dns, tokens
from chalicelib.auth import require_privilege
from chalicelib.config import RegistrationPolicy
from chalicelib.context import Context
from chalicelib.errors import OnedataError
from chalicelib.models import RegisterProviderRequest, RegisterProviderResponse, TokenResponse
from chalicelib.store import clusters as cluster_store
from chalicelib.store import db, identifiers
from chalicelib.store import providers as provider_store
from chalicelib.store import tokens as token_store
from chalicelib.store import users as user_store
from chalicelib.store.clusters import CLUSTER_ADMIN_PRIVILEGES, ClusterRecord
from chalicelib.store.providers import ProviderRecord
from chalicelib.store.tokens import SubjectType, TokenRecord
from chalicelib.store.users import UserRecord
from chalicelib.validation import parse_json_object, validate

log = logging.getLogger(__name__)

INVITE_PRIVILEGE = "oz_providers_invite"


def issue_registration_token(ctx: Context, user: UserRecord) -> TokenResponse:
    """`POST /user/clusters/provider_registration_token`: a single-use invite for `user`."""
    if ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED:
        require_privilege(user, INVITE_PRIVILEGE)
    record = tokens.registration_invite(ctx, user.userId, int(time.time()))
    return TokenResponse(token=tokens.issue(ctx, record))


def register(ctx: Context, body: bytes | None) -> RegisterProviderResponse:
    """`POST /providers`."""
    data = parse_json_object(body)
    dns.require_support(ctx, data)
    request = validate(RegisterProviderRequest, data)
    if request.subdomainDelegation:
        dns.check_length(ctx, request.subdomain or "")
    invite = _usable_invite(ctx, request.token)
    if request.subdomainDelegation:
        dns.check_subdomain(ctx, request.subdomain or "")
    return _create(ctx, request, invite)


def _usable_invite(ctx: Context, serialized: str) -> TokenRecord:
    try:
        macaroon = tokens.parse(serialized)
    except OnedataError as error:
        raise OnedataError("badValueToken", key="token", tokenError=error) from None
    record = tokens.verify(ctx, macaroon).record
    tokens.require_registration_invite(record)
    admin_id = record.adminUserId or record.subjectId
    admin = user_store.get(ctx, admin_id)
    if admin is None:
        raise OnedataError("inviteTokenTargetIdInvalid", id=admin_id)
    if _restricted(ctx):
        issuer = admin if admin.userId == record.subjectId else user_store.get(ctx, record.subjectId)
        if issuer is None or INVITE_PRIVILEGE not in issuer.privileges:
            raise OnedataError("inviteTokenSubjectNotAuthorized")
    return record


def _restricted(ctx: Context) -> bool:
    return ctx.settings.registration_policy is RegistrationPolicy.RESTRICTED


def _create(ctx: Context, request: RegisterProviderRequest, invite: TokenRecord) -> RegisterProviderResponse:
    now = int(time.time())
    provider_id = secrets.token_hex(16)
    admin_id = invite.adminUserId or invite.subjectId
    root_token = tokens.new_record(SubjectType.PROVIDER, provider_id, now, name="provider root token")
    provider = _provider_record(ctx, request, provider_id, root_token.tokenId, admin_id, now)
    cluster = ClusterRecord(
        clusterId=provider_id,
        serviceId=provider_id,
        creatorId=admin_id,
        members={admin_id: CLUSTER_ADMIN_PRIVILEGES},
        createdAt=now,
    )
    with (
        dns.reserved(ctx, provider.subdomain, provider_id),
        dns.transition(ctx, [], dns.provider_records(ctx, provider), reference=provider_id),
    ):
        _commit(ctx, invite, provider, cluster, root_token)
    log.info("registered provider %s (admin %s, domain %s)", provider_id, admin_id, provider.domain)
    return RegisterProviderResponse(
        providerId=provider_id,
        providerRootToken=tokens.serialize(ctx, root_token),
        adminUserId=admin_id,
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
        domain=dns.fqdn(ctx, request.subdomain or "") if delegated else request.domain or "",
        opWorkerIpAddresses=request.worker_ips,
        opWorkerPort=request.opWorkerPort,
        oneS3IpAddresses=request.oneS3IpAddresses or [],
        oneS3Port=request.oneS3Port,
        latitude=request.latitude,
        longitude=request.longitude,
        rootTokenId=root_token_id,
        adminUserId=admin_id,
        createdAt=now,
    )


def _commit(
    ctx: Context, invite: TokenRecord, provider: ProviderRecord, cluster: ClusterRecord, root_token: TokenRecord
) -> None:
    """The single transaction of step 5, with each failed condition mapped to its Onezone error."""
    issuer_is_admin = invite.subjectId == provider.adminUserId
    must_invite = INVITE_PRIVILEGE if _restricted(ctx) else None
    ops: dict[str, db.TransactItem] = {
        "token": token_store.consume_op(ctx, invite),
        "admin": user_store.join_cluster_op(
            ctx, provider.adminUserId, provider.providerId, must_invite if issuer_is_admin else None
        ),
        "provider": provider_store.TABLE.put_new_op(ctx, provider),
        "cluster": cluster_store.TABLE.put_new_op(ctx, cluster),
        "rootToken": token_store.TABLE.put_new_op(ctx, root_token),
    }
    if must_invite and not issuer_is_admin:
        ops["issuer"] = user_store.has_privilege_op(ctx, invite.subjectId, must_invite)
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
        raise _cancellation_error(failed, cancelled.old_item(names.index(failed[0])), provider) from None
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


def _cancellation_error(failed: list[str], old: dict | None, provider: ProviderRecord) -> Exception:
    """Which Onezone error a failed transaction condition stands for (the first one wins)."""
    what = failed[0]
    if what == "token":
        if old is None:
            return OnedataError("tokenInvalid")
        return OnedataError("tokenRevoked" if old.get("revoked") else "inviteTokenUsageLimitReached")
    if what == "subdomain":
        return OnedataError("badValueIdentifierOccupied", key="subdomain")
    if what == "admin" and old is None:
        return OnedataError("inviteTokenTargetIdInvalid", id=provider.adminUserId)
    if what in ("admin", "issuer"):
        return OnedataError("inviteTokenSubjectNotAuthorized")
    # A fresh random id collided with an existing item: astronomically unlikely, not the client's fault.
    return RuntimeError(f"registration transaction cancelled by {what}")
