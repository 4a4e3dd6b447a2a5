"""Fixtures of the tests about clusters and their members (a pytest plugin, see conftest):
`alice`, a user, and `krk`, the provider she registered, whose cluster she created; and the
headers of a user's access token."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.provider_helpers import Registered, register_provider
from tests.token_helpers import access_token


@pytest.fixture
def alice(api: Api) -> str:
    return api.create_user("alice")


@pytest.fixture
def krk(api: Api, alice: str) -> Registered:
    return register_provider(api, "alice")


def as_user(user_id: str) -> dict[str, str]:
    """Headers of an access token of the user (a named token straight in the table)."""
    return {"X-Auth-Token": access_token(user_id)}
