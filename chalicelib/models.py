"""Request and response bodies of the REST API, as pydantic models.

Field names are the wire names (Onezone's camelCase), so the models double as the API's schema.
Request models validate with the Onedata-typed fields of `chalicelib.validation`.
"""

import json
import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, model_validator

from chalicelib.clusters import privileges as cluster_privileges
from chalicelib.model_base import Model
from chalicelib.tokens import caveats as cv
from chalicelib.tokens.codec import INVITE_TYPES, REGISTER_ONEPROVIDER, USER_JOIN_CLUSTER, TokenType
from chalicelib.validation import (
    Boolean,
    Domain,
    Email,
    IPv4Address,
    IPv4List,
    Latitude,
    Longitude,
    Name,
    NonEmptyString,
    Port,
    RequestModel,
    Subdomain,
    Ttl,
    TxtString,
    as_boolean,
    invalid,
    require_string,
)
from chalicelib.zone import CurrentTime, ZoneConfiguration  # noqa: F401 - bodies, declared light there

# Onezone administrative privileges this service knows about (a subset of Onezone's `oz_*`
# privileges: those that govern users, privileges, providers, clusters and tokens).
OZ_PRIVILEGES: tuple[str, ...] = (
    "oz_view_privileges",
    "oz_set_privileges",
    "oz_users_list",
    "oz_users_view",
    "oz_users_create",
    "oz_users_delete",
    "oz_users_list_relationships",
    "oz_users_add_relationships",
    "oz_users_remove_relationships",
    "oz_providers_list",
    "oz_providers_view",
    "oz_providers_invite",
    "oz_providers_delete",
    "oz_clusters_list",
    "oz_clusters_view",
    "oz_clusters_update",
    "oz_clusters_list_relationships",
    "oz_clusters_add_relationships",
    "oz_clusters_remove_relationships",
    "oz_clusters_view_privileges",
    "oz_clusters_set_privileges",
    "oz_tokens_manage",
)

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,18}[A-Za-z0-9]$")
_FULL_NAME = re.compile(r"^[\w](?:[\w()\-\s.,']{0,48}[\w().,'])?$")


def _username(value: Any, info: ValidationInfo) -> str:
    if not _USERNAME.fullmatch(require_string(value, info)):
        raise invalid("badValueUsername")
    return value


def _password(value: Any, info: ValidationInfo) -> str:
    password = require_string(value, info)
    if len(password) < 8 or ":" in password or any(ch.isspace() for ch in password):
        raise invalid("badValuePassword")
    return password


def _full_name(value: Any, info: ValidationInfo) -> str:
    if not _FULL_NAME.fullmatch(require_string(value, info).strip()):
        raise invalid("badValueFullName")
    return value.strip()


def _privileges_of(allowed: tuple[str, ...] | list[str]) -> BeforeValidator:
    """A list of privilege names, each one of `allowed`; sorted and without duplicates."""

    def privilege_list(value: Any, info: ValidationInfo) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid("badValueListOfStrings", key=info.field_name)
        if not set(value) <= set(allowed):
            raise invalid("badValueListNotAllowed", key=info.field_name, allowed=list(allowed))
        return sorted(set(value))

    return BeforeValidator(privilege_list)


def _entity_id(value: Any) -> bool:
    """An id that fits in a token identifier (no `:` or `/`, which separate its parts)."""
    return isinstance(value, str) and bool(value) and ":" not in value and "/" not in value


