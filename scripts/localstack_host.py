"""LocalStack 2.3.2 in host mode (no Docker), as `make deploy-check` runs it.

    .venv-emulator/bin/python scripts/localstack_host.py HOST PORT STATE_DIR

Runs in the emulator's own virtualenv (`requirements-emulator.txt`), never in `.venv`: it
imports nothing of this project. It sets LocalStack's configuration, fixes one LocalStack bug
that breaks every second `chalice deploy` and one that makes Lambda unlike Lambda, then runs
`localstack start --host` in this process (so the fixes apply), until it is stopped.

Configuration:
- the gateway listens on HOST:PORT only; no DNS server (`DNS_ADDRESS=0`);
- Lambda: the legacy provider with the local executor, which runs a Python handler in a fork of
  this interpreter (LocalStack 3 and later run Lambdas only in Docker);
- `OVERRIDE_IN_DOCKER=0`: machines with `/.dockerenv` would otherwise make LocalStack believe it
  runs in its own container and write to `/var/lib/localstack`; all its files go under
  STATE_DIR instead (`FILESYSTEM_ROOT`, `LOCALSTACK_VOLUME_DIR`, and `TMPDIR`,
  `XDG_CACHE_HOME` for what its CLI writes);
- no certificate download, no analytics events.

The bug: Chalice clears `minimumCompressionSize` with an empty string in `UpdateRestApi`;
LocalStack 2.3.2 stores `""`, and every later `GetRestApi` of that API fails (500, `int('')`),
so a redeploy breaks. AWS reads the empty value as "no compression"; so does this fix, by
storing `None` instead.

The other: each invocation runs in a fresh fork, which loads the handler module and then removes
from `sys.modules` every module that loading imported (a guard against one function's modules
reaching another's, pointless in a fork that ends with the invocation). On Lambda the modules
stay. Here, a module the handler imports on first use (app.py's routes import what they call
when they first run) is then imported a second time, beside the first copy: two `OnedataError`
classes, and an error raised by one copy is not the class the other copy catches (every Onedata
error became a 500). This fix puts the removed modules back, in the fork only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def configure(host: str, port: int, state: Path) -> None:
    for folder in ("tmp", "cache"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "GATEWAY_LISTEN": f"{host}:{port}",
            "DNS_ADDRESS": "0",
            "PROVIDER_OVERRIDE_LAMBDA": "legacy",
            "LAMBDA_EXECUTOR": "local",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(state / "filesystem"),
            "LOCALSTACK_VOLUME_DIR": str(state / "volume"),
            # Its CLI's folders (`tempfile`'s and the user's cache) too.
            "TMPDIR": str(state / "tmp"),
            "XDG_CACHE_HOME": str(state / "cache"),
        }
    )


def fix_empty_compression_size() -> None:
    from localstack.services.apigateway import provider

    patch_entity = provider._patch_api_gateway_entity

    def patched(entity: Any, patch_operations: Any) -> Any:
        result = patch_entity(entity, patch_operations)
        if getattr(entity, "minimum_compression_size", None) == "":
            entity.minimum_compression_size = None
        return result

    provider._patch_api_gateway_entity = patched


def keep_handler_modules() -> None:
    from localstack.services.lambda_ import lambda_api

    load_source = lambda_api.load_source
    exec_lambda_code = lambda_api.exec_lambda_code
    loaded: dict[str, Any] = {}

    def load_and_remember(name: str, file: str) -> Any:
        module = load_source(name, file)
        loaded.update(sys.modules)
        return module

    def exec_keeping_modules(*args: Any, **kwargs: Any) -> Any:
        handler = exec_lambda_code(*args, **kwargs)
        for name, module in loaded.items():
            sys.modules.setdefault(name, module)
        return handler

    lambda_api.load_source = load_and_remember
    lambda_api.exec_lambda_code = exec_keeping_modules


def main() -> None:
    host, port, state = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    configure(host, port, state)
    fix_empty_compression_size()
    keep_handler_modules()
    from localstack.cli.main import main as localstack

    sys.argv = ["localstack", "start", "--host", "--no-banner"]
    localstack()


if __name__ == "__main__":
    main()
