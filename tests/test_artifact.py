"""The deployment package itself, run as Lambda runs it.

`out/deployment.zip` is what `chalice package` builds (`make package-check` does, before the tests;
this module builds it if it is missing or older than the code). It is unpacked and its handler is
imported by an isolated interpreter - `python -I -S`: no site-packages, no virtualenv, nothing but
the standard library and the unpacked package on the path - and fed API Gateway REST proxy events
(the shape API Gateway sends: method, path, headers, `requestContext` with `identity.sourceIp` and
`requestId`) against a moto server holding the infra stack. A dependency missing from
`requirements.txt`, a module left out of the package, or a wheel for another platform fails here
instead of in Lambda.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from infra import stack
from tests.apigateway import rest_event
from tests.localrun import ROOT

PACKAGE = ROOT / "out" / "deployment.zip"
SOURCES = [ROOT / "app.py", ROOT / "requirements.txt", *(ROOT / "chalicelib").rglob("*.py")]
ADMIN_PASSWORD = "artifact-admin-1"
ZONE = "artifact.test"

# The Lambda runtime's side: one container, its handlers, invocations as JSON lines.
DRIVER = """
import json, sys, uuid
sys.path.insert(0, sys.argv[1])
import app

class Context:
    function_name = "onezone-registry-prod"
    memory_limit_in_mb = 512
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 20000

for line in sys.stdin:
    invocation = json.loads(line)
    handler = getattr(app, invocation["handler"])
    answer = handler(invocation["event"], Context())
    loaded = sorted({m.split(".")[0] for m in sys.modules})
    origins = {m: getattr(sys.modules[m], "__file__", None) for m in loaded}
    print("ANSWER " + json.dumps({"answer": answer, "modules": origins}), flush=True)
