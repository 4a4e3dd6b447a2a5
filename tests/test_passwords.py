"""Password hashing (module level): scrypt, salted, self-describing, constant-time compare."""

from __future__ import annotations

from chalicelib import passwords

FAST = passwords.KdfParams(log2_n=4, r=1, p=1)


def test_hash_verifies_only_the_right_password() -> None:
    encoded = passwords.hash_password("s3cret-pass", FAST)
    assert passwords.verify_password("s3cret-pass", encoded)
    assert not passwords.verify_password("s3cret-pasS", encoded)
    assert not passwords.verify_password("", encoded)


def test_hashes_are_salted() -> None:
    assert passwords.hash_password("same", FAST) != passwords.hash_password("same", FAST)


def test_default_parameters_are_owasp_strength() -> None:
    encoded = passwords.hash_password("s3cret-pass")
    scheme, params, _salt, _key = encoded.split("$")
    assert (scheme, params) == ("scrypt", "ln=15,r=8,p=3")
    assert passwords.verify_password("s3cret-pass", encoded)
    assert "s3cret" not in encoded


def test_parameters_travel_with_the_hash() -> None:
    encoded = passwords.hash_password("pw", passwords.KdfParams(log2_n=5, r=2, p=1))
    assert encoded.split("$")[1] == "ln=5,r=2,p=1"
    assert passwords.verify_password("pw", encoded)


def test_unreadable_hashes_never_verify() -> None:
    for broken in ["", "plain", "bcrypt$ln=4,r=1,p=1$AAAA$AAAA", "scrypt$ln=x$AAAA$AAAA", "scrypt$$$"]:
        assert not passwords.verify_password("pw", broken)
