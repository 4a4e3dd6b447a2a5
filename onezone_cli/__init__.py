"""`onezone-rest-cli`: the registry's REST API from a shell, with nothing but the standard library.

Kept apart from `chalicelib` on purpose: it is the one package the project installs, and it must
import nowhere the service's dependencies (chalice, boto3, pydantic) are absent.
"""
