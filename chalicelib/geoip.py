"""Where a request comes from: ASN, country and region for the `asn`/`geo.*` token caveats.

Onezone looks the peer address up in MaxMind databases (GeoLite2-ASN and GeoLite2-Country); so
do we, with MaxMind's own reader, `maxminddb` (the reader `geoip2` is built on, without its HTTP
client dependencies). The databases are files an operator provides (MaxMind's licence does not
let us ship them): `GEOIP_ASN_DATABASE` and `GEOIP_COUNTRY_DATABASE` name them (a City database
serves as a country one). Without a database, or for an address it does not know, a lookup
fails, and so does the caveat that needed it - as in Onezone when its lookup fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from chalicelib.tokens.caveats import GeoLookup, LookupFailed

log = logging.getLogger(__name__)

# MaxMind continent codes -> Onedata region names
CONTINENTS = {
    "AF": "Africa",
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "NorthAmerica",
    "OC": "Oceania",
    "SA": "SouthAmerica",
}


@dataclass
class _Database:
    """One MMDB file, opened on first use and kept for the container's life."""

    path: str | None
    _reader: Any = field(default=None, repr=False)
    _failed: bool = False

    def record(self, ip: str) -> dict[str, Any]:
        reader = self._open()
        try:
            found = reader.get(ip)
        except (ValueError, RuntimeError) as error:  # not an IP address; a corrupt database
            raise LookupFailed(str(error)) from None
        if not isinstance(found, dict):
            raise LookupFailed(f"{ip} is not in {self.path}")
        return found

    def _open(self) -> Any:
        if self._reader is None:
            if self.path is None:
                raise LookupFailed("no database is configured")
            if self._failed:
                raise LookupFailed(f"{self.path} could not be opened")
            import maxminddb  # only deployments that configure a database pay for the import

            try:
                self._reader = maxminddb.open_database(self.path)
            except (OSError, ValueError, maxminddb.InvalidDatabaseError):
                self._failed = True
                log.exception("cannot open the GeoIP database %s; geo and ASN caveats will fail", self.path)
                raise LookupFailed(f"{self.path} could not be opened") from None
        return self._reader


class MaxMindLookup(GeoLookup):
    def __init__(self, asn_database: str | None, country_database: str | None) -> None:
        self._asn = _Database(asn_database)
        self._country = _Database(country_database)

    def asn(self, ip: str) -> int:
        number = self._asn.record(ip).get("autonomous_system_number")
        if not isinstance(number, int):
            raise LookupFailed(f"no ASN for {ip}")
        return number

    def country(self, ip: str) -> str:
        code = self._country.record(ip).get("country", {}).get("iso_code")
        if not isinstance(code, str):
            raise LookupFailed(f"no country for {ip}")
        return code

    def regions(self, ip: str) -> list[str]:
        record = self._country.record(ip)
        region = CONTINENTS.get(record.get("continent", {}).get("code"))  # type: ignore[arg-type]
        if region is None:
            raise LookupFailed(f"no continent for {ip}")
        in_eu = record.get("country", {}).get("is_in_european_union") is True
        return [region, "EU"] if in_eu else [region]
