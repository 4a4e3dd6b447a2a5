"""One pass of the DNS reconciler against the local run (`make run` must be up), now: what the
scheduled function `reconcile_dns` does on AWS every DNS_RECONCILE_RATE_MINUTES, called with the
event `chalice invoke -n reconcile_dns < infra/reconcile-event.json` sends it there. The tables and
zone come from the local stack; every other setting from your environment, as for `make run`.
Prints the pass's summary as JSON.

    python scripts/reconcile.py          # make reconcile [MOTO_PORT=5000]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import stack  # noqa: E402 - after the path tweak
from scripts.run_local import reconcile_once, use_local_aws  # noqa: E402


def main() -> int:
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    use_local_aws(moto_port)
    try:
        os.environ.update(stack.environment(boto3.session.Session()))
    except (BotoCoreError, ClientError) as error:
        print(f"no local run on 127.0.0.1:{moto_port} ({error}); start `make run` first", file=sys.stderr)
        return 1
    summary = reconcile_once()
    if summary is None:
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
