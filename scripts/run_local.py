"""Run the registry on this machine: moto server, the infra stack, the admin, `chalice local`
(`scripts/local_server.py`: chalice's local server, playing API Gateway's REST and WebSocket APIs
and Lambda's event sources for the app).

Everything AWS goes to an embedded moto server through `AWS_ENDPOINT_URL`; the tables, zone and
secrets come from `infra/template.yaml`, exactly as on AWS. Ctrl-C (or SIGTERM) stops both
servers. Settings, all optional:

  ONEZONE_PORT (8000)   MOTO_PORT (5000)   ONEZONE_HOST (127.0.0.1)
  ONEZONE_ADMIN_PASSWORD (password)        ONEZONE_DOMAIN (onezone.test)
  REGISTRATION_POLICY (open)               SUBDOMAIN_DELEGATION_SUPPORTED (true)
  DNS_RECONCILE_INTERVAL (60; 0: never)   WEBSOCKET_IDLE_TIMEOUT (600)   WEBSOCKET_MAX_DURATION (7200)

While it runs, the app's scheduled functions run at their rates, as on AWS, except that the DNS
reconciler makes a pass every DNS_RECONCILE_INTERVAL seconds (`make reconcile` makes one now);
its stream handlers get the tables' DynamoDB stream records within about a second.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
}


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing is listening on {host}:{port} after {timeout:.0f}s")


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own process group, so stopping it stops everything it started."""
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    host = os.environ.get("ONEZONE_HOST", "127.0.0.1")
    port = int(os.environ.get("ONEZONE_PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    password = os.environ.get("ONEZONE_ADMIN_PASSWORD", "password")
    endpoint = f"http://127.0.0.1:{moto_port}"

    env = use_local_aws(moto_port)

    children: list[subprocess.Popen[bytes]] = []

    def shutdown(*_: object) -> None:
        for child in reversed(children):
            stop(child)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)

    try:
        moto = start([sys.executable, str(ROOT / "scripts" / "moto_server.py"), "127.0.0.1", str(moto_port)], env)
        children.append(moto)
        wait_for_port("127.0.0.1", moto_port, moto)
        service_env = provision(env, password)

        service_env.update(local_server_env(env, host, port))
        chalice = start(
            [sys.executable, str(ROOT / "scripts" / "local_server.py"), host, str(port), "local"], service_env
        )
        children.append(chalice)
        wait_for_port(host, port, chalice)
        base = f"http://{host}:{port}/api/v3/onezone"
        shown = "$ONEZONE_ADMIN_PASSWORD" if "ONEZONE_ADMIN_PASSWORD" in env else password
        print(
            f"\nOnezone provider registry is up at {base}\n"
            f"  AWS (moto server): {endpoint}   zone: {service_env['ZONE_DOMAIN']} "
            f"({service_env['HOSTED_ZONE_ID']})\n"
            f"  log in as admin:   curl -u admin:{shown} {base}/user\n"
            f"  registration token: curl -u admin:... -X POST {base}/user/clusters/provider_registration_token\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        print("a server stopped unexpectedly; shutting down", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            stop(child)


def local_server_env(env: dict[str, str], host: str, port: int) -> dict[str, str]:
    """What the local server needs beyond the service's settings: the app reaches API Gateway's
    `@connections` API on the local server itself, and the DNS reconciler runs at the local pace."""
    reconcile = float(env.get("DNS_RECONCILE_INTERVAL", "60"))
    schedules = ",".join(s for s in (f"reconcile_dns={reconcile}", env.get("LOCAL_SCHEDULES", "")) if s)
    return {"CONNECTIONS_API_ENDPOINT": f"http://{host}:{port}", "LOCAL_SCHEDULES": schedules}


def use_local_aws(moto_port: int) -> dict[str, str]:
    """Point this process (and the children it starts with the returned environment) at the
    moto server on `moto_port`, with placeholder credentials instead of any real ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS, AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}")
    os.environ.clear()
    os.environ.update(env)
    return env


def reconcile_once() -> dict[str, int] | None:
    """One pass of the scheduled function now (`make reconcile`), with the event EventBridge
    would send; its summary line goes to the log. A failed pass is reported."""
    import app

    event = json.loads((ROOT / "infra" / "reconcile-event.json").read_text())
    try:
        return app.reconcile_dns(event, None)
    except Exception as error:  # noqa: BLE001 - the local run reports it and carries on, as the schedule would
        print(f"DNS reconciler pass failed: {error!r}", file=sys.stderr, flush=True)
        return None


def provision(env: dict[str, str], admin_password: str) -> dict[str, str]:
    """Deploy the infra stack into moto, set the local admin password, bootstrap the admin."""
    import boto3

    from chalicelib import bootstrap, context
    from infra import stack

    domain = env.get("ONEZONE_DOMAIN", "onezone.test")
    outputs = stack.deploy(boto3.session.Session(), parameters={"Stage": "local", "ZoneDomain": domain})
    boto3.client("secretsmanager").put_secret_value(
        SecretId=outputs["ADMIN_PASSWORD_SECRET_ID"], SecretString=json.dumps({"password": admin_password})
    )
    service_env = {
        **env,
        **outputs,
        "REGISTRATION_POLICY": env.get("REGISTRATION_POLICY", "open"),
        "SUBDOMAIN_DELEGATION_SUPPORTED": env.get("SUBDOMAIN_DELEGATION_SUPPORTED", "true"),
    }
    os.environ.update(service_env)
    context.reset()
    bootstrap.run(context.current())
    return service_env


if __name__ == "__main__":
    sys.exit(main())
