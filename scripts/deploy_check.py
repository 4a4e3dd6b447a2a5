"""`make deploy-check`: `make deploy` for real, into an emulator, then use what it deployed.

No AWS account and no Docker: the AWS services are served on this machine by two servers, each
from its own virtualenv, and botocore's endpoint variables split the services between them:
- a moto server (`scripts/moto_server.py`, `.venv`) holds the data: the infra stack
  (CloudFormation), the tables, the hosted zone, the secrets (`AT_MOTO` below);
- LocalStack 2.3.2 in host mode (`scripts/localstack_host.py`, `.venv-emulator`) serves the rest
  (`AWS_ENDPOINT_URL`): IAM, Lambda and API Gateway, which `chalice deploy` creates, and
  EventBridge (the reconciler's and the GraphSync keepalive's schedules). Its API Gateway
  imports Chalice's Swagger 2.0 and runs the Lambda proxy integration; its Lambda runs the
  packaged handler. The GraphSync push functions' event source mappings are created there too,
  but name the tables' streams, which are moto's: LocalStack logs that it cannot read them, and
  pushes are proven by `make run` and the tests, not here.

The steps, each checked, in the order an operator meets them:
1. start both servers (free ports; LocalStack's files under a temporary folder);
2. copy the project (app, chalicelib, requirements, .chalice) to a temporary folder, so the
   files `make deploy` rewrites are the copy's; point the `dev` stage's functions at the moto
   server (`AWS_ENDPOINT_URL_<SERVICE>` in its `environment_variables`);
3. `make deploy STAGE=dev ZONE_DOMAIN=onezone.test PROJECT_DIR=<copy>`, with the deploying
   process's endpoints set the same way: the infra stack, the stage settings, `chalice deploy`,
   the gateway responses and throttling, the bootstrap admin; `make admin-password`;
4. through the deployed stage's URL, with curl: the seed's curls (the deprecated token endpoint
   with Basic credentials; `POST /providers` as the seed writes it), a registration with
   subdomain delegation whose A record is then in Route 53; the DNS reconciler, invoked as the
   README says, putting that record back; an unknown path;
5. the black-box tests (`BLACKBOX` below) with `ONEZONE_BASE_URL` set to the stage;
6. a change (a stage setting, `ONEZONE_NAME`) and `make deploy` again: the same API, the change
   served, the data kept;
7. `make undeploy`: the functions and the API gone, the data kept;
8. both servers stopped by process group, also on failure or Ctrl-C; their ports closed and
   none of their processes left.

What it does not prove (the emulator's fidelity gaps) is in infra/README.md, "Deploy check".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import policy as policies  # noqa: E402 - after the path tweak that makes it importable
from infra import stack  # noqa: E402

STAGE = "dev"
ZONE = "onezone.test"  # the zone the black-box tests expect (tests/localrun.py)
EMULATOR = "localstack-2.3.2"
REGION = "us-east-1"
LOGS = ROOT / ".local" / "deploy-check"  # the servers' logs, kept after a run (git-ignored)

# The services the moto server serves; every other one goes to LocalStack. The same split is
# given to the deploying process and to the deployed functions. One entry moves a service:
# when the app gets WebSocket handlers, add "apigatewayv2" (moto implements that control plane,
# LocalStack's community edition does not), so `chalice deploy` completes; the WebSocket data
# plane is then proven by `chalice package`, cfn-lint and the template tests (infra/README.md).
AT_MOTO = (
    "cloudformation",
    "dynamodb",
    "dynamodbstreams",
    "route53",
    "secretsmanager",
    "sns",
    "logs",
    "cloudwatch",
    # The WebSocket API (GraphSync channel): LocalStack's community edition has no API Gateway v2;
    # moto has its control plane, so `chalice deploy` completes (no data plane: infra/README.md).
    "apigatewayv2",
)

# The black-box modules run against the deployed stage: the seed contract and a stock Onepanel's
# registration. Others run there too by hand (README "Test it"); each request costs the emulator
# a fork and a cold import of the handler (~1 s), and CI's whole run must stay under 10 minutes.
BLACKBOX = ("tests/test_blackbox.py", "tests/test_onepanel_blackbox.py")


class CheckFailed(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def endpoint_variable(service: str) -> str:
    """botocore's per-service endpoint variable: `AWS_ENDPOINT_URL_` + the service id, upper case,
    spaces as underscores (`route53` -> `AWS_ENDPOINT_URL_ROUTE_53`)."""
    service_id = botocore.session.get_session().get_service_model(service).service_id
    return "AWS_ENDPOINT_URL_" + str(service_id).replace(" ", "_").upper()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# ---- the servers -----------------------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group (from /proc; zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            members.append(int(stat.parent.name))
    return members


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, command: Sequence[str], port: int, env: dict[str, str]) -> Server:
        """In a process group of its own, so that stopping it stops what it started."""
        log = LOGS / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, port, process, log)

    def wait_until(self, ready: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CheckFailed(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise CheckFailed(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def stop(self, grace: float = 20) -> None:
        """SIGTERM to the group, SIGKILL to whatever of it is left after `grace` seconds."""
        pgid = self.process.pid
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (self.process.poll() is None or group_members(pgid)):
            time.sleep(0.1)
        if group_members(pgid):
            with suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10  # killed processes take a moment to be gone
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.05)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def localstack_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=2) as answer:
            services = json.load(answer)["services"]
    except (OSError, ValueError, KeyError):
        return False
    return all(services.get(name) in ("available", "running") for name in ("iam", "lambda", "apigateway"))


# ---- the project copy ------------------------------------------------------------------------


def project_copy(work: Path, function_endpoints: dict[str, str]) -> Path:
    """What `chalice deploy` reads of the checkout, copied, with the stage's functions pointed at
    the moto server. Chalice's dependency cache (`.chalice/deployments`) is shared."""
    project = work / "project"
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(ROOT / name, project / name)
    for name in ("chalicelib", "vendor"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".chalice").mkdir()
    for config in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(config, project / ".chalice" / config.name)
    cache = ROOT / ".chalice" / "deployments"
    cache.mkdir(exist_ok=True)
    (project / ".chalice" / "deployments").symlink_to(cache)
    set_stage_variables(project, function_endpoints)
    return project