def _token_type(value: Any, info: ValidationInfo) -> TokenType:
    """Onezone's token type object. This registry issues access and identity tokens,
    `registerOneprovider` invites (one without `adminUserId` is for the caller) and
    `userJoinCluster` invites (`clusterId` required; `parameters` are ignored, as Onezone ignores
    them): the other invite types target spaces, groups and harvesters, which it does not keep."""
    bad = invalid("badValueTokenType", key=info.field_name)
    if not isinstance(value, dict) or len(value) != 1:
        raise bad
    [(kind, spec)] = value.items()
    if not isinstance(spec, dict):
        raise bad
    if kind == "accessToken" and not spec:
        return TokenType.access()
    if kind == "identityToken":
        return TokenType("identityToken")
    if kind == "inviteToken" and spec.get("inviteType") == REGISTER_ONEPROVIDER:
        admin = spec.get("adminUserId")
        if admin is not None and not _entity_id(admin):
            raise bad
        return TokenType("inviteToken", invite_type=REGISTER_ONEPROVIDER, target_id=admin)
    if kind == "inviteToken" and spec.get("inviteType") == USER_JOIN_CLUSTER and _entity_id(spec.get("clusterId")):
        return TokenType.invite(USER_JOIN_CLUSTER, spec["clusterId"])
    raise bad


def _caveats(value: Any, info: ValidationInfo) -> tuple[cv.Caveat, ...]:
    """JSON caveats as Onezone sanitizes them: one that is not valid is `badValueCaveat` with
    the caveat as given; anything but a list is `badData`."""
    if not isinstance(value, list):
        raise invalid("badData", key=info.field_name)
    parsed = []
    for item in value:
        try:
            parsed.append(cv.from_json(item))
        except ValueError:
            shown = item if isinstance(item, (dict, str)) else json.dumps(item)
            raise invalid("badValueCaveat", caveat=shown) from None
    return tuple(parsed)


def _invite_type(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str) or value not in INVITE_TYPES:
        raise invalid("badValueInviteType", key=info.field_name)
    return value


def _interface(value: Any, info: ValidationInfo) -> str:
    if value not in cv.INTERFACES:
        raise invalid("badValueNotAllowed", key=info.field_name, allowed=list(cv.INTERFACES))
    return value


def _version_info(value: Any, info: ValidationInfo) -> dict[str, str]:
    """`{"release", "build", "gui"}`, each a non-empty string (Onezone checks no format)."""
    if not isinstance(value, dict):
        raise invalid("badData", key=info.field_name)
    version = {}
    for part in ("release", "build", "gui"):
        key = f"{info.field_name}.{part}"
        item = value.get(part)
        if item is None or item == "":
            raise invalid("badValueEmpty", key=key)
        if not isinstance(item, str):
            raise invalid("badValueString", key=key)
        version[part] = item
    return version


Username = Annotated[str, BeforeValidator(_username)]
Password = Annotated[str, BeforeValidator(_password)]
FullName = Annotated[str, BeforeValidator(_full_name)]
PrivilegeList = Annotated[list[str], _privileges_of(OZ_PRIVILEGES)]
ClusterPrivilegeList = Annotated[
    list[str],
    _privileges_of(cluster_privileges.ALL),
    WithJsonSchema({"type": "array", "items": {"enum": cluster_privileges.ALL}}),
]


def _only(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "additionalProperties": False, "properties": {key: value}}


TOKEN_TYPE_SCHEMA = {
    "description": (
        "The types this registry issues; a registerOneprovider invite without adminUserId is for the caller."
    ),
    "oneOf": [
        _only("accessToken", {"type": "object", "maxProperties": 0}),
        _only("identityToken", {"type": "object"}),
        _only(
            "inviteToken",
            {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["inviteType"],
                        "properties": {
                            "inviteType": {"const": REGISTER_ONEPROVIDER},
                            "adminUserId": {"type": "string"},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["inviteType", "clusterId"],
                        "properties": {
                            "inviteType": {"const": USER_JOIN_CLUSTER},
                            "clusterId": {"type": "string", "minLength": 1},
                            "parameters": {"type": "object"},
                        },
                    },
                ]
            },
        ),
    ],
}
TokenTypeField = Annotated[Any, BeforeValidator(_token_type), WithJsonSchema(TOKEN_TYPE_SCHEMA)]


