"""What the API shows of a user."""

from __future__ import annotations

from chalicelib.models import UserResponse
from chalicelib.store.users import UserRecord


def describe(user: UserRecord) -> UserResponse:
    return UserResponse(userId=user.userId, username=user.username, fullName=user.fullName)