"""


def package() -> Path:
    """The package `chalice package` builds, rebuilt if the code changed since."""
    newest = max(path.stat().st_mtime for path in SOURCES)
    if not PACKAGE.exists() or PACKAGE.stat().st_mtime < newest:
        subprocess.run(
            [
                str(Path(sys.executable).with_name("chalice")),
                "package",
                "--stage",
                "prod",
                "--merge-template",
                "infra/chalice-merge.yaml",
                "out/",
            ],
            cwd=ROOT,
            env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
            check=True,
            capture_output=True,
            timeout=600,
        )
    return PACKAGE


@dataclass
class Lambda:
    """One isolated interpreter holding the unpacked package: a warm Lambda container."""

    process: subprocess.Popen[str]
    root: Path
    output: list[str]

    def invoke(self, event: dict[str, Any], handler: str = "app") -> tuple[dict[str, Any], dict[str, str]]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"handler": handler, "event": event}) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("ANSWER "):
                reply = json.loads(line.removeprefix("ANSWER "))
                return reply["answer"], reply["modules"]
            self.output.append(line)
        raise AssertionError("the handler's interpreter died:\n" + "".join(self.output))

    def http(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        answer, _ = self.invoke(rest_event(*args, **kwargs))
        body = answer["body"]
        return answer["statusCode"], json.loads(body) if body else None


@dataclass
class Deployed:
    function: Lambda
    outputs: dict[str, str]
    endpoint: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )


@pytest.fixture(scope="module")
def deployed(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    aws = {
        "AWS_ACCESS_KEY_ID": "artifact",
        "AWS_SECRET_ACCESS_KEY": "artifact",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
    }
    with pytest.MonkeyPatch.context() as env:
        for name, value in aws.items():
            env.setenv(name, value)
        outputs = stack.deploy(boto3.session.Session(), parameters={"Stage": "prod", "ZoneDomain": ZONE})
        boto3.client("secretsmanager").put_secret_value(
            SecretId=outputs["ADMIN_PASSWORD_SECRET_ID"], SecretString=ADMIN_PASSWORD
        )
    work = tmp_path_factory.mktemp("artifact")
    root = work / "task"
    with zipfile.ZipFile(package()) as archive:
        archive.extractall(root)
    geoip = work / "country.mmdb"
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country")
    writer.insert_network(IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "PL"}, "continent": {"code": "EU"}})
    writer.to_db_file(str(geoip))
    (work / "driver.py").write_text(DRIVER)
    settings = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]["environment_variables"]
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **settings,
        **outputs,
        **aws,
        "GEOIP_COUNTRY_DATABASE": str(geoip),
    }
    interpreter = getattr(sys, "_base_executable", sys.executable)  # not the virtualenv's
    process = subprocess.Popen(
        [interpreter, "-I", "-S", str(work / "driver.py"), str(root)],
        cwd=root,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    function = Lambda(process=process, root=root, output=[])
    try:
        yield Deployed(function=function, outputs=outputs, endpoint=moto_server)
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_the_package_serves_registration_as_lambda_would(deployed: Deployed) -> None:
    function, outputs = deployed.function, deployed.outputs
    created, _ = function.invoke({}, handler="bootstrap_admin")
    assert created == {"username": "admin", "created": True}

    status, body = function.http(
        "POST", "/api/v3/onezone/user/clusters/provider_registration_token", headers=basic("admin", ADMIN_PASSWORD)
    )
    assert status == 200, body
    assert body["token"].isalnum()

    # An invite that only holds from Poland, by the GeoIP database: maxminddb runs from the package.
    caveat = {"type": "geo.country", "filter": "whitelist", "list": ["PL"]}
    status, named = function.http(
        "POST",
        "/api/v3/onezone/user/tokens/named",
        {"name": "from Poland", "type": {"inviteToken": {"inviteType": "registerOneprovider"}}, "caveats": [caveat]},
        headers=basic("admin", ADMIN_PASSWORD),
    )
    assert status == 201, named
    registration = {
        "token": named["token"],
        "name": "Artifact provider",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": "krk",
        "opWorkerIpAddresses": ["192.0.2.10"],
    }
    status, registered = function.http(
        "POST", "/api/v3/onezone/providers", registration, headers={"Content-Type": "application/json"}
    )
    assert status == 200, registered
    zone = deployed.client("route53").list_resource_record_sets(HostedZoneId=outputs["HOSTED_ZONE_ID"])
    records = zone["ResourceRecordSets"]
    assert [r["ResourceRecords"] for r in records if r["Name"] == f"krk.{ZONE}." and r["Type"] == "A"] == [
        [{"Value": "192.0.2.10"}]
    ]

    # The scheduled DNS reconciler, with the event EventBridge sends, puts back a deleted record.
    route53 = deployed.client("route53")
    [krk] = [r for r in records if r["Name"] == f"krk.{ZONE}." and r["Type"] == "A"]
    route53.change_resource_record_sets(
        HostedZoneId=outputs["HOSTED_ZONE_ID"],
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": krk}]},
    )
    scheduled = json.loads((ROOT / "infra" / "reconcile-event.json").read_text())
    summary, _ = function.invoke(scheduled, handler="reconcile_dns")
    assert (summary["created"], summary["deleted"], summary["fixed"]) == (1, 0, 0)
    zone = route53.list_resource_record_sets(HostedZoneId=outputs["HOSTED_ZONE_ID"])["ResourceRecordSets"]
    assert [r for r in zone if r["Name"] == f"krk.{ZONE}." and r["Type"] == "A"] == [krk]

    status, provider = function.http(
        "GET", "/api/v3/onezone/provider", headers={"X-Auth-Token": registered["providerRootToken"]}
    )
    assert (status, provider["providerId"], provider["domain"]) == (200, registered["providerId"], f"krk.{ZONE}")

    status, unknown = function.http("GET", "/api/v3/onezone/no/such/path")
    assert (status, unknown["error"]["id"]) == (404, "notFound")

    # Everything the handler imported came from the package or the standard library.
    _, modules = function.invoke(rest_event("GET", "/api/v3/onezone/configuration"))
    stdlib = Path(os.__file__).parent
    outside = {
        name: origin
        for name, origin in modules.items()
        if origin
        and name not in ("__main__", "__mp_main__")
        and not origin.startswith((str(function.root), str(stdlib)))
    }
    assert outside == {}
    for package_name in ("pydantic_core", "pymacaroons", "nacl", "maxminddb", "aws_lambda_powertools", "botocore"):
        assert modules[package_name].startswith(str(function.root)), package_name

    # Its log lines: JSON, with API Gateway's request id.
    logged = [json.loads(line) for line in function.output if line.startswith('{"level"')]
    assert any(line.get("message") == "request" and line.get("requestId", "").startswith("gateway-") for line in logged)