def _caveat_schema(caveat_type: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", *properties],
        "properties": {"type": {"const": caveat_type}, **properties},
    }


def _non_empty_list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": items}


_FILTER = {"enum": ["whitelist", "blacklist"]}
CAVEAT_SCHEMA = {
    "description": "A Onedata caveat in its JSON form.",
    "oneOf": [
        _caveat_schema("time", validUntil={"type": "integer"}),
        _caveat_schema("ip", whitelist=_non_empty_list({"type": "string", "description": "a.b.c.d or a.b.c.d/len"})),
        _caveat_schema("asn", whitelist=_non_empty_list({"type": "integer"})),
        _caveat_schema("geo.country", filter=_FILTER, list=_non_empty_list({"type": "string", "pattern": "^..$"})),
        _caveat_schema("geo.region", filter=_FILTER, list=_non_empty_list({"enum": list(cv.REGIONS)})),
        _caveat_schema("service", whitelist=_non_empty_list({"type": "string", "pattern": "^(ozw|opw|ozp|opp)-."})),
        _caveat_schema("consumer", whitelist=_non_empty_list({"type": "string", "pattern": "^(usr|grp|prv)-"})),
        _caveat_schema("interface", interface={"enum": list(cv.INTERFACES)}),
        _caveat_schema("api", whitelist=_non_empty_list({"type": "string", "description": "service/operation/gri"})),
        _caveat_schema("data.readonly"),
        _caveat_schema("data.path", whitelist=_non_empty_list({"type": "string", "contentEncoding": "base64"})),
        _caveat_schema("data.objectid", whitelist=_non_empty_list({"type": "string"})),
        {"type": "object", "required": ["scope"], "properties": {"scope": {"const": "identityToken"}}},
    ],
}
Caveats = Annotated[
    tuple[Any, ...],
    BeforeValidator(_caveats),
    WithJsonSchema({"type": "array", "items": CAVEAT_SCHEMA}),
]
InviteType = Annotated[str, BeforeValidator(_invite_type), WithJsonSchema({"enum": sorted(INVITE_TYPES)})]
InterfaceName = Annotated[str, BeforeValidator(_interface), WithJsonSchema({"enum": list(cv.INTERFACES)})]
VersionInfo = Annotated[
    dict[str, str],
    BeforeValidator(_version_info),
    WithJsonSchema(
        {
            "type": "object",
            "required": ["release", "build", "gui"],
            "properties": {"release": {"type": "string"}, "build": {"type": "string"}, "gui": {"type": "string"}},
        }
    ),
]


# ---- requests -----------------------------------------------------------------------------


class CreateUserRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("username", "password")
    username: Username
    password: Password
    fullName: FullName | None = None


class UpdatePrivilegesRequest(RequestModel):
    grant: PrivilegeList = []
    revoke: PrivilegeList = []


class DelegationRequest(RequestModel):
    """Where a provider lives: its own `domain`, or a `subdomain` of the zone with the worker IPs
    (`opWorkerIpAddresses`, or its deprecated name `ipList`). Which keys are required depends on
    `subdomainDelegation`; shared by registration and `PATCH /provider/domain_config`."""

    subdomainDelegation: Boolean
    subdomain: Subdomain | None = None
    ipList: IPv4List | None = None
    opWorkerIpAddresses: IPv4List | None = None
    domain: Domain | None = None

    @classmethod
    def required_keys(cls, data: dict[str, Any]) -> set[str]:
        required = {*cls.REQUIRED, "subdomainDelegation"}
        # Read as the field reads it ("True" included, 1 excluded), or delegation could be
        # switched on without the keys it requires.
        delegation = as_boolean(data.get("subdomainDelegation"))
        if delegation is True:
            required.add("subdomain")
            if data.get("ipList") is None:
                required.add("opWorkerIpAddresses")
        elif delegation is False:
            required.add("domain")
        return required

    @model_validator(mode="after")
    def _same_addresses(self) -> Self:
        """Both names of the worker IP list may be sent, but then they must agree."""
        both = self.ipList is not None and self.opWorkerIpAddresses is not None
        if both and set(self.ipList or []) != set(self.opWorkerIpAddresses or []):
            raise invalid("badData", key="ipList", hint="ipList must equal opWorkerIpAddresses when both are given")
        return self

    @property
    def worker_ips(self) -> list[str]:
        return self.opWorkerIpAddresses if self.opWorkerIpAddresses is not None else (self.ipList or [])


