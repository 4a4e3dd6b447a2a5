"""Request and response bodies of the REST API, as pydantic models.

Field names are the wire names (Onezone's camelCase), so the models double as the API's schema.
Request models validate with the Onedata-typed fields of `chalicelib.validation`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from chalicelib.validation import (
    Boolean,
    Domain,
    Email,
    IPv4List,
    Latitude,
    Longitude,
    Name,
    NonEmptyString,
    Port,
    RequestModel,
    Subdomain,
    as_boolean,
    invalid,
    require_string,
)

# Onezone administrative privileges this service knows about (a subset of Onezone's `oz_*`
# privileges: those that govern users, privileges, providers, clusters and tokens).
OZ_PRIVILEGES: tuple[str, ...] = (
    "oz_view_privileges",
    "oz_set_privileges",
    "oz_users_list",
    "oz_users_view",
    "oz_users_create",
    "oz_users_delete",
    "oz_providers_list",
    "oz_providers_view",
    "oz_providers_invite",
    "oz_providers_delete",
    "oz_clusters_list",
    "oz_clusters_view",
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


def _privilege_list(value: Any, info: ValidationInfo) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("badValueListOfStrings", key=info.field_name)
    if not set(value) <= set(OZ_PRIVILEGES):
        raise invalid("badValueListNotAllowed", key=info.field_name, allowed=list(OZ_PRIVILEGES))
    return sorted(set(value))


Username = Annotated[str, BeforeValidator(_username)]
Password = Annotated[str, BeforeValidator(_password)]
FullName = Annotated[str, BeforeValidator(_full_name)]
PrivilegeList = Annotated[list[str], BeforeValidator(_privilege_list)]


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
    def _same_addresses(self) -> DelegationRequest:
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
    def _ones3_complete(self) -> RegisterProviderRequest:
        """OneS3 addresses and port come together."""
        if (self.oneS3IpAddresses is None) != (self.oneS3Port is None):
            missing = "oneS3Port" if self.oneS3Port is None else "oneS3IpAddresses"
            raise invalid("missingRequiredValue", key=missing)
        return self


# ---- responses ----------------------------------------------------------------------------


class TokenResponse(BaseModel):
    token: str


class UserResponse(BaseModel):
    userId: str
    username: str
    fullName: str
    basicAuthEnabled: bool = True


class CreateUserResponse(BaseModel):
    userId: str


class PrivilegesResponse(BaseModel):
    privileges: list[str]


class RegisterProviderResponse(BaseModel):
    providerId: str
    providerRootToken: str
    adminUserId: str


class ErrorObject(BaseModel):
    id: str
    description: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorObject


# ---- providers after registration ---------------------------------------------------------


class ProviderDetails(BaseModel):
    """Onezone's protected view of a provider. `online` is always false: this registry does not
    hold the providers' connections, so it cannot know."""

    providerId: str
    name: str
    domain: str
    latitude: float
    longitude: float
    online: bool = False


class ProviderList(BaseModel):
    providers: list[str]
    nextPageToken: str | None = None


class UpdateProviderRequest(RequestModel):
    name: Name | None = None
    adminEmail: Email | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> UpdateProviderRequest:
        if not self.model_fields_set - {key for key, value in self if value is None}:
            raise invalid("missingAtLeastOneValue", keys=["adminEmail", "latitude", "longitude", "name"])
        return self


class DomainConfig(BaseModel):
    subdomainDelegation: bool
    domain: str
    subdomain: str | None = None
    ipList: list[str]


class UpdateDomainConfigRequest(DelegationRequest):
    """`PATCH /provider/domain_config`."""


class ClusterList(BaseModel):
    clusters: list[str]


class ClusterDetails(BaseModel):
    clusterId: str
    type: str
    serviceId: str
    creatorId: str
    creationTime: int


class ZoneConfiguration(BaseModel):
    version: str
    domain: str
    subdomainDelegationSupported: bool
    providerRegistrationPolicy: str


# ---- tokens -------------------------------------------------------------------------------


class TimeCaveat(BaseModel):
    type: Literal["time"]
    validUntil: int


class InviteTokenType(BaseModel):
    inviteType: Literal["registerOneprovider"]
    adminUserId: str | None = None


class TokenTypeSpec(BaseModel):
    """Onezone's token type object: `{"accessToken": {}}` or `{"inviteToken": {...}}`."""

    model_config = ConfigDict(extra="forbid")
    accessToken: dict[str, Any] | None = None
    inviteToken: InviteTokenType | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TokenTypeSpec:
        if (self.accessToken is None) == (self.inviteToken is None):
            raise invalid("badData", key="type", hint="give exactly one of accessToken, inviteToken")
        return self


class CreateTemporaryTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("type",)
    type: TokenTypeSpec
    caveats: list[TimeCaveat] = []


def _not_boolean(value: Any) -> Any:
    """A JSON boolean is no count, though pydantic's lax mode reads `true` as the integer 1."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a usage limit")
    return value


class CreateNamedTokenRequest(CreateTemporaryTokenRequest):
    REQUIRED: ClassVar[tuple[str, ...]] = ("name", "type")
    name: Name
    usageLimit: Annotated[int, BeforeValidator(_not_boolean), Field(ge=1)] | Literal["infinity"] | None = None


class CreatedToken(BaseModel):
    tokenId: str
    token: str


class Subject(BaseModel):
    type: str
    id: str


class TokenInfo(BaseModel):
    id: str
    name: str | None = None
    persistence: str
    subject: Subject
    type: dict[str, Any]
    caveats: list[TimeCaveat]
    revoked: bool
    usageLimit: int | Literal["infinity"] | None = None
    usageCount: int | None = None
    creationTime: int


class TokenIdList(BaseModel):
    tokens: list[str]


class UpdateTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("revoked",)
    revoked: Boolean


class ExamineTokenRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("token",)
    token: NonEmptyString


class ExaminedToken(BaseModel):
    id: str
    persistence: str
    subject: Subject
    type: dict[str, Any]
    caveats: list[TimeCaveat]
    onezoneDomain: str
