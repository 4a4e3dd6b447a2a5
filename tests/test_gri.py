"""GRIs as ctool writes and reads them (`gri:serialize`/`gri:deserialize`): concrete GRIs name
GraphSync resources, patterns name what `api` caveats allow; each parser is the exact inverse of
its serializer, and what ctool refuses (`badGRI`) is refused here."""

from __future__ import annotations

import pytest

from chalicelib.tokens.gri import Gri, GriPattern

CONCRETE = [
    ("provider.p1.instance:private", Gri("provider", "p1", "instance", "private")),
    ("provider.self.domain_config:private", Gri("provider", "self", "domain_config", "private")),
    ("provider.null.current_time:private", Gri("provider", None, "current_time", "private")),
    ("provider.self.dns_txt_record,_acme-challenge:private", Gri("provider", "self", "dns_txt_record,_acme-challenge")),
    ("token.null.provider_temporary_token,p1:private", Gri("token", None, "provider_temporary_token,p1")),
    ("storage.s1.instance:shared", Gri("storage", "s1", "instance", "shared")),
    ("cluster.c1.instance:auto", Gri("cluster", "c1", "instance", "auto")),
]


@pytest.mark.parametrize(("text", "gri"), CONCRETE)
def test_concrete_gris_round_trip(text: str, gri: Gri) -> None:
    assert Gri.parse(text) == gri
    assert gri.serialize() == text


def test_the_scope_defaults_to_private_and_is_always_written() -> None:
    gri = Gri.parse("provider.p1.instance")
    assert gri.scope == "private"
    assert gri.serialize() == "provider.p1.instance:private"


def test_aspect_parts() -> None:
    assert Gri.parse("provider.self.dns_txt_record,x:private").aspect_name == "dns_txt_record"
    assert Gri.parse("provider.self.dns_txt_record,x:private").parameter == "x"
    assert Gri.parse("provider.self.instance:private").parameter is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "provider",
        "provider.p1",
        "provider.p1.instance.extra:private",
        "provider.p1.instance:private:more",
        "nothing.p1.instance:private",  # not an entity type ctool knows
        "provider.p1.instance:everything",  # not a scope
        "provider.p1.a,b,c:private",  # an aspect has at most one parameter
        "provider..instance:private",
        "provider.p1.,x:private",
        "*.p1.instance:private",  # wildcards belong to patterns
        "provider.*.instance:private",
        "provider.p1.*:private",
        "provider.p1.instance:*",
    ],
)
def test_what_ctool_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case is its own reason
        Gri.parse(text)


def test_patterns_take_wildcards_and_round_trip() -> None:
    for text in ("*.*.*:*", "provider.*.dns_txt_record,*:private", "provider.p1.instance:protected"):
        assert GriPattern.parse(text).serialize() == text