class RegisterProviderRequest(DelegationRequest):
    """`POST /providers`."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("token", "name", "adminEmail")
    token: NonEmptyString
    name: Name
    adminEmail: Email
    opWorkerPort: Port | None = None
    oneS3IpAddresses: IPv4List | None = None
    oneS3Port: Port | None = None
    latitude: Latitude = 0.0
    longitude: Longitude = 0.0

    @model_validator(mode="after")
    def _ones3_complete(self) -> Self:
        """OneS3 addresses and port come together."""
        if (self.oneS3IpAddresses is None) != (self.oneS3Port is None):
            missing = "oneS3Port" if self.oneS3Port is None else "oneS3IpAddresses"
            raise invalid("missingRequiredValue", key=missing)
        return self


# ---- responses ----------------------------------------------------------------------------


def _is_none(value: Any) -> bool:
    return value is None


def omitted_if_none() -> Any:
    """A response field that is left out, rather than sent as null, when it has no value."""
    return Field(default=None, exclude_if=_is_none)


class Subject(Model):
    """Who a token is for, or who created something: `{"type": "user", "id": ...}`."""

    type: str
    id: str | None


class ServiceVersion(Model):
    release: str
    build: str
    gui: str


class TokenResponse(Model):
    token: str


class UserShared(Model):
    """Onezone's shared view of a user (what cluster membership paths show), with its deprecated
    aliases: `name` of `fullName`, `login` and `alias` of `username`."""

    userId: str
    fullName: str
    username: str | None
    creationTime: int
    name: str
    login: str | None
    alias: str | None


class UserResponse(UserShared):
    """Onezone's protected view of a user (`GET /user`, `GET /users/{id}`): Onepanel reads
    `userId`, `name`, `linkedAccounts`, `username` and `emails`, all of them required."""

    basicAuthEnabled: bool
    blocked: bool
    emails: list[str]
    emailList: list[str]  # deprecated alias of `emails`
    linkedAccounts: list[dict[str, Any]]


class CreateUserResponse(Model):
    userId: str


class PrivilegesResponse(Model):
    privileges: list[str]


class RegisterProviderResponse(Model):
    """Onezone's answer (`macaroon` is its deprecated copy of the root token) and the seed's
    `adminUserId`."""

    providerId: str
    providerRootToken: str
    macaroon: str
    adminUserId: str


class ErrorObject(Model):
    id: str
    description: str
    details: dict[str, Any] | None = None


class ErrorResponse(Model):
    error: ErrorObject


# ---- providers after registration ---------------------------------------------------------


class ProviderDetails(Model):
    """Onezone's protected view of a provider. `online`: whether its GraphSync channel is open."""

    providerId: str
    clusterId: str  # a Oneprovider's cluster has its id
    name: str
    domain: str
    latitude: float
    longitude: float
    online: bool = False
    creationTime: int


class ProviderList(Model):
    providers: list[str]
    nextPageToken: str | None = omitted_if_none()


class UpdateProviderRequest(RequestModel):
    name: Name | None = None
    adminEmail: Email | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if not self.model_fields_set - {key for key, value in self if value is None}:
            raise invalid("missingAtLeastOneValue", keys=["adminEmail", "latitude", "longitude", "name"])
        return self


class DomainConfig(Model):
    subdomainDelegation: bool
    domain: str
    subdomain: str | None = None
    ipList: list[str]


