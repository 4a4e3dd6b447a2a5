"""Onedata tokens: the wire format, the caveats, and who may mint and verify them.

- `codec`: escaping, identifiers (`2/nmd/usr-<id>/act/<tokenId>`...) and (de)serialization;
- `caveats`: every Onedata caveat in its string and JSON forms, and what it demands of a request;
- `gri`: resource identifiers, for `api` caveats;
- `keys`: the per-token signing keys, derived from one root key in Secrets Manager;
- `issuing`: new tokens and the records that make named tokens revocable and countable;
- `verification`: signature, then type, then caveats, then the stored state - in that order.
"""
