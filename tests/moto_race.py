"""Minimal reproduction: moto's threaded server does not make DynamoDB transactions atomic.

    .venv/bin/python -m tests.moto_race [--rounds 30] [--server stock|serialised|both]

No app code: boto3 only, against a moto server on a free loopback port. Each round puts a counter
`n = 0`, then 32 threads released together by a barrier each send one `TransactWriteItems`:
  Update counter  SET n = n + 1   IF n < 1          (a single-use token)
  Put    marker-<i>               IF it does not exist
DynamoDB lets exactly one of them commit: one success, `n == 1`, exactly the winner's marker.

With `python -m moto.server` (threads, no lock around the backend) rounds break that, because
`transact_write_items` checks each condition and writes item by item, and a cancelled transaction
restores a deep copy of every table it touched taken when it *started*: two transactions both
see `n == 0` and both report success, and a loser's restore erases the winner's committed marker
(or `n`), so the stored state disagrees with what clients were told. The deep copy also fails
with a 500 while another thread changes the table. With `scripts/moto_server.py` (what the local
run uses: one request at a time) every round holds. Bounded: rounds x 32 requests, 120 s each.

Exit status 1 if the serialised server ever breaks the guarantee; the stock server's violations
are the point of the demonstration and only reported (they are probabilistic: a few per 30 rounds
on 2 cores).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
RACERS = 32
SERVERS = {
    "stock": lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
    "serialised": lambda port: [sys.executable, str(ROOT / "scripts" / "moto_server.py"), "127.0.0.1", str(port)],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(port: int) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),  # every answer is the server's first
    )


def race_round(clients: list[Any], table: str, round_no: int) -> tuple[Counter[str], bool]:
    """One round; returns the outcomes and whether the stored state matches them."""
    counter = {"pk": {"S": f"counter-{round_no}"}}
    clients[0].put_item(TableName=table, Item={**counter, "n": {"N": "0"}})
    barrier = threading.Barrier(RACERS)

    def racer(i: int) -> str:
        barrier.wait(timeout=30)
        try:
            clients[i].transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": counter,
                            "UpdateExpression": "SET n = n + :one",
                            "ConditionExpression": "n < :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"marker-{round_no}-{i}"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
            return "committed"
        except ClientError as error:
            return error.response["Error"]["Code"]  # TransactionCanceledException, or a 500's code

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(racer, range(RACERS), timeout=60))
    read = clients[0]
    n = read.get_item(TableName=table, Key=counter, ConsistentRead=True)["Item"]["n"]["N"]
    markers = {
        i
        for i in range(RACERS)
        if "Item" in read.get_item(TableName=table, Key={"pk": {"S": f"marker-{round_no}-{i}"}}, ConsistentRead=True)
    }
    winners = {i for i, outcome in enumerate(outcomes) if outcome == "committed"}
    consistent = len(winners) == 1 and n == "1" and markers == winners
    summary = Counter(outcomes)
    summary[f"stored n={n}, markers={len(markers)}"] += 1
    return summary, consistent


def run(server: str, rounds: int) -> int:
    """Race `rounds` rounds against a fresh server; returns how many broke the guarantee."""
    port = free_port()
    process = subprocess.Popen(SERVERS[server](port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"{server} moto server did not start") from None
                time.sleep(0.1)
        clients = [client(port) for _ in range(RACERS)]
        clients[0].create_table(
            TableName="race",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        broken = 0
        stop_at = time.monotonic() + 120
        for round_no in range(rounds):
            if time.monotonic() > stop_at:
                print(f"  {server}: time limit after {round_no} rounds")
                rounds = round_no
                break
            summary, consistent = race_round(clients, "race", round_no)
            if not consistent:
                broken += 1
                print(f"  {server} round {round_no}: {dict(summary)}")
        print(f"{server}: {broken} of {rounds} rounds broke 'exactly one commits, and the store agrees'")
        return broken
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--server", choices=[*SERVERS, "both"], default="both")
    args = parser.parse_args()
    servers = list(SERVERS) if args.server == "both" else [args.server]
    broken = {server: run(server, min(args.rounds, 200)) for server in servers}
    return 1 if broken.get("serialised") else 0


if __name__ == "__main__":
    sys.exit(main())
