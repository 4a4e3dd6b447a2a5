"""The bootstrap admin: created once, with every Onezone privilege, from a secret.

On AWS the password is the value of the secret named by `ADMIN_PASSWORD_SECRET_ID` (generated
by the infra stack; there is no default), and this runs as the `bootstrap_admin` Lambda function
(`chalice invoke --stage prod -n bootstrap_admin`). The local run calls the same function after
writing the local password into moto's copy of that secret.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.config import ConfigurationError
from chalicelib.context import Context
from chalicelib.users import accounts

log = logging.getLogger(__name__)


def admin_password(ctx: Context) -> str:
    """The password stored in the admin secret: a plain string or `{"password": ...}`."""
    secret_id = ctx.settings.admin_password_secret_id
    if not secret_id:
        raise ConfigurationError("ADMIN_PASSWORD_SECRET_ID is not set")
    value = ctx.aws.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed["password"] if isinstance(parsed, dict) else value


def run(ctx: Context) -> dict[str, Any]:
    username = ctx.settings.admin_username
    created = accounts.ensure_admin(ctx, username, admin_password(ctx))
    log.info("bootstrap admin %r %s", username, "created" if created else "already exists")
    return {"username": username, "created": created}
