"""The token codec (module level): ctool's own test vectors byte for byte, identifiers, escaping.

The three vectors are ctool's (`tokens_compatibility_tests.erl`): tokens Onezone itself minted.
Each is reproduced from its parts - domain, identifier parts, secret, caveats - and parsed back to
the same parts.
"""

from __future__ import annotations

import base64

import pytest
from pymacaroons import Macaroon

from chalicelib.errors import OnedataError
from chalicelib.tokens import codec
from chalicelib.tokens.codec import NOBODY, Identifier, Subject, TokenType

DOMAIN = "domain.example.com"

VECTORS = [
    pytest.param(
        Identifier(
            id="1234567890example-id1234567890e",
            subject=Subject("user", "invitation-sender"),
            type=TokenType.invite("registerOneprovider", "AdminUserId"),
        ),
        "verySecretSecret5",
        [],
        "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVjaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvcm9wOkF"
        "kbWluVXNlcklkOi8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBlCjAwMmZzaWduYXR1cmUgeqAZjO01V9inEh02PXkeRIj2256WD7"
        "1TxRyBXLrlLqG4sK",
        id="named registerOneprovider invite",
    ),
    pytest.param(
        Identifier(
            id="1234567890example-id1234567890d",
            subject=Subject("user", "uid"),
            type=TokenType.invite("userJoinSpace", "spaceId"),
            generation=49,
        ),
        "verySecretSecret4",
        [
            "geo.country = DE|PT",
            "geo.region = Africa",
            "consumer = grp-group-id|usr-user-id",
            "time < 8374891234",
            "ip = 11.101.11.234/32",
            "asn = 112",
        ],
        "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDRkaWRlbnRpZmllciAyL3RtcC0000OS91c3ItdWlkL3VqczpzcGFjZUlkOi8xM"
        "jM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBkCjAwMWNjaWQgZ2VvLmNvdW500cnkgPSBERXxQVAowMDFjY2lkIGdlby5yZWdpb24gPSB"
        "BZnJpY2EKMDAyY2NpZCBjb25zdW1lciA9IGdycC1ncm91cC1pZHx1c3ItdXNlci1pZAowMDFhY2lkIHRpbWUgPCA4Mzc00ODkxMjM00CjAwMW"
        "VjaWQgaXAgPSAxMS4xMDEuMTEuMjM00LzMyCjAwMTJjaWQgYXNuID00gMTEyCjAwMmZzaWduYXR1cmUgn3ofRtRE02FAEF1zeQB01t5IYpXXZ"
        "O102SQSyMwvqx76ysK",
        id="temporary userJoinSpace invite",
    ),
    pytest.param(
        Identifier(
            id="1234567890example-id1234567890b",
            subject=Subject("user", "uid"),
            type=TokenType.access("sessId"),
        ),
        "verySecretSecret2",
        [
            "data.objectid = 00000000000CDBDA677569642331323323616263",
            "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0",
            "data.readonly",
            "api = all/all/*.*.*:*",
            "interface = graphsync",
            "consumer = usr-user-id|grp-group-id",
            "service = ozw-onezone",
            "authorization = none",
            "geo.region = Asia|EU",
            "geo.country = PL|FR",
            "asn = 322",
            "ip = 172.98.11.23/32",
            "time < 8374891234",
        ],
        "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDQ4aWRlbnRpZmllciAyL25tZC91c3ItdWlkL2FjdDpzZXNzSWQvMTIzNDU2Nzg"
        "5MGV4YW1wbGUtaWQxMjM00NTY3ODkwYgowMDQxY2lkIGRhdGEub2JqZWN00aWQgPSAwMDAwMDAwMDAwMENEQkRBNjc3NTY5NjQyMzMxMzIzMz"
        "IzNjE2MjYzCjAwNGFjaWQgZGF00YS5wYXRoID00gTDNOd1lXTmxNUzltYVd4bE1TNTBlSFE9fEwzTndZV005sTWk5a2FYSXZabWxzWlRJdWRI"
        "aDAKMDAxNmNpZCBkYXRhLnJlYWRvbmx5CjAwMWVjaWQgYXBpID00gYWxsL2FsbC8qLiouKjoqCjAwMWVjaWQgaW500ZXJmYWNlID00gZ3JhcG"
        "hzeW5jCjAwMmNjaWQgY29uc3VtZXIgPSB1c3ItdXNlci1pZHxncnAtZ3JvdXAtaWQKMDAxZWNpZCBzZXJ2aWNlID00gb3p3LW9uZXpvbmUKMD"
        "AxZGNpZCBhdXRob3JpemF00aW9uID00gbm9uZQowMDFkY2lkIGdlby5yZWdpb24gPSBBc2lhfEVVCjAwMWNjaWQgZ2VvLmNvdW500cnkgPSBQT"
        "HxGUgowMDEyY2lkIGFzbiA9IDMyMgowMDFkY2lkIGlwID00gMTcyLjk4LjExLjIzLzMyCjAwMWFjaWQgdGltZSA8IDgzNzQ4OTEyMzQKMDAyZn"
        "NpZ25hdHVyZSA9cNaxGcs8TowTZAcrhE8aKlGRXqbMppFY74ciZtV9pwo",
        id="named access token with a session and every caveat",
    ),
]


@pytest.mark.parametrize(("identifier", "secret", "caveats", "serialized"), VECTORS)
def test_ctool_vectors_are_reproduced_byte_for_byte(
    identifier: Identifier, secret: str, caveats: list[str], serialized: str
) -> None:
    assert codec.mint(DOMAIN, identifier, secret, caveats) == serialized