class UpdateDomainConfigRequest(DelegationRequest):
    """`PATCH /provider/domain_config`."""


# Onezone's default TTL of a provider's TXT records (`dns_txt_ttl`).
DEFAULT_TXT_TTL = 120


class SetDnsTxtRecordRequest(RequestModel):
    """`PUT /provider/dns_txt_record/{record_name}`: Onezone's `dns_txt_record` aspect."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("content",)
    content: TxtString
    ttl: Ttl = DEFAULT_TXT_TTL


class ClusterList(Model):
    clusters: list[str]
    nextPageToken: str | None = omitted_if_none()  # `GET /clusters` only


class UserList(Model):
    users: list[str]


class GroupList(Model):
    groups: list[str]


class ClusterPrivilegeSets(Model):
    """`GET /clusters/privileges`: Onezone's named sets of cluster privileges."""

    member: list[str]
    manager: list[str]
    admin: list[str]


class AddClusterUserRequest(RequestModel):
    """`PUT /clusters/{id}/users/{uid}`; without `privileges` the user gets `cluster_view`."""

    privileges: ClusterPrivilegeList | None = None


class UpdateClusterPrivilegesRequest(RequestModel):
    """`PATCH /clusters/{id}/users/{uid}/privileges`: at least one of `grant`, `revoke`."""

    grant: ClusterPrivilegeList = []
    revoke: ClusterPrivilegeList = []

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if not {"grant", "revoke"} & self.model_fields_set:
            raise invalid("missingAtLeastOneValue", keys=["grant", "revoke"])
        return self


class JoinClusterRequest(RequestModel):
    """`POST /user/clusters/join`: a `userJoinCluster` invite token."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("token",)
    token: NonEmptyString


class ClusterDetails(Model):
    """Onezone's cluster view (`serviceId` and `creatorId` are ours: Onepanel derives the first,
    `creator` carries the second)."""

    clusterId: str
    type: str
    workerVersion: ServiceVersion
    onepanelVersion: ServiceVersion
    onepanelProxy: bool
    creator: Subject
    creationTime: int
    serviceId: str
    creatorId: str


# ---- tokens ----------------------------------------------------------------------------


class CreateTemporaryTokenRequest(RequestModel):
    """`POST /user/tokens/temporary`; the type defaults to an access token, as in Onezone."""

    type: TokenTypeField = Field(default={"accessToken": {}}, validate_default=True)
    caveats: Caveats = ()


def _not_boolean(value: Any) -> Any:
    """A JSON boolean is no count, though pydantic's lax mode reads `true` as the integer 1."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a usage limit")
    return value


class CreateNamedTokenRequest(CreateTemporaryTokenRequest):
    """`POST /user/tokens/named`, `/provider/tokens/named`; `usageLimit` (invites only) defaults
    to "infinity"; `privileges` (`userJoinCluster` invites only, ignored otherwise) are what the
    joiner gets instead of the default."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("name",)
    name: Name
    usageLimit: Annotated[int, BeforeValidator(_not_boolean), Field(ge=1)] | Literal["infinity"] = "infinity"
    privileges: ClusterPrivilegeList | None = None

    @model_validator(mode="before")
    @classmethod
    def _privileges_for_cluster_invites(cls, data: Any) -> Any:
        """Onezone reads `privileges` only for invites that carry them, and drops it otherwise."""
        kind = data.get("type") if isinstance(data, dict) else None
        invite = kind.get("inviteToken") if isinstance(kind, dict) else None
        if isinstance(data, dict) and not (isinstance(invite, dict) and invite.get("inviteType") == USER_JOIN_CLUSTER):
            data = {key: value for key, value in data.items() if key != "privileges"}
        return data


class CreatedToken(Model):
    tokenId: str
    token: str


class TokenInfo(Model):
    """`GET /tokens/named/{id}`: Onezone's fields (`metadata`, and the token itself, minted
    again from its item), plus flat copies of the metadata kept for convenience."""

    id: str
    name: str
    persistence: str
    subject: Subject
    type: dict[str, Any]
    caveats: list[dict[str, Any]]
    metadata: dict[str, Any]
    revoked: bool
    token: str
    usageLimit: int | Literal["infinity"] | None = omitted_if_none()
    usageCount: int | None = omitted_if_none()
    creationTime: int


class TokenIdList(Model):
    tokens: list[str]


class TemporaryTokenGeneration(Model):
    """`GET .../tokens/temporary`: the generation the subject's temporary tokens are signed for."""

    generation: int


class UpdateTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("revoked",)
    revoked: Boolean


class ExamineTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("token",)
    token: NonEmptyString


class ExaminedToken(Model):
    onezoneDomain: str
    id: str
    persistence: str
    subject: Subject
    type: dict[str, Any]
    caveats: list[dict[str, Any]]


class VerifyTokenRequest(RequestModel):
    """What every `POST /tokens/verify_*` takes: the peer the token would be used from
    (default: the caller) and the consumer's identity token (default: the caller)."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("token",)
    token: NonEmptyString
    peerIp: IPv4Address | None = None
    consumerToken: NonEmptyString | None = None


class VerifyInviteTokenRequest(VerifyTokenRequest):
    expectedInviteType: InviteType | None = None


class VerifyIdentityTokenRequest(VerifyTokenRequest):
    interface: InterfaceName | None = None


class VerifyAccessTokenRequest(VerifyIdentityTokenRequest):
    serviceToken: NonEmptyString | None = None
    allowDataAccessCaveats: Boolean = False


class VerifiedToken(Model):
    subject: Subject
    ttl: int | None


class ConfineTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("token", "caveats")
    token: NonEmptyString
    caveats: Caveats


# ---- storages (GraphSync) -----------------------------------------------------------------


def _qos_parameters(value: Any, info: ValidationInfo) -> dict[str, Any]:
    """An object of strings and numbers (Onezone's `qos_parameters` rule)."""
    valid = isinstance(value, dict) and all(
        isinstance(item, str) or (isinstance(item, (int, float)) and not isinstance(item, bool))
        for item in value.values()
    )
    if not valid:
        raise invalid("badValueQoSParameters")
    return dict(value)


QosParameters = Annotated[dict[str, Any], BeforeValidator(_qos_parameters)]
STORAGE_FIELDS = ["imported", "name", "qosParameters", "readonly"]


class StorageRequest(RequestModel):
    """What a Oneprovider says of a storage (`storage.<id>.instance`); `qos_parameters` is the
    deprecated name of `qosParameters`."""

    name: Name | None = None
    qosParameters: QosParameters | None = None
    qos_parameters: QosParameters | None = None
    imported: Boolean | None = None
    readonly: Boolean | None = None

    @property
    def qos(self) -> dict[str, Any] | None:
        return self.qosParameters if self.qosParameters is not None else self.qos_parameters


class CreateStorageRequest(StorageRequest):
    REQUIRED: ClassVar[tuple[str, ...]] = ("name",)


class UpdateStorageRequest(StorageRequest):
    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if all(getattr(self, key) is None for key in (*STORAGE_FIELDS, "qos_parameters")):
            raise invalid("missingAtLeastOneValue", keys=STORAGE_FIELDS)
        return self


# ---- Onepanel's calls ---------------------------------------------------------------------


class UpdateClusterRequest(RequestModel):
    """`PATCH /clusters/{id}`: what Onepanel reports of itself after registering."""

    workerVersion: VersionInfo | None = None
    onepanelVersion: VersionInfo | None = None
    onepanelProxy: Boolean | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.workerVersion is None and self.onepanelVersion is None and self.onepanelProxy is None:
            raise invalid("missingAtLeastOneValue", keys=["onepanelProxy", "onepanelVersion", "workerVersion"])
        return self
