"""moto's server, answering one AWS request at a time.

DynamoDB applies each conditional write and transaction atomically. moto's own `moto_server`
runs threaded and does not serialise its in-memory backend, so two concurrent transactions can
both pass a condition only one should (seen in tests/test_concurrency.py). Serving requests one
by one restores the guarantee the registry relies on; the app itself (`chalice local`) stays
threaded, so concurrent registrations still race through the whole request path.

    python scripts/moto_server.py HOST PORT
"""

from __future__ import annotations

import sys

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(
        host,
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