@pytest.mark.parametrize(("identifier", "secret", "caveats", "serialized"), VECTORS)
def test_ctool_vectors_parse_back_to_their_parts(
    identifier: Identifier, secret: str, caveats: list[str], serialized: str
) -> None:
    token = codec.parse(serialized)
    assert (token.onezone_domain, token.identifier, list(token.caveats)) == (DOMAIN, identifier, caveats)
    assert token.macaroon.identifier == identifier.serialize()
    assert token.service is None


@pytest.mark.parametrize(("identifier", "secret", "caveats", "serialized"), VECTORS)
def test_ctool_vectors_verify_with_pymacaroons_after_unescaping(
    identifier: Identifier, secret: str, caveats: list[str], serialized: str
) -> None:
    macaroon = Macaroon.deserialize(codec.unescape(serialized))
    from pymacaroons import Verifier

    verifier = Verifier()
    verifier.satisfy_general(lambda _caveat: True)
    assert verifier.verify(macaroon, secret)


def test_identifier_strings_of_the_vectors() -> None:
    rendered = [param.values[0].serialize() for param in VECTORS]
    assert rendered == [
        "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e",
        "2/tmp-49/usr-uid/ujs:spaceId:/1234567890example-id1234567890d",
        "2/nmd/usr-uid/act:sessId/1234567890example-id1234567890b",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2/nmd/usr-u/act/id",
        "2/nmd/prv-p/act/id",
        "2/tmp-0/usr-u/idn/id",
        "2/nmd/grp-g/act:s:x/id",  # a session id may hold colons
        "2/nmd/nobody/act/id",
        "2/nmd/usr-u/ssp:space:ge/id",  # support parameters are kept as they are
        *(f"2/nmd/usr-u/{code}:target:/id" for code, _key in codec.INVITE_TYPES.values()),
    ],
)
def test_identifiers_round_trip(text: str) -> None:
    assert Identifier.parse(text).serialize() == text


@pytest.mark.parametrize(
    ("text", "legacy_id"),
    [("plainid", "plainid"), ("abc/def", "abc/def"), ("x/2/3/4/5", "x/2/3/4/5"), ("1/old", "old")],
)
def test_legacy_identifiers_are_named_access_tokens(text: str, legacy_id: str) -> None:
    identifier = Identifier.parse(text)
    assert (identifier.version, identifier.id, identifier.persistence) == (1, legacy_id, "named")
    assert (identifier.type, identifier.subject) == (TokenType.access(), NOBODY)


@pytest.mark.parametrize(
    "text",
    [
        "2/nmd/usr-u/act",  # three fragments
        "2/nmd/usr-u/act/id/extra",
        "3/nmd/usr-u/act/id",  # unknown version
        "1/a/b",
        "2/xyz/usr-u/act/id",  # bad persistence
        "2/tmp-x/usr-u/act/id",
        "2/nmd/usx-u/act/id",  # bad subject
        "2/nmd/usr-u/zzz:t:/id",  # unknown invite code
        "2/nmd/usr-u/rop::/id",  # no target
        "2/nmd/usr-u/rop:t/id",  # no parameters fragment
        "2/nmd/usr-u/act:/id",  # empty session
    ],
)
def test_malformed_identifiers_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError: the codec turns it into badToken
        Identifier.parse(text)


def test_escaping_round_trips_every_base64url_and_padding_character() -> None:
    text = "A0z_-/+=09"
    escaped = codec.escape(text)
    assert escaped == "A00z0102030405009"
    assert escaped.isalnum()
    assert codec.unescape(escaped) == text


@pytest.mark.parametrize("bad", ["abc0", "ab06cd", "0x", "0A"])
def test_a_zero_must_start_a_known_escape(bad: str) -> None:
    with pytest.raises(OnedataError) as raised:
        codec.unescape(bad)
    assert raised.value.id == "badToken"


@pytest.mark.parametrize("prefix", ["opw-", "opp-"])
def test_service_indication_is_stripped(prefix: str) -> None:
    serialized = VECTORS[0].values[3]
    token = codec.parse(prefix + serialized)
    assert token.service == {"opw-": "op_worker", "opp-": "op_panel"}[prefix]
    assert token.identifier == codec.parse(serialized).identifier


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "ozw-" + "x",  # only Oneprovider services may be indicated
        "abc-def",
        "not a token",
        "MDAy",  # truncated
        VECTORS[0].values[3][:-7],
        VECTORS[0].values[3] + "==",
        base64.urlsafe_b64encode(b"\x00\xff" * 40).decode().rstrip("="),
        codec.escape(Macaroon(location="z", identifier="2/nmd/usr-u/act/i", key="k", version=2).serialize()),
        "é" * 10,
    ],
)
def test_garbage_is_bad_token(garbage: str) -> None:
    with pytest.raises(OnedataError) as raised:
        codec.parse(garbage)
    assert raised.value.id == "badToken"


def test_the_limit_is_a_mebibyte_of_utf8() -> None:
    with pytest.raises(OnedataError) as raised:
        codec.parse("é" * (codec.MAX_TOKEN_BYTES // 2 + 1))
    assert (raised.value.id, raised.value.details) == ("tokenTooLarge", {"limit": 1048576})


def test_the_seed_sample_is_in_the_escaped_form() -> None:
    """The seed's sample token starts `MDAxNmxvY2F00aW9u`: `Y2F0aW9u` escaped ("location")."""
    assert codec.unescape("MDAxNmxvY2F00aW9u") == "MDAxNmxvY2F0aW9u"
    assert base64.urlsafe_b64decode("MDAxNmxvY2F0aW9u") == b"0016location"
