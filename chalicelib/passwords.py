"""Password hashing with scrypt from the standard library.

Parameters follow OWASP's scrypt guidance (N=2^15, r=8, p=3: ~32 MiB and a few hundred
milliseconds per hash), and are stored with each hash so they can be raised later without
invalidating existing users. Verification compares in constant time, and a login attempt for an
unknown user still pays for one hash (`burn_time`) so response times do not reveal which
usernames exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"


@dataclass(frozen=True)
class KdfParams:
    log2_n: int = 15
    r: int = 8
    p: int = 3
    salt_bytes: int = 16
    key_bytes: int = 32

    @property
    def max_memory(self) -> int:
        # scrypt needs 128 * r * N bytes; leave headroom for hashlib's own bookkeeping.
        return 2 * 128 * self.r * (1 << self.log2_n)


DEFAULT_PARAMS = KdfParams()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, params: KdfParams) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=1 << params.log2_n,
        r=params.r,
        p=params.p,
        maxmem=params.max_memory,
        dklen=params.key_bytes,
    )


def hash_password(password: str, params: KdfParams = DEFAULT_PARAMS) -> str:
    """A self-describing hash: `scrypt$ln=15,r=8,p=3$<salt>$<key>` (base64, no padding)."""
    salt = os.urandom(params.salt_bytes)
    key = _derive(password, salt, params)
    return f"{SCHEME}$ln={params.log2_n},r={params.r},p={params.p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; False for a mismatch or an unreadable hash."""
    try:
        scheme, raw_params, salt_b64, key_b64 = encoded.split("$")
        fields = dict(item.split("=", 1) for item in raw_params.split(","))
        expected = _unb64(key_b64)
        params = KdfParams(
            log2_n=int(fields["ln"]),
            r=int(fields["r"]),
            p=int(fields["p"]),
            key_bytes=len(expected),
        )
        salt = _unb64(salt_b64)
    except (ValueError, KeyError):
        return False
    if scheme != SCHEME:
        return False
    return hmac.compare_digest(_derive(password, salt, params), expected)


def burn_time(password: str) -> None:
    """Spend what a real verification costs, for attempts against unknown usernames."""
    _derive(password, b"\0" * DEFAULT_PARAMS.salt_bytes, DEFAULT_PARAMS)