def set_stage_variables(project: Path, variables: dict[str, str]) -> None:
    path = project / ".chalice" / "config.json"
    config = json.loads(path.read_text())
    config["stages"][STAGE]["environment_variables"].update(variables)
    path.write_text(json.dumps(config, indent=2) + "\n")


# ---- talking to the stage --------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def curl(*args: str) -> Answer:
    """curl, as a user would run it: (status, headers, body)."""
    out = subprocess.run(["curl", "-sS", "-D", "-", *args], capture_output=True, timeout=60, check=True).stdout
    head, _, body = out.decode().partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100"):  # curl's Expect: 100-continue, answered first
        head, _, body = body.partition("\r\n\r\n")
    status_line, *lines = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, body)


@dataclass
class Check:
    """The run: its servers, its environment, what it deployed."""

    moto: Server
    localstack: Server
    project: Path
    env: dict[str, str]  # the deploying process's (and the black-box tests') environment
    passed: int = 0

    @property
    def localstack_url(self) -> str:
        return f"http://127.0.0.1:{self.localstack.port}"

    def client(self, service: str) -> Any:
        """A boto3 client of the service, wherever the split puts it (botocore's own rules)."""
        with endpoints(self.env):
            return boto3.client(service)

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"deploy-check: ok - {what}", flush=True)

    def make(self, *args: str, capture: bool = False) -> str:
        command = [os.environ.get("MAKE", "make"), "--no-print-directory", *args]
        print(f"deploy-check: $ {' '.join(command)}", flush=True)
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=capture, text=True, check=False)
        check(done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}): {done.stderr or ''}")
        print(f"deploy-check: ({time.monotonic() - started:.0f} s)", flush=True)
        return done.stdout or ""

    def deploy(self) -> None:
        self.make("deploy", f"STAGE={STAGE}", f"ZONE_DOMAIN={ZONE}", f"PROJECT_DIR={self.project}", "FRONT=none")

    def deployed(self, resource_type: str = "rest_api") -> list[dict[str, Any]]:
        """What `chalice deploy` recorded it made, of one resource type."""
        deployed = json.loads((self.project / ".chalice" / "deployed" / f"{STAGE}.json").read_text())
        return [r for r in deployed["resources"] if r.get("resource_type") == resource_type]

    def stage_root(self, rest_api_id: str) -> str:
        """Where LocalStack serves the stage; on AWS: https://<id>.execute-api.<region>.amazonaws.com/api."""
        api_stage = json.loads((self.project / ".chalice" / "config.json").read_text())["stages"][STAGE][
            "api_gateway_stage"
        ]
        return f"{self.localstack_url}/restapis/{rest_api_id}/{api_stage}/_user_request_"

    # ---- the steps -------------------------------------------------------------------------

    def run(self) -> None:
        # moto's CloudFormation skips the template's Secrets Manager resources: they are created
        # as AWS would create them for the stack, from the template's own properties.
        with endpoints(self.env):
            stack.create_secrets(boto3.session.Session(), policies.stack_name(STAGE))

        started = time.monotonic()
        self.deploy()
        [rest_api] = self.deployed()
        api_id = rest_api["rest_api_id"]
        check(
            rest_api["rest_api_url"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/",
            f"chalice recorded {rest_api}",
        )
        functions = self.stage_functions()
        recorded = sorted(f["lambda_arn"].rpartition(":")[2] for f in self.deployed("lambda_function"))
        check(len(functions) > 3 and functions == recorded, f"the stage's functions {functions}, recorded {recorded}")
        self.websocket_api()
        # Chalice names a schedule's rule `<stage's function prefix><function>-event`.
        prefix, suffix = f"onezone-registry-{STAGE}-", "-event"
        rules = {
            r["Name"].removeprefix(prefix).removesuffix(suffix): r["ScheduleExpression"] for r in self.stage_rules()
        }
        schedules = {"reconcile_dns": "rate(5 minutes)", "graphsync_keepalive": "rate(5 minutes)"}
        check(rules == schedules, f"the reconciler's and the GraphSync keepalive's schedules: {rules}")
        self.ok(f"make deploy: infra stack, settings, chalice deploy ({', '.join(functions)}; two 5-minute schedules)")
        print(f"deploy-check: first deploy took {time.monotonic() - started:.0f} s", flush=True)
        root = self.stage_root(api_id)
        base = f"{root}/api/v3/onezone"

        password = self.make("-s", "admin-password", f"STAGE={STAGE}", capture=True).strip()
        check(len(password) == 32, "make admin-password prints the generated password")
        self.ok("make admin-password")

        provider = self.seed_and_registration(base, password)
        self.reconciler()
        self.unknown_path(root, api_id)
        self.blackbox(root, password)
        self.redeploy(base, api_id, provider)
        self.undeploy(base, provider)

    def stage_functions(self) -> list[str]:
        names = [f["FunctionName"] for f in self.client("lambda").list_functions()["Functions"]]
        return sorted(n for n in names if n.startswith(f"onezone-registry-{STAGE}"))

    def websocket_api(self) -> None:
        """The GraphSync channel's WebSocket API, in moto's API Gateway v2 (control plane only):
        its three routes, each integrated with its function."""
        [websocket] = self.deployed("websocket_api")
        client = self.client("apigatewayv2")
        routes = {r["RouteKey"]: r["Target"] for r in client.get_routes(ApiId=websocket["websocket_api_id"])["Items"]}
        check(sorted(routes) == ["$connect", "$default", "$disconnect"], f"the WebSocket API's routes: {routes}")
        uris = {
            i["IntegrationId"]: i["IntegrationUri"]
            for i in client.get_integrations(ApiId=websocket["websocket_api_id"])["Items"]
        }
        targets = {key: uris[target.removeprefix("integrations/")] for key, target in routes.items()}
        check(all("websocket_" in uri for uri in targets.values()), f"the WebSocket routes' integrations: {targets}")
        self.ok("the WebSocket API (GraphSync channel): $connect, $default and $disconnect, each to its function")

    def stage_rules(self) -> list[dict[str, Any]]:
        rules = self.client("events").list_rules()["Rules"]
        return [r for r in rules if r["Name"].startswith(f"onezone-registry-{STAGE}")]

    def seed_and_registration(self, base: str, password: str) -> dict[str, Any]:
        # The seed's first curl: a registration token with Basic credentials.
        answer = curl("-u", f"admin:{password}", "-X", "POST", f"{base}/user/clusters/provider_registration_token")
        check(answer.status == 200, f"token endpoint: {answer}")
        token = answer.json["token"]
        check(token.isalnum() and answer.headers.get("deprecation") == "@1577836800", f"token endpoint: {answer}")
        self.ok("seed curl: POST /user/clusters/provider_registration_token with Basic credentials")

        # The seed's second curl, as it is written (string booleans and numbers, a trailing comma).
        seed_body = (
            f'{{\n  "token" : "{token}",\n  "name" : "My provider",\n  "adminEmail" : "person@example.com",\n'
            '  "subdomainDelegation" : "false",\n  "domain" : "my-provider.example.com",\n'
            '  "latitude" : "50.0647",\n  "longitude" : "19.9450",\n}'
        )
        answer = curl("-H", "Content-type: application/json", "-X", "POST", "-d", seed_body, f"{base}/providers")
        check(answer.status == 200 and set(answer.json) >= {"providerId", "providerRootToken"}, f"seed: {answer}")
        self.ok("seed curl: POST /providers (the seed's body, verbatim)")

        # A registration with subdomain delegation: its record is then in Route 53 (the moto server).
        token = curl("-u", f"admin:{password}", "-X", "POST", f"{base}/user/clusters/provider_registration_token")
        request = {
            "token": token.json["token"],
            "name": "Deployed Krakow",
            "adminEmail": "ops@example.com",
            "subdomainDelegation": True,
            "subdomain": "deployed-krk",
            "opWorkerIpAddresses": ["192.0.2.50", "192.0.2.51"],
        }
        answer = curl(
            "-H", "Content-Type: application/json", "-X", "POST", "-d", json.dumps(request), f"{base}/providers"
        )
        check(answer.status == 200, f"registration with a subdomain: {answer}")
        provider = answer.json
        check(self.a_record(f"deployed-krk.{ZONE}") == ["192.0.2.50", "192.0.2.51"], "the A record in Route 53")
        answer = curl("-H", f"X-Auth-Token: {provider['providerRootToken']}", f"{base}/provider")
        check(answer.status == 200 and answer.json["domain"] == f"deployed-krk.{ZONE}", f"GET /provider: {answer}")
        self.ok(f"registration with subdomain delegation: deployed-krk.{ZONE} A 192.0.2.50, 192.0.2.51 in Route 53")
        return dict(provider)

    def reconciler(self) -> None:
        """The scheduled DNS reconciler, invoked by hand as the README says (`chalice invoke` with
        infra/reconcile-event.json), puts back a record deleted behind the registry's back."""
        route53 = self.client("route53")
        [zone] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
        sets = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        [record] = [r for r in sets if r["Name"] == f"deployed-krk.{ZONE}." and r["Type"] == "A"]
        route53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]}
        )
        check(self.a_record(f"deployed-krk.{ZONE}") is None, "the record was deleted")
        chalice = str(Path(sys.executable).with_name("chalice"))
        command = [chalice, "--project-dir", str(self.project), "invoke", "-n", "reconcile_dns", "--stage", STAGE]
        print(f"deploy-check: $ {' '.join(command)} < infra/reconcile-event.json", flush=True)
        with (ROOT / "infra" / "reconcile-event.json").open() as event:
            done = subprocess.run(command, cwd=ROOT, env=self.env, stdin=event, capture_output=True, text=True)
        check(done.returncode == 0, f"chalice invoke failed: {done.stdout}{done.stderr}")
        summary = json.loads(done.stdout)
        check(summary.get("created") == 1, f"the reconciler's summary: {summary}")
        check(self.a_record(f"deployed-krk.{ZONE}") == ["192.0.2.50", "192.0.2.51"], "the record put back")
        self.ok("the DNS reconciler (chalice invoke -n reconcile_dns) puts back a deleted record")

    def a_record(self, name: str) -> list[str] | None:
        route53 = self.client("route53")
        [zone] = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == ZONE]
        records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        found = [r for r in records if r["Name"] == f"{name}." and r["Type"] == "A"]
        return sorted(v["Value"] for v in found[0]["ResourceRecords"]) if found else None

    def unknown_path(self, root: str, api_id: str) -> None:
        """On AWS an unknown path is a MISSING_AUTHENTICATION_TOKEN, which the API's gateway
        response turns into Onedata's 404. LocalStack answers it itself (a fidelity gap): its
        own 404, whatever the gateway responses. Checked: that answer, and that the responses
        are set on the API as AWS would apply them."""
        for path in ("/api/v3/onezone/no/such/path", "/nothing-here"):
            answer = curl("-X", "GET", f"{root}{path}")
            check(
                answer.status == 404 and answer.json.get("__type") == "NotFoundException",
                f"unknown path {path}: {answer}",
            )
        responses = self.client("apigateway").get_gateway_responses(restApiId=api_id)["items"]
        [missing] = [r for r in responses if r["responseType"] == "MISSING_AUTHENTICATION_TOKEN"]
        template = json.loads(missing["responseTemplates"]["application/json"])
        check(missing["statusCode"] == "404" and template["error"]["id"] == "notFound", f"gateway response: {missing}")
        answer = curl("-X", "DELETE", f"{root}/api/v3/onezone/configuration")
        check(answer.status == 405 and answer.json["error"]["id"] == "notSupported", f"unknown method: {answer}")
        self.ok("unknown path: the emulator's own 404 (a gap); the Onedata 404 gateway response set; 405 notSupported")

    def blackbox(self, root: str, password: str) -> None:
        env = {**self.env, "ONEZONE_BASE_URL": root, "ONEZONE_ADMIN_PASSWORD": password, "ONEZONE_EMULATOR": EMULATOR}
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *BLACKBOX]
        print(f"deploy-check: $ ONEZONE_BASE_URL={root} {' '.join(command[1:])}", flush=True)
        done = subprocess.run(command, cwd=ROOT, env=env, check=False)
        check(done.returncode == 0, f"the black-box tests against the deployed stage failed ({done.returncode})")
        self.ok(f"black-box tests against the deployed stage: {', '.join(BLACKBOX)}")

    def redeploy(self, base: str, api_id: str, provider: dict[str, Any]) -> None:
        name = "Onezone redeployed by deploy-check"
        set_stage_variables(self.project, {"ONEZONE_NAME": name})
        started = time.monotonic()
        self.deploy()
        print(f"deploy-check: redeploy took {time.monotonic() - started:.0f} s", flush=True)
        check(self.deployed()[0]["rest_api_id"] == api_id, "a redeploy updates the same REST API")
        answer = curl(f"{base}/configuration")
        check(answer.status == 200 and answer.json["name"] == name, f"the change is served: {answer}")
        answer = curl("-H", f"X-Auth-Token: {provider['providerRootToken']}", f"{base}/provider")
        check(answer.status == 200 and answer.json["providerId"] == provider["providerId"], f"data kept: {answer}")
        self.ok(f"redeploy after a change: API {api_id} kept, ONEZONE_NAME served, the provider still registered")

    def undeploy(self, base: str, provider: dict[str, Any]) -> None:
        self.make("undeploy", f"STAGE={STAGE}", f"PROJECT_DIR={self.project}")
        check(self.stage_functions() == [], f"functions left after make undeploy: {self.stage_functions()}")
        check(self.stage_rules() == [], f"a schedule left after make undeploy: {self.stage_rules()}")
        check(self.client("apigateway").get_rest_apis()["items"] == [], "a REST API left after make undeploy")
        check(self.client("apigatewayv2").get_apis()["Items"] == [], "a WebSocket API left after make undeploy")
        answer = curl(f"{base}/configuration")
        check(answer.status == 404, f"the stage still answers after make undeploy: {answer}")
        with endpoints(self.env):
            outputs = stack.environment(boto3.session.Session(), policies.stack_name(STAGE))
        item = self.client("dynamodb").get_item(
            TableName=outputs["PROVIDERS_TABLE"], Key={"providerId": {"S": provider["providerId"]}}
        )
        check("Item" in item, "the providers table kept its data")
        self.ok("make undeploy: functions, schedule and API gone; the infra stack and its data kept")


