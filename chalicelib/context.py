"""What a request needs from its container: settings, AWS clients, the token root key, GeoIP.

Built lazily on first use and kept for the life of the Lambda container (warm invocations
reuse the clients and the key). Tests call `reset()` so that each test builds a fresh context
inside its own moto backend; nothing else about the code changes under test.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib.aws import Clients
from chalicelib.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from chalicelib.geoip import MaxMindLookup

MIN_ROOT_KEY_BYTES = 32


@dataclass
class Context:
    settings: Settings
    aws: Clients
    _root_key: bytes | None = field(default=None, repr=False)
    _geo: MaxMindLookup | None = field(default=None, repr=False)

    @property
    def geo(self) -> MaxMindLookup:
        """Where peer addresses are (`asn`/`geo.*` caveats); its databases open on first use."""
        if self._geo is None:
            from chalicelib.geoip import MaxMindLookup  # a cold start without geo caveats skips it

            self._geo = MaxMindLookup(self.settings.geoip_asn_database, self.settings.geoip_country_database)
        return self._geo

    @property
    def root_key(self) -> bytes:
        """The secret every token key is derived from, read from Secrets Manager once."""
        if self._root_key is None:
            secret = self.aws.secretsmanager.get_secret_value(SecretId=self.settings.token_key_secret_id)
            value = secret.get("SecretString") or secret["SecretBinary"]
            key = value.encode() if isinstance(value, str) else bytes(value)
            if len(key) < MIN_ROOT_KEY_BYTES:
                raise ConfigurationError(f"the token root key must have at least {MIN_ROOT_KEY_BYTES} bytes")
            self._root_key = key
        return self._root_key


@functools.cache
def current() -> Context:
    return Context(settings=Settings.from_env(), aws=Clients())


def reset() -> None:
    """Forget the cached context (tests: a new moto backend or new settings)."""
    current.cache_clear()
