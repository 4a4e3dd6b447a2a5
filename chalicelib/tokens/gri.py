"""Graph resource identifiers (GRIs): the resources of `api` caveats and of GraphSync requests.

An `api` caveat whitelists operations by `<service>/<operation>/<GRI pattern>`, e.g.
`ozw/get/provider.*.instance:protected`. Every REST operation of Onezone stands for one
(operation, GRI) pair - `GET /provider` is `get` of `provider.<id>.instance:protected` - and a
token confined with `api` caveats authorizes only the operations some caveat entry matches
(ctool's `cv_api` and `gri`). Patterns use `*` as a wildcard for the type, id, either part of the
aspect, and the scope; a missing scope means `private`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The entity types ctool's `gri` module knows, by their serialized names.
ENTITY_TYPES = frozenset(
    [
        "oz_worker",
        "user",
        "group",
        "space",
        "share",
        "provider",
        "handleService",
        "handle",
        "cluster",
        "harvester",
        "storage",
        "token",
        "space_stats",
        "temporary_token_secret",
        "atm_inventory",
        "atm_lambda",
        "atm_workflow_schema",
        "onp_cluster",
        "onp_host",
        "onp_panel",
        "onp_provider",
        "onp_service",
        "onp_space",
        "onp_storage",
        "onp_user",
        "onp_zone",
        "op_archive",
        "op_atm_inventory",
        "op_atm_lambda_snapshot",
        "op_atm_store",
        "op_atm_task_execution",
        "op_atm_workflow_execution",
        "op_atm_workflow_schema",
        "op_atm_workflow_schema_snapshot",
        "op_dataset",
        "file",
        "op_group",
        "op_handle",
        "op_handle_service",
        "op_metrics",
        "op_provider",
        "op_qos",
        "op_share",
        "op_space",
        "op_storage",
        "op_transfer",
        "op_user",
    ]
)
SCOPES = frozenset({"private", "protected", "shared", "public", "auto"})
SERVICES = frozenset({"ozw", "opw", "ozp", "opp"})
OPERATIONS = frozenset({"create", "get", "update", "delete"})
WILDCARD = "*"


def _serialize(entity_type: str, entity_id: str | None, aspect: str, scope: str) -> str:
    return f"{entity_type}.{'null' if entity_id is None else entity_id}.{aspect}:{scope}"


def _parse(text: str, wildcards: bool) -> tuple[str, str | None, str, str]:
    """ctool's `gri:deserialize`: `<type>.<id>.<aspect>[,<parameter>][:<scope>]`, the id `null`
    for none, the scope `private` when left out; `ValueError` for anything else (and, unless
    `wildcards`, for a `*` anywhere)."""
    entity_type, entity_id, aspect_and_scope = text.split(".")
    aspect, *scope = aspect_and_scope.split(":")
    parts = aspect.split(",")
    if len(scope) > 1 or len(parts) > 2 or not all(parts) or not entity_id:
        raise ValueError(f"not a GRI: {text!r}")
    scope_name = scope[0] if scope else "private"
    allowed = {WILDCARD} if wildcards else set()
    if entity_type not in ENTITY_TYPES | allowed:
        raise ValueError(f"unknown entity type in {text!r}")
    if scope_name not in SCOPES | allowed:
        raise ValueError(f"unknown scope in {text!r}")
    if not wildcards and WILDCARD in (entity_id, *parts):
        raise ValueError(f"a wildcard in {text!r}")
    return entity_type, None if entity_id == "null" else entity_id, aspect, scope_name


@dataclass(frozen=True)
class Gri:
    """One concrete resource: what a REST operation or a GraphSync request acts on."""

    type: str
    id: str | None
    aspect: str  # `name` or `name,parameter`
    scope: str = "private"

    def serialize(self) -> str:
        return _serialize(self.type, self.id, self.aspect, self.scope)

    @classmethod
    def parse(cls, text: str) -> Gri:
        return cls(*_parse(text, wildcards=False))

    @property
    def aspect_name(self) -> str:
        return self.aspect.partition(",")[0]

    @property
    def parameter(self) -> str | None:
        """The aspect's parameter (`dns_txt_record,<name>` -> `<name>`), if it has one."""
        _name, comma, parameter = self.aspect.partition(",")
        return parameter if comma else None


@dataclass(frozen=True)
class GriPattern:
    type: str
    id: str | None
    aspect: str
    scope: str

    def serialize(self) -> str:
        return _serialize(self.type, self.id, self.aspect, self.scope)

    @classmethod
    def parse(cls, text: str) -> GriPattern:
        return cls(*_parse(text, wildcards=True))

    def matches(self, gri: Gri) -> bool:
        return (
            self.type in (WILDCARD, gri.type)
            and self.id in (WILDCARD, gri.id)
            and _aspect_matches(self.aspect, gri.aspect)
            and self.scope in (WILDCARD, gri.scope)
        )


def _aspect_matches(pattern: str, aspect: str) -> bool:
    """`*` matches any aspect; `a,*`, `*,b` and `*,*` match aspects with a parameter."""
    if pattern == WILDCARD:
        return True
    pattern_parts, aspect_parts = pattern.split(","), aspect.split(",")
    if len(pattern_parts) != len(aspect_parts):
        return False
    return all(p in (WILDCARD, a) for p, a in zip(pattern_parts, aspect_parts, strict=True))


@dataclass(frozen=True)
class MatchSpec:
    """One entry of an `api` caveat: `<service>/<operation>/<GRI pattern>`; `all` for any."""

    service: str
    operation: str
    gri: GriPattern

    def serialize(self) -> str:
        return f"{self.service}/{self.operation}/{self.gri.serialize()}"

    @classmethod
    def parse(cls, text: str) -> MatchSpec:
        service, operation, gri = text.split("/")
        if service != "all" and service not in SERVICES:
            raise ValueError(f"unknown service in {text!r}")
        if operation != "all" and operation not in OPERATIONS:
            raise ValueError(f"unknown operation in {text!r}")
        return cls(service, operation, GriPattern.parse(gri))

    def matches(self, service: str, operation: str, gri: Gri) -> bool:
        return self.service in ("all", service) and self.operation in ("all", operation) and self.gri.matches(gri)


@dataclass(frozen=True)
class ApiOperation:
    """What a REST route is, to `api` caveats: `get provider.{client}.instance:protected`.

    The resource is a template: `{client}` stands for the authenticated subject's id and `{name}`
    for a path parameter, both filled in per request, as Onezone resolves its bindings before
    checking caveats (so a caveat naming `self` never matches: it must name the real id, or `*`).
    """

    operation: str
    resource: GriPattern

    @classmethod
    def parse(cls, spec: str) -> ApiOperation:
        operation, pattern = spec.split(" ")
        return cls(operation, GriPattern.parse(pattern))

    def resolve(self, client_id: str, params: dict[str, str]) -> Gri:
        def fill(template: str) -> str:
            return template.format_map({"client": client_id, **params})

        template = self.resource
        entity_id = None if template.id is None else fill(template.id)
        return Gri(template.type, entity_id, fill(template.aspect), template.scope)
