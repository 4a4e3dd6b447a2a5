"""The operations the CLI knows: a static copy of the service's route table.

The CLI must run where only the standard library is installed, so it cannot import `app` (which
needs chalice, boto3 and pydantic) and it must answer `--help` without a server, so it cannot read
`/openapi.json` either. Hence this hand-kept table. `tests/test_cli.py` compares it, field by
field, with the OpenAPI document the app generates from its own routes and models, so a route,
path, body field or auth rule changed in `app.py` fails the suite until this table follows.

Query parameters are the one thing the OpenAPI document does not list; they are kept here and
exercised against the real service by the black-box test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

API_PREFIX = "/api/v3/onezone"


@dataclass(frozen=True)
class Operation:
    """One REST operation, named by its OpenAPI operationId.

    `path` is relative to `API_PREFIX`, or to the host's root for the few operations Onezone
    serves there (`root`: Nagios' health report, the legacy configuration path). `body` lists
    the request body's top-level fields (empty: the operation takes no body) and `required` those
    the body schema requires; the CLI rejects other keys because the service silently drops
    unknown ones, which would hide a typo.
    """

    operation_id: str
    method: str
    path: str
    summary: str
    body: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    public: bool = False
    deprecated: bool = False
    root: bool = False

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def has_body(self) -> bool:
        return bool(self.body)


_DELEGATION = ("subdomainDelegation", "subdomain", "ipList", "opWorkerIpAddresses", "domain")

OPERATIONS: tuple[Operation, ...] = (
    Operation("getCurrentUser", "GET", "/user", "Get the current user."),
    Operation(
        "createUser",
        "POST",
        "/users",
        "Create a user (oz_users_create).",
        body=("username", "password", "fullName"),
        required=("username", "password"),
    ),
    Operation("listUserAdminPrivileges", "GET", "/users/{user_id}/privileges", "A user's Onezone admin privileges."),
    Operation(
        "updateUserAdminPrivileges",
        "PATCH",
        "/users/{user_id}/privileges",
        "Grant or revoke Onezone admin privileges.",
        body=("grant", "revoke"),
    ),
    Operation(
        "createProviderRegistrationTokenForCurrentUser",
        "POST",
        "/user/clusters/provider_registration_token",
        "Create a provider registration token for the current user.",
        deprecated=True,
    ),
    Operation(
        "registerProvider",
        "POST",
        "/providers",
        "Register a Oneprovider.",
        body=(
            *_DELEGATION,
            "token",
            "name",
            "adminEmail",
            "opWorkerPort",
            "oneS3IpAddresses",
            "oneS3Port",
            "latitude",
            "longitude",
        ),
        required=("subdomainDelegation", "token", "name", "adminEmail"),
        public=True,
    ),
    Operation("getCurrentProvider", "GET", "/provider", "The calling provider's details."),
    Operation(
        "updateCurrentProvider",
        "PATCH",
        "/provider",
        "Modify the calling provider's details.",
        body=("name", "adminEmail", "latitude", "longitude"),
    ),
    Operation("unregisterProvider", "DELETE", "/provider", "Deregister the calling provider."),
    Operation(
        "getProviderDomainConfig", "GET", "/provider/domain_config", "The calling provider's domain configuration."
    ),
    Operation(
        "updateProviderDomainConfig",
        "PATCH",
        "/provider/domain_config",
        "Switch subdomain delegation, the subdomain or the worker IPs.",
        body=_DELEGATION,
        required=("subdomainDelegation",),
    ),
    Operation(
        "setProviderDnsTxtRecord",
        "PUT",
        "/provider/dns_txt_record/{record_name}",
        "Create or replace a TXT record <record_name>.<subdomain> (ACME DNS-01); needs subdomain delegation.",
        body=("content", "ttl"),
        required=("content",),
    ),
    Operation(
        "removeProviderDnsTxtRecord",
        "DELETE",
        "/provider/dns_txt_record/{record_name}",
        "Remove a TXT record <record_name>.<subdomain>.",
    ),
    Operation(
        "listProviders", "GET", "/providers", "List providers (oz_providers_list).", query=("limit", "page_token")
    ),
    Operation("getProvider", "GET", "/providers/{provider_id}", "Get a provider's details."),
    Operation("removeProvider", "DELETE", "/providers/{provider_id}", "Deregister a provider (oz_providers_delete)."),
    Operation("listUserClusters", "GET", "/user/clusters", "The current user's clusters."),
    Operation("getCluster", "GET", "/clusters/{cluster_id}", "Get a cluster's details."),
    Operation(
        "updateCluster",
        "PATCH",
        "/clusters/{cluster_id}",
        "Record the versions a cluster's services report (Onepanel, after registering).",
        body=("workerVersion", "onepanelVersion", "onepanelProxy"),
    ),
    Operation(
        "getCurrentTime",
        "GET",
        "/provider/public/get_current_time",
        "This zone's clock, in milliseconds (Onepanel syncs with it).",
        public=True,
    ),
    Operation(
        "checkMyIp",
        "GET",
        "/provider/public/check_my_ip",
        "The caller's IP address, as this zone sees it.",
        public=True,
    ),
    Operation("getConfiguration", "GET", "/configuration", "This Onezone's public configuration.", public=True),
    Operation(
        "getConfigurationLegacy",
        "GET",
        "/configuration",
        "This Onezone's public configuration (Onezone's legacy path, outside the API prefix).",
        public=True,
        root=True,
    ),
    Operation(
        "getHealth",
        "GET",
        "/nagios",
        "Onedata's health report (Nagios XML); Onepanel needs status ok before it registers.",
        public=True,
        root=True,
    ),
    Operation(
        "createNamedTokenForCurrentUser",
        "POST",
        "/user/tokens/named",
        "Create a named token.",
        body=("type", "caveats", "name", "usageLimit", "privileges"),
        required=("name",),
    ),
    Operation("listNamedTokensOfCurrentUser", "GET", "/user/tokens/named", "List named tokens."),
    Operation(
        "createTemporaryTokenForCurrentUser",
        "POST",
        "/user/tokens/temporary",
        "Create a temporary token.",
        body=("type", "caveats"),
    ),
    Operation(
        "revokeAllTemporaryTokensOfCurrentUser",
        "DELETE",
        "/user/tokens/temporary",
        "Revoke all the current user's temporary tokens.",
    ),
    Operation("getNamedToken", "GET", "/tokens/named/{token_id}", "Get a named token's details."),
    Operation(
        "updateNamedToken",
        "PATCH",
        "/tokens/named/{token_id}",
        "Revoke or reinstate a named token.",
        body=("revoked",),
        required=("revoked",),
    ),
    Operation("deleteNamedToken", "DELETE", "/tokens/named/{token_id}", "Delete a named token."),
    Operation(
        "examineToken",
        "POST",
        "/tokens/examine",
        "What a token claims to be (any Onedata token; no signature check).",
        body=("token",),
        required=("token",),
        public=True,
    ),
    Operation(
        "confineToken",
        "POST",
        "/tokens/confine",
        "Add caveats to a token.",
        body=("token", "caveats"),
        required=("token", "caveats"),
        public=True,
    ),
    Operation(
        "verifyInviteToken",
        "POST",
        "/tokens/verify_invite_token",
        "Verify an invite token for a use (does not use it up).",
        body=("token", "peerIp", "consumerToken", "expectedInviteType"),
        required=("token",),
        public=True,
    ),
    Operation(
        "verifyAccessToken",
        "POST",
        "/tokens/verify_access_token",
        "Verify an access token for a use.",
        body=("token", "peerIp", "consumerToken", "interface", "serviceToken", "allowDataAccessCaveats"),
        required=("token",),
        public=True,
    ),
    Operation(
        "verifyIdentityToken",
        "POST",
        "/tokens/verify_identity_token",
        "Verify an identity token for a use.",
        body=("token", "peerIp", "consumerToken", "interface"),
        required=("token",),
        public=True,
    ),
    Operation("ozClustersList", "GET", "/clusters", "List clusters (oz_clusters_list).", query=("limit", "page_token")),
    Operation(
        "listClusterPrivileges",
        "GET",
        "/clusters/privileges",
        "Onezone's sets of cluster privileges (member, manager, admin); for users and the anonymous.",
    ),
    Operation(
        "listClusterEffectiveGroups",
        "GET",
        "/clusters/{cluster_id}/effective_groups",
        "A cluster's effective groups (none here).",
    ),
    Operation(
        "listClusterEffectiveUsers", "GET", "/clusters/{cluster_id}/effective_users", "A cluster's effective users."
    ),
    Operation(
        "getClusterEffectiveUser",
        "GET",
        "/clusters/{cluster_id}/effective_users/{user_id}",
        "An effective member of a cluster (the shared view of the user).",
    ),
    Operation(
        "listEffectiveUserClusterPrivileges",
        "GET",
        "/clusters/{cluster_id}/effective_users/{user_id}/privileges",
        "An effective member's privileges in a cluster; 404 for a user who is not one.",
    ),
    Operation("listClusterGroups", "GET", "/clusters/{cluster_id}/groups", "A cluster's groups (none here)."),
    Operation("listClusterUsers", "GET", "/clusters/{cluster_id}/users", "A cluster's users."),
    Operation(
        "createClusterUserInviteToken",
        "POST",
        "/clusters/{cluster_id}/users/token",
        "Create a single-use invite to a cluster, with the default (admin) privileges.",
        deprecated=True,
    ),
    Operation(
        "removeClusterUser", "DELETE", "/clusters/{cluster_id}/users/{user_id}", "Remove a member from a cluster."
    ),
    Operation(
        "getClusterUser",
        "GET",
        "/clusters/{cluster_id}/users/{user_id}",
        "A member of a cluster (the shared view of the user).",
    ),
    Operation(
        "addClusterUser",
        "PUT",
        "/clusters/{cluster_id}/users/{user_id}",
        "Add a user to a cluster (with privileges, or cluster_view).",
        body=("privileges",),
    ),
    Operation(
        "listUserClusterPrivileges",
        "GET",
        "/clusters/{cluster_id}/users/{user_id}/privileges",
        "A member's privileges in a cluster.",
    ),
    Operation(
        "updateUserClusterPrivileges",
        "PATCH",
        "/clusters/{cluster_id}/users/{user_id}/privileges",
        "Grant or revoke a member's cluster privileges.",
        body=("grant", "revoke"),
    ),
    Operation(
        "deleteNamedTokensOfCurrentProvider",
        "DELETE",
        "/provider/tokens/named",
        "Delete all named tokens of a provider, its root token included.",
    ),
    Operation("listNamedTokensOfCurrentProvider", "GET", "/provider/tokens/named", "List a provider's named tokens."),
    Operation(
        "createNamedTokenForCurrentProvider",
        "POST",
        "/provider/tokens/named",
        "Create a named token of a provider (e.g. a userJoinCluster invite to its cluster).",
        body=("type", "caveats", "name", "usageLimit", "privileges"),
        required=("name",),
    ),
    Operation(
        "getNamedTokenOfCurrentProviderByName",
        "GET",
        "/provider/tokens/named/name/{name}",
        "Get a provider's named token by its name.",
    ),
    Operation(
        "revokeAllTemporaryTokensOfCurrentProvider",
        "DELETE",
        "/provider/tokens/temporary",
        "Revoke all temporary tokens of a provider.",
    ),
    Operation(
        "getTemporaryTokenGenerationOfCurrentProvider",
        "GET",
        "/provider/tokens/temporary",
        "The generation of a provider's temporary tokens.",
    ),
    Operation(
        "createTemporaryTokenForCurrentProvider",
        "POST",
        "/provider/tokens/temporary",
        "Create a temporary token of a provider (an identity token: Onepanel's service token).",
        body=("type", "caveats"),
    ),
    Operation(
        "deleteNamedTokensOfProvider",
        "DELETE",
        "/providers/{provider_id}/tokens/named",
        "Delete all named tokens of a provider, its root token included.",
    ),
    Operation(
        "listNamedTokensOfProvider", "GET", "/providers/{provider_id}/tokens/named", "List a provider's named tokens."
    ),
    Operation(
        "createNamedTokenForProvider",
        "POST",
        "/providers/{provider_id}/tokens/named",
        "Create a named token of a provider (e.g. a userJoinCluster invite to its cluster).",
        body=("type", "caveats", "name", "usageLimit", "privileges"),
        required=("name",),
    ),
    Operation(
        "getNamedTokenOfProviderByName",
        "GET",
        "/providers/{provider_id}/tokens/named/name/{name}",
        "Get a provider's named token by its name.",
    ),
    Operation(
        "revokeAllTemporaryTokensOfProvider",
        "DELETE",
        "/providers/{provider_id}/tokens/temporary",
        "Revoke all temporary tokens of a provider.",
    ),
    Operation(
        "getTemporaryTokenGenerationOfProvider",
        "GET",
        "/providers/{provider_id}/tokens/temporary",
        "The generation of a provider's temporary tokens.",
    ),
    Operation(
        "createTemporaryTokenForProvider",
        "POST",
        "/providers/{provider_id}/tokens/temporary",
        "Create a temporary token of a provider (an identity token: Onepanel's service token).",
        body=("type", "caveats"),
    ),
    Operation(
        "userJoinCluster",
        "POST",
        "/user/clusters/join",
        "Join a cluster with a userJoinCluster invite token.",
        body=("token",),
        required=("token",),
    ),
    Operation("userLeaveCluster", "DELETE", "/user/clusters/{cluster_id}", "Leave a cluster."),
    Operation("getUserCluster", "GET", "/user/clusters/{cluster_id}", "A cluster of the current user."),
    Operation(
        "listUserEffectiveClusters",
        "GET",
        "/user/effective_clusters",
        "The current user's effective clusters (with no groups here, its clusters).",
    ),
    Operation(
        "getUserEffectiveCluster", "GET", "/user/effective_clusters/{cluster_id}", "A cluster of the current user."
    ),
    Operation("getUser", "GET", "/users/{user_id}", "Get a user's details (the user themself, or oz_users_view)."),
    Operation(
        "createProviderRegistrationTokenForUser",
        "POST",
        "/users/{user_id}/clusters/provider_registration_token",
        "Create a provider registration token for a user (themself under the open policy, or oz_providers_invite).",
        deprecated=True,
    ),
    Operation("getOpenApiDocument", "GET", "/openapi.json", "This API's OpenAPI document.", public=True),
)

BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}
