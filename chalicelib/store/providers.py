"""The providers table: one item per registered Oneprovider, keyed by `providerId`."""

from __future__ import annotations

from pydantic import BaseModel

from chalicelib.store import db


class ProviderRecord(BaseModel):
    providerId: str
    name: str
    adminEmail: str
    domain: str
    subdomainDelegation: bool
    subdomain: str | None = None
    opWorkerIpAddresses: list[str] = []
    opWorkerPort: int | None = None
    oneS3IpAddresses: list[str] = []
    oneS3Port: int | None = None
    latitude: float = 0.0
    longitude: float = 0.0
    rootTokenId: str
    adminUserId: str
    createdAt: int


TABLE = db.Table("providers_table", "providerId", ProviderRecord)
