"""The Onedata error model: one exception type and the catalogue of errors the API can produce.

Ids, HTTP statuses and description templates follow Onezone's `errors.erl` (see
`shared/reference/onezone-api-notes.md`), so clients written against Onezone recognise them.
A description template is formatted with the error's details; details that are nested errors
(`tokenError`, `authError`) are rendered as error bodies themselves.
"""

from __future__ import annotations

import json
from typing import Any

# id -> (HTTP status, description template)
CATALOGUE: dict[str, tuple[int, str]] = {
    "badMessage": (400, "This message could not be understood by the server."),
    "malformedData": (400, "Provided data could not be understood by the server."),
    "missingRequiredValue": (400, "Missing required value: {key}."),
    "missingAtLeastOneValue": (400, "Missing data, you must provide at least one of: {keys}."),
    "badData": (
        400,
        'Bad value: provided "{key}" has an invalid format or is incomprehensible in the context of this operation.',
    ),
    "badValueEmpty": (400, 'Bad value: provided "{key}" must not be empty.'),
    "badValueBoolean": (400, 'Bad value: provided "{key}" must be a boolean.'),
    "badValueString": (400, 'Bad value: provided "{key}" must be a string.'),
    "badValueListOfStrings": (400, 'Bad value: provided "{key}" must be a list of strings.'),
    "badValueInteger": (400, 'Bad value: provided "{key}" must be an integer.'),
    "badValueFloat": (400, 'Bad value: provided "{key}" must be a floating point number.'),
    "badValueTextTooLarge": (
        400,
        'Bad value: the text provided in "{key}" cannot be larger than {limit} characters.',
    ),
    "badValueToken": (400, 'Bad value: provided "{key}" is not a valid token (see details).'),
    "badValueIPv4Address": (400, 'Bad value: provided "{key}" is not a valid IPv4 address.'),
    "badValueListOfIPv4Addresses": (
        400,
        'Bad value: provided "{key}" is not a valid list of IPv4 addresses.',
    ),
    "badValueTooLow": (400, 'Bad value: provided "{key}" must be at least {limit}.'),
    "badValueTooHigh": (400, 'Bad value: provided "{key}" must not exceed {limit}.'),
    "badValueNotInRange": (400, 'Bad value: provided "{key}" must be between <{low}, {high}>.'),
    "badValueNotAllowed": (400, 'Bad value: provided "{key}" must be one of: {allowed}.'),
    "badValueListNotAllowed": (
        400,
        'Bad value: provided "{key}" must be a list containing zero or more of: {allowed}.',
    ),
    "badValueIdentifier": (400, 'Bad value: provided ID ("{key}") does not exist.'),
    "badValueIdNotFound": (400, 'Bad value: provided ID ("{key}") does not exist.'),
    "badValueIdentifierOccupied": (400, 'Bad value: provided identifier ("{key}") is already occupied.'),
    "badValueEmail": (400, "Bad value: provided e-mail is not valid."),
    "badValueName": (
        400,
        "Bad value: Name must be 2-128 characters long and composed only of UTF-8 letters, digits, "
        "brackets and underscores. Dashes, spaces and dots are allowed (but not at the beginning or "
        "the end).",
    ),
    "badValueUsername": (
        400,
        "Bad value: Username must be 2-20 characters long and composed only of letters and digits. "
        "Dashes, dots and underscores are allowed (but not at the beginning or the end).",
    ),
    "badValuePassword": (
        400,
        "Bad value: Password must be at least 8 characters long and cannot contain whitespaces or colons.",
    ),
    "badValueFullName": (
        400,
        "Bad value: Full name must be 1-50 characters long and composed only of UTF-8 letters and "
        "digits. Brackets, dashes, spaces, dots, commas and apostrophes are allowed (but not at the "
        "beginning or the end).",
    ),
    "badValueDomain": (400, "Bad value: provided domain is not valid."),
    "badValueSubdomain": (400, "Bad value: provided subdomain is not valid."),
    "subdomainDelegationNotSupported": (400, "Subdomain delegation is not supported by this Onezone."),
    "subdomainDelegationDisabled": (400, "Subdomain delegation is disabled for this Oneprovider."),
    "unauthorized": (401, "You must authenticate yourself to perform this operation."),
    "forbidden": (403, "You are not authorized to perform this operation."),
    "notFound": (404, "The resource could not be found."),
    # Onezone answers an unsupported operation with `notSupported`; we use HTTP's own status for it.
    "notSupported": (405, "This operation is not supported."),
    "alreadyExists": (409, "The resource already exists."),
    # Raised with ctool's description: "Bad value: user:<id> is already a member of cluster:<id>."
    "relationAlreadyExists": (409, "Bad value: the relation already exists."),
    "relationDoesNotExist": (400, "Bad value: the relation does not exist."),
    "internalServerError": (
        500,
        "The server has encountered an error while processing this request. If the problem "
        "persists, please contact the site's administrators, citing the following reference: "
        "{reference}.",
    ),
    "serviceUnavailable": (503, "Service required for this operation is offline."),
    "temporaryFailure": (503, "Temporary failure - please try again later."),
    "timeout": (503, "Operation timed out."),
    "externalServiceOperationFailed": (
        503,
        "Your request could not be fulfilled due to problems with the external service "
        "'{serviceName}'. Please try again later.",
    ),
    # Authentication and token errors: nested in `authError` / `tokenError`, or returned
    # on their own (HTTP 400) when a registration token fails verification or consumption.
    "badBasicCredentials": (401, "Invalid username or password."),
    "badToken": (400, "Provided token could not be understood by the server."),
    "tokenInvalid": (400, "Provided token is not valid."),
    "tokenRevoked": (400, "Provided token has been revoked."),
    "tokenTooLarge": (400, "Provided token exceeds the allowed size ({limit} characters)."),
    "tokenCaveatUnknown": (400, "Unknown caveat - '{caveat}'."),
    # Raised with the caveat's own explanation as the description (`caveats.Caveat.unverified`).
    "tokenCaveatUnverified": (400, "Provided token is not valid - a caveat could not be verified."),
    "tokenSubjectInvalid": (400, "The token subject is invalid (does not exist or is different than expected)."),
    # These three are raised with a description naming the type received, in Onezone's words.
    "notAnAccessToken": (400, "Expected an access token."),
    "notAnIdentityToken": (400, "Expected an identity token."),
    "notAnInviteToken": (400, "Expected an invitation token of type '{expectedInviteType}'."),
    "tokenTimeCaveatRequired": (400, "You must specify a time caveat with maximum TTL of {maxTtl} seconds."),
    "badValueCaveat": (400, "Provided caveat is invalid: '{caveat}'."),
    "badValueTokenType": (400, 'Bad value: provided "{key}" is not a valid token type.'),
    "badValueInviteType": (400, 'Bad value: provided "{key}" is not a valid invite type.'),
    "badConsumerToken": (400, "Provided consumer token is not valid (see details)."),
    "badServiceToken": (400, "Provided service token is not valid (see details)."),
    "inviteTokenUsageLimitReached": (400, "The usage limit of this invite token has been reached."),
    "inviteTokenSubjectNotAuthorized": (
        400,
        "The subject of this token is not (or no longer) authorized to issue such invitations.",
    ),
    "inviteTokenTargetIdInvalid": (400, "The target id of this invite token is not valid: {id}."),
    "inviteTokenConsumerInvalid": (400, "The consumer is invalid for this type of invite token."),
    # Raised with ctool's description naming the service (`services.forbidden`).
    "tokenServiceForbidden": (400, "The service is forbidden for this subject."),
    "limitReached": (400, "The limit for {resourceDescription} has been reached: {limit}."),
    # GraphSync (ctool's graph_sync errors) and what its storages' values must be.
    "expectedHandshakeMessage": (400, "Handshake must be performed prior to any requests."),
    "handshakeAlreadyDone": (400, "Handshake has already been done."),
    "badVersion": (400, "Bad version - supported versions: {supportedVersions}."),
    "badGRI": (400, "Provided GRI (Graph Resource Identifier) is invalid."),
    "rpcUndefined": (400, "Requested RPC operation is not defined."),
    "notSubscribable": (400, "Requested resource is not subscribable."),
    "badValueQoSParameters": (400, "Provided QoS parameters are invalid."),
    "requiresImportedStorage": (
        400,
        "Cannot apply for storage {storageId} - this operation requires an imported storage.",
    ),
}
# Descriptions that change when an optional detail is given, as ctool renders them.
WITH_DETAIL: dict[tuple[str, str], str] = {
    ("badData", "hint"): 'Bad value provided for "{key}": {hint}.',
}