@contextmanager
def endpoints(env: dict[str, str]) -> Iterator[None]:
    """This process's AWS_* variables as in `env`, for the duration (botocore reads them when
    a client is made)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for name in saved:
        del os.environ[name]
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator-python", required=True, help="the emulator virtualenv's python")
    args = parser.parse_args(argv)

    # SIGTERM (CI cancelling, kill) unwinds like Ctrl-C does, through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    servers: list[Server] = []
    passed, outcome = 0, 1
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with tempfile.TemporaryDirectory(prefix="onezone-deploy-check-") as temporary:
        work = Path(temporary)
        try:
            moto_port, localstack_port = free_port(), free_port()
            moto = Server.start(
                "moto", [sys.executable, "scripts/moto_emulator.py", "127.0.0.1", str(moto_port)], moto_port, base_env
            )
            servers.append(moto)
            localstack_command = [
                args.emulator_python,
                "scripts/localstack_host.py",
                "127.0.0.1",
                str(localstack_port),
                str(work / "localstack"),
            ]
            localstack = Server.start("localstack", localstack_command, localstack_port, base_env)
            servers.append(localstack)
            moto.wait_until(lambda: port_open(moto_port), timeout=30)
            localstack.wait_until(lambda: localstack_ready(localstack_port), timeout=90)
            print(f"deploy-check: moto server on :{moto_port}, {EMULATOR} on :{localstack_port}", flush=True)

            at_moto = {endpoint_variable(service): f"http://127.0.0.1:{moto_port}" for service in AT_MOTO}
            env = {
                **base_env,
                "AWS_ACCESS_KEY_ID": "deploy-check",
                "AWS_SECRET_ACCESS_KEY": "deploy-check",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{localstack_port}",
                **at_moto,
            }
            run = Check(moto, localstack, project_copy(work, at_moto), env)
            try:
                run.run()
                outcome = 0
            finally:
                passed = run.passed
        except Exception as failure:  # noqa: BLE001 - reported with the servers' logs, then the servers stop
            if isinstance(failure, CheckFailed):
                print(f"deploy-check: FAILED - {failure}", file=sys.stderr, flush=True)
            else:
                traceback.print_exc()
            for server in servers:
                print(f"--- the end of {server.log.relative_to(ROOT)}:\n{server.tail()}", file=sys.stderr)
        finally:
            for server in reversed(servers):
                server.stop()
    left = {s.name: group_members(s.process.pid) for s in servers if group_members(s.process.pid)}
    still_open = [s.port for s in servers if port_open(s.port)]
    if left or still_open:
        print(f"deploy-check: FAILED - left running: {left}, ports still open: {still_open}", file=sys.stderr)
        return 1
    print(
        f"deploy-check: {passed} passed, {outcome} failed in {time.monotonic() - started:.0f} s; "
        f"both servers stopped, their ports closed, none of their processes left",
        flush=True,
    )
    return outcome


if __name__ == "__main__":
    sys.exit(main())
