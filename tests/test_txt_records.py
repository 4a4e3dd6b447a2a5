"""TXT records for ACME DNS-01 (`PUT`/`DELETE /provider/dns_txt_record/{record_name}`), through
the HTTP surface: what lands in Route 53 and in the providers table, who may ask, what is refused,
and how the records leave with the subdomain."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from chalicelib import context
from chalicelib.tokens import codec
from tests.conftest import USER_PASSWORD, Api, error_of, refused
from tests.provider_helpers import (
    Registered,
    a_records,
    client_error,
    inject,
    recover,
    register_provider,
    scan,
    snapshot,
    strict_route53,
    txt_records,
)
from tests.token_helpers import access_token, forged

CHALLENGE = "_acme-challenge"
VALUE = "gfj9Xq-Rv2bz1NlJ8-5YnOuV5k6Kb_wKmtGmOFoVkUg"  # base64url(sha256(key authorization)), as ACME sends


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


@pytest.fixture
def krk(api: Api, alice: str) -> Registered:
    return register_provider(api, subdomain="krk", oneS3IpAddresses=["192.0.2.9"], oneS3Port=9000)


def put_txt(api: Api, provider: Registered, name: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.call(
        "PUT", f"/provider/dns_txt_record/{name}", body=body, headers=provider.headers if headers is None else headers
    )


def delete_txt(api: Api, provider: Registered, name: str, headers: dict[str, str] | None = None) -> Any:
    return api.call(
        "DELETE", f"/provider/dns_txt_record/{name}", headers=provider.headers if headers is None else headers
    )


def stored_txt(api: Api, provider: Registered) -> dict[str, Any]:
    (item,) = [item for item in scan(api, "PROVIDERS_TABLE") if item["providerId"] == provider.id]
    return dict(item.get("txtRecords", {}))


# ---- success -----------------------------------------------------------------------------------


def test_a_challenge_is_published_replaced_and_removed(api: Api, krk: Registered) -> None:
    response = put_txt(api, krk, CHALLENGE, {"content": VALUE})
    assert response.status_code == 204
    assert response.body in (b"", "", None)
    assert txt_records(api) == {"_acme-challenge.krk.onezone.test.": (120, [f'"{VALUE}"'])}
    assert stored_txt(api, krk) == {CHALLENGE: {"content": VALUE, "ttl": 120}}
    # The provider's own records are untouched.
    assert a_records(api) == {"krk.onezone.test.": ["192.0.2.1", "192.0.2.2"], "s3.krk.onezone.test.": ["192.0.2.9"]}

    # Setting the name again replaces the record (one string per name, as in Onezone).
    assert put_txt(api, krk, CHALLENGE, {"content": "second", "ttl": 60}).status_code == 204
    assert txt_records(api) == {"_acme-challenge.krk.onezone.test.": (60, ['"second"'])}

    # The same record again changes nothing at all.
    before = snapshot(api)
    assert put_txt(api, krk, CHALLENGE, {"content": "second", "ttl": "60"}).status_code == 204
    assert snapshot(api) == before

    assert delete_txt(api, krk, CHALLENGE).status_code == 204
    assert txt_records(api) == {}
    assert stored_txt(api, krk) == {}
    # Removing what is not there is done already, as in Onezone.
    assert delete_txt(api, krk, CHALLENGE).status_code == 204
    assert delete_txt(api, krk, "never-set").status_code == 204


def test_names_are_one_label_of_any_case_and_values_are_quoted(api: Api, krk: Registered) -> None:
    strict_route53()
    assert put_txt(api, krk, "_ACME-Challenge", {"content": 'say "hi" \\ bye', "ttl": 0}).status_code == 204
    assert put_txt(api, krk, "verify", {"content": "x" * 255}).status_code == 204
    assert txt_records(api) == {
        "_acme-challenge.krk.onezone.test.": (0, ['"say \\"hi\\" \\\\ bye"']),
        "verify.krk.onezone.test.": (120, ['"' + "x" * 255 + '"']),
    }
    assert delete_txt(api, krk, "_Acme-CHALLENGE").status_code == 204
    assert list(txt_records(api)) == ["verify.krk.onezone.test."]


def test_providers_hold_their_own_records_only(api: Api, krk: Registered) -> None:
    waw = register_provider(api, subdomain="waw", workers=["198.51.100.1"])
    assert put_txt(api, krk, CHALLENGE, {"content": "krk's"}).status_code == 204
    assert put_txt(api, waw, CHALLENGE, {"content": "waw's"}).status_code == 204
    assert delete_txt(api, waw, CHALLENGE).status_code == 204
    assert txt_records(api) == {"_acme-challenge.krk.onezone.test.": (120, ['"krk\'s"'])}


# ---- who may ask -------------------------------------------------------------------------------


def test_only_the_provider_itself_may_set_or_remove_records(api: Api, alice: str, krk: Registered) -> None:
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    elsewhere = ["api = ozw/get/provider.*.instance:protected"]
    confined_elsewhere = codec.confine(codec.parse(krk.root_token).macaroon, elsewhere)
    cases: list[tuple[dict[str, str], int, str | None]] = [
        ({}, 401, None),
        ({"X-Auth-Token": "garbage"}, 401, "badToken"),
        ({"X-Auth-Token": forged(krk.root_token)}, 401, "tokenInvalid"),
        ({"X-Auth-Token": api.registration_token("alice")}, 401, "notAnAccessToken"),
        ({"X-Auth-Token": confined_elsewhere}, 401, "tokenCaveatUnverified"),
        (api.basic("alice", USER_PASSWORD), 403, None),  # Basic is never a provider's credential
        ({"X-Auth-Token": access_token(alice)}, 403, None),  # a user, even the provider's admin
    ]
    before = snapshot(api)
    for headers, status, auth_error in cases:
        for response in (
            put_txt(api, krk, "other", {"content": "x"}, headers),
            delete_txt(api, krk, CHALLENGE, headers),
        ):
            case = f"{response.status_code} with {headers}"
            refused(response, status, auth_error, case)
    assert snapshot(api) == before

    # A token confined to exactly this operation works.
    allowed = codec.confine(
        codec.parse(krk.root_token).macaroon, [f"api = ozw/create/provider.{krk.id}.dns_txt_record,other:private"]
    )
    assert put_txt(api, krk, "other", {"content": "x"}, {"X-Auth-Token": allowed}).status_code == 204
    outside = put_txt(api, krk, "third", {"content": "x"}, {"X-Auth-Token": allowed})
    assert error_of(outside)["details"]["authError"]["id"] == "tokenCaveatUnverified"


def test_a_deregistered_providers_token_sets_nothing(api: Api, krk: Registered) -> None:
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    response = put_txt(api, krk, CHALLENGE, {"content": VALUE})
    assert (response.status_code, error_of(response)["details"]["authError"]["id"]) == (401, "tokenInvalid")
    assert txt_records(api) == {}


# ---- bad input ---------------------------------------------------------------------------------

BAD_BODIES: list[tuple[Any, str, dict[str, Any]]] = [
    ({}, "missingRequiredValue", {"key": "content"}),
    ({"ttl": 60}, "missingRequiredValue", {"key": "content"}),
    ({"content": None}, "missingRequiredValue", {"key": "content"}),
    ({"content": ""}, "badValueEmpty", {"key": "content"}),
    ({"content": 42}, "badValueString", {"key": "content"}),
    ({"content": ["a", "b"]}, "badValueString", {"key": "content"}),
    ({"content": "x" * 256}, "badValueTextTooLarge", {"key": "content", "limit": 255}),
    ({"content": "zażółć"}, "badData", {"key": "content", "hint": "printable ASCII characters only"}),
    ({"content": "line\nbreak"}, "badData", {"key": "content", "hint": "printable ASCII characters only"}),
    ({"content": "v", "ttl": -1}, "badValueTooLow", {"key": "ttl", "limit": 0}),
    ({"content": "v", "ttl": 2**31}, "badValueTooHigh", {"key": "ttl", "limit": 2**31 - 1}),
    ({"content": "v", "ttl": 1.5}, "badValueInteger", {"key": "ttl"}),
    ({"content": "v", "ttl": "soon"}, "badValueInteger", {"key": "ttl"}),
    ({"content": "v", "ttl": True}, "badValueInteger", {"key": "ttl"}),
    ({"content": "v", "ttl": None}, "badValueInteger", {"key": "ttl"}),
    ([], "malformedData", {}),
    ("text", "malformedData", {}),
]

LABEL_HINT = "one DNS label of letters, digits, '-' and '_'"
BAD_NAMES: list[tuple[str, str, dict[str, Any]]] = [
    ("two.labels", "badData", {"key": "recordName", "hint": LABEL_HINT}),
    ("-leading-dash", "badData", {"key": "recordName", "hint": LABEL_HINT}),
    ("x" * 64, "badData", {"key": "recordName", "hint": LABEL_HINT}),
    ("sp%20ace", "badData", {"key": "recordName", "hint": LABEL_HINT}),
    ("%C3%A9t%C3%A9", "badData", {"key": "recordName", "hint": LABEL_HINT}),
    ("s3", "badValueIdentifierOccupied", {"key": "recordName"}),  # the provider's OneS3 name
    ("S3", "badValueIdentifierOccupied", {"key": "recordName"}),
]


def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api: Api, krk: Registered) -> None:
    refused = inject("route53", "ChangeResourceRecordSets", RuntimeError("Route 53 must not be called"))
    before = snapshot(api)
    for body, error_id, details in BAD_BODIES:
        response = put_txt(api, krk, CHALLENGE, body)
        assert (response.status_code, error_of(response)["id"]) == (400, error_id), body
        assert error_of(response).get("details", {}) == details, body
    for name, error_id, details in BAD_NAMES:
        for response in (put_txt(api, krk, name, {"content": "v"}), delete_txt(api, krk, name)):
            assert (response.status_code, error_of(response)["id"]) == (400, error_id), name
            assert error_of(response)["details"] == details, name
    assert snapshot(api) == before
    assert refused == []


def test_names_too_long_for_the_zone(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = ("z" * 60 + ".") * 3 + "test"  # 187 characters
    created = boto3.client("route53").create_hosted_zone(Name=zone, CallerReference=str(time.time()))
    monkeypatch.setenv("ZONE_DOMAIN", zone)
    monkeypatch.setenv("HOSTED_ZONE_ID", created["HostedZone"]["Id"].split("/")[-1])
    context.reset()
    api.create_user("alice")
    long = register_provider(api, subdomain="a" * 50)  # 50 + 1 + 187 = 238
    assert put_txt(api, long, "b" * 14, {"content": "v"}).status_code == 204  # 253 exactly
    response = put_txt(api, long, "b" * 15, {"content": "v"})
    assert (response.status_code, error_of(response)["details"]) == (
        400,
        {"key": "recordName", "hint": "the record's name exceeds 253 characters"},
    )


def test_without_delegation_there_is_nowhere_to_put_a_record(api: Api, alice: str) -> None:
    own = register_provider(api, subdomain=None)
    response = put_txt(api, own, CHALLENGE, {"content": VALUE})
    assert (response.status_code, error_of(response)["id"]) == (400, "subdomainDelegationDisabled")
    # Onezone validates the values before it looks at the provider.
    response = put_txt(api, own, CHALLENGE, {"content": ""})
    assert error_of(response)["id"] == "badValueEmpty"
    assert delete_txt(api, own, CHALLENGE).status_code == 204
    assert txt_records(api) == {}


def test_a_provider_holds_a_bounded_number_of_records(api: Api, krk: Registered) -> None:
    for i in range(10):
        assert put_txt(api, krk, f"name{i}", {"content": "v"}).status_code == 204
    assert put_txt(api, krk, "name0", {"content": "replaced"}).status_code == 204  # a replacement is no new one
    response = put_txt(api, krk, "name10", {"content": "v"})
    assert (response.status_code, error_of(response)["id"]) == (400, "limitReached")
    assert error_of(response)["details"] == {"limit": 10, "resourceDescription": "TXT records of a provider"}
    assert len(txt_records(api)) == 10


# ---- the records leave with the subdomain ------------------------------------------------------


def test_deregistration_removes_the_records(api: Api, krk: Registered) -> None:
    strict_route53()
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    assert put_txt(api, krk, "verify", {"content": "v"}).status_code == 204
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert txt_records(api) == {}
    assert a_records(api) == {}


def test_failed_deregistration_keeps_the_records(api: Api, krk: Registered) -> None:
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    before = snapshot(api)
    inject("dynamodb", "TransactWriteItems", client_error("ValidationException", "TransactWriteItems"))
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 500
    recover()
    assert snapshot(api) == before


def test_a_new_subdomain_or_an_own_domain_leaves_the_records_behind(api: Api, krk: Registered) -> None:
    strict_route53()
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    same = {"subdomainDelegation": True, "subdomain": "krk", "opWorkerIpAddresses": ["192.0.2.7"]}
    assert api.call("PATCH", "/provider/domain_config", body=same, headers=krk.headers).status_code == 204
    assert list(txt_records(api)) == ["_acme-challenge.krk.onezone.test."]  # new IPs, same name: kept

    moved = {"subdomainDelegation": True, "subdomain": "waw", "opWorkerIpAddresses": ["192.0.2.7"]}
    assert api.call("PATCH", "/provider/domain_config", body=moved, headers=krk.headers).status_code == 204
    assert txt_records(api) == {}
    assert stored_txt(api, krk) == {}

    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    own = {"subdomainDelegation": False, "domain": "own.example.com"}
    assert api.call("PATCH", "/provider/domain_config", body=own, headers=krk.headers).status_code == 204
    assert txt_records(api) == {}
    assert stored_txt(api, krk) == {}


# ---- failures leave no trace -------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["transaction", "dns"])
def test_a_failed_change_leaves_zone_and_table_as_they_were(api: Api, krk: Registered, failing: str) -> None:
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    before = snapshot(api)
    if failing == "transaction":
        inject("dynamodb", "TransactWriteItems", client_error("ValidationException", "TransactWriteItems"))
    else:
        inject("route53", "ChangeResourceRecordSets", client_error("Throttling", "ChangeResourceRecordSets"))
    for response in (put_txt(api, krk, "verify", {"content": "v"}), delete_txt(api, krk, CHALLENGE)):
        assert response.status_code in (500, 503)
        assert snapshot(api) == before
    recover()


def test_a_change_racing_another_change_of_the_provider_loses_cleanly(
    api: Api, krk: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers read the provider at the same revision; the one that commits second gets a
    retryable 503, and the zone keeps exactly what the winner wrote."""
    from chalicelib.dns import transitions
    from chalicelib.providers import txt_records as txt_module

    real = transitions.update_provider
    raced: list[bool] = []

    def moved_meanwhile(ctx: Any, old: Any, new: Any, fields: Any, also: Any = ()) -> None:
        if not raced:
            raced.append(True)
            body = {"subdomainDelegation": True, "subdomain": "waw", "opWorkerIpAddresses": ["192.0.2.7"]}
            assert api.call("PATCH", "/provider/domain_config", body=body, headers=krk.headers).status_code == 204
        real(ctx, old, new, fields, also)

    monkeypatch.setattr(txt_module.transitions, "update_provider", moved_meanwhile)
    response = put_txt(api, krk, CHALLENGE, {"content": VALUE})
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert response.headers["Retry-After"] == "1"
    assert txt_records(api) == {}
    assert a_records(api) == {"waw.onezone.test.": ["192.0.2.7"], "s3.waw.onezone.test.": ["192.0.2.9"]}
    # Tried again, it lands under the provider's subdomain as it now is.
    monkeypatch.undo()
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    assert list(txt_records(api)) == ["_acme-challenge.waw.onezone.test."]


