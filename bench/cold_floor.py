"""The floor of a cold request: a fresh interpreter making exactly the AWS calls that request
makes (recorded by bench/cold_lambda.py --dry-record), with boto3 alone: one client per service,
created when first needed, as a plain script would.

    python bench/cold_floor.py CALLS_PICKLE [MODULE ...]

MODULEs are imported first: the floor plus what a dependency of the app costs a cold start.
"""

import importlib
import os
import pickle
import sys

import boto3


def main() -> None:
    for module in sys.argv[2:]:
        importlib.import_module(module)
    with open(sys.argv[1], "rb") as recorded:
        calls = pickle.load(recorded)  # noqa: S301 - written by the bench itself, a moment ago
    clients = {}
    for service, method, params in calls:
        if service not in clients:
            clients[service] = boto3.client(service)
        getattr(clients[service], method)(**params)
    os._exit(0)  # done: as the app's child, no interpreter teardown (Lambda never does one)


if __name__ == "__main__":
    main()