class OnedataError(Exception):
    """A failure the client sees: an id from `CATALOGUE`, its HTTP status, and details.

    Raised anywhere in `chalicelib`; turned into the response body
    `{"error": {"id", "description", "details"}}` in exactly one place (`chalicelib.responses`).
    """

    def __init__(
        self,
        error_id: str,
        *,
        headers: dict[str, str] | None = None,
        description: str | None = None,
        **details: Any,
    ) -> None:
        if error_id not in CATALOGUE:
            raise KeyError(f"unknown Onedata error id {error_id!r}")
        self.id = error_id
        self.status, template = CATALOGUE[error_id]
        template = next((t for (i, d), t in WITH_DETAIL.items() if i == error_id and d in details), template)
        self.details = details
        self.headers = headers or {}
        self.description = description or template.format_map({k: _describe(v) for k, v in details.items()})
        super().__init__(f"{error_id}: {self.description}")

    def body(self) -> dict[str, Any]:
        """The error object as Onezone renders it, nested errors included."""
        error: dict[str, Any] = {"id": self.id, "description": self.description}
        if self.details:
            error["details"] = {
                key: value.body() if isinstance(value, OnedataError) else value for key, value in self.details.items()
            }
        return error


def _describe(value: Any) -> str:
    if isinstance(value, OnedataError):
        return value.id
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))  # as Onezone's `json_utils:encode`
    return str(value)


def unauthorized(auth_error: OnedataError | None = None) -> OnedataError:
    """401: no credentials, or credentials that do not hold (the reason nested as `authError`)."""
    if auth_error is None:
        return OnedataError("unauthorized")
    return OnedataError(
        "unauthorized",
        description="Provided authentication is not valid (see details).",
        authError=auth_error,
    )


def internal(reference: str) -> OnedataError:
    return OnedataError("internalServerError", reference=reference)