def test_the_readmes_hook_token_can_set_txt_records_and_nothing_else(api: Api, krk: Registered) -> None:
    """The README's certbot recipe confines the root token to this provider's TXT records."""
    caveats = [{"type": "api", "whitelist": [f"ozw/all/provider.{krk.id}.dns_txt_record,*:private"]}]
    confined = api.call("POST", "/tokens/confine", body={"token": krk.root_token, "caveats": caveats})
    assert confined.status_code == 200, confined.body
    hook = {"X-Auth-Token": confined.json_body["token"]}
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE, "ttl": 60}, hook).status_code == 204
    assert txt_records(api) == {"_acme-challenge.krk.onezone.test.": (60, [f'"{VALUE}"'])}
    assert delete_txt(api, krk, CHALLENGE, hook).status_code == 204
    for method, path in [("GET", "/provider"), ("DELETE", "/provider"), ("GET", "/provider/domain_config")]:
        refused = api.call(method, path, headers=hook)
        assert error_of(refused)["details"]["authError"]["id"] == "tokenCaveatUnverified", path


def test_a_record_edited_by_hand_makes_a_deregistration_retry_and_is_repaired(api: Api, krk: Registered) -> None:
    """Route 53 refuses to delete a record whose values differ from the registry's: a retryable
    503, the provider still registered, and the zone switched back to what the registry says
    (the edit repaired), so the retry works."""
    strict_route53()
    assert put_txt(api, krk, CHALLENGE, {"content": VALUE}).status_code == 204
    before = snapshot(api)
    record = {
        "Name": "_acme-challenge.krk.onezone.test.",
        "Type": "TXT",
        "TTL": 120,
        "ResourceRecords": [{"Value": '"x"'}],
    }
    boto3.client("route53").change_resource_record_sets(
        HostedZoneId=api.env["HOSTED_ZONE_ID"],
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]},
    )
    response = api.call("DELETE", "/provider", headers=krk.headers)
    assert (response.status_code, error_of(response)["id"]) == (503, "temporaryFailure")
    assert response.headers["Retry-After"] == "1"
    assert snapshot(api) == before
    assert api.call("DELETE", "/provider", headers=krk.headers).status_code == 204
    assert txt_records(api) == {}
    assert a_records(api) == {}
