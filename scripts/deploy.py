"""Deploy a stage to AWS in one command, or take its functions down again.

    make deploy STAGE=prod ZONE_DOMAIN=onezone.example.com [EXISTING_HOSTED_ZONE_ID=Z...] [REGION=...]
                [CERTIFICATE_ARN=arn:aws:acm:us-east-1:...]
    make undeploy STAGE=prod
    (deploy and undeploy take PROJECT_DIR=<dir>: that Chalice project and its .chalice/ instead of
    this checkout's; `make deploy-check` deploys a copy so)
    make admin-password STAGE=prod

`deploy` runs the whole documented sequence, and a re-run updates:
1. the infra stack `onezone-registry-<stage>` (`infra/template.yaml`: tables, zone, secrets, log
   groups, alarms), created or updated, waited for;
2. the stage's settings and IAM policy from the stack's outputs (`scripts/stage_env.py`);
3. `chalice deploy --stage <stage>` (the functions, the REST API and the WebSocket API); the
   first time, again once the policy names the new WebSocket API (`@connections` of that API
   only: `infra.policy.with_websocket_api`);
4. the REST API: the Onedata-shaped gateway responses (`infra/chalice-merge.yaml`) and the stage's
   throttling (the stack's `ApiThrottleRate`/`ApiThrottleBurst`), then redeployed;
5. the front stack `onezone-registry-<stage>-front` in us-east-1 (`infra/front.yaml`: CloudFront
   on the zone domain, the REST API by default and the GraphSync channel path to the WebSocket
   API, its certificate unless `--certificate-arn` names one, the apex alias records);
6. the bootstrap admin, created once from the generated password secret (a re-run finds it).
It ends with the zone's URLs, the name servers to delegate the zone to (also printed as soon as
the zone exists: the front's certificate is validated through the delegated zone), and how to
read the admin password. `undeploy` runs `chalice delete`: the functions and the API go; the infra stack - and so
the tables, the zone and the secrets, whose data it `Retain`s - stays.

Everything goes through boto3 (and Chalice's own CLI for step 3); no AWS CLI is needed. The
credentials, region and endpoints are boto3's usual ones (`AWS_PROFILE`, `AWS_REGION`,
`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`...), or `--region`; `chalice deploy` inherits
them (`make deploy-check` points them at an emulator this way).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError, WaiterError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import policy as policies  # noqa: E402 - after the path tweak that makes it importable
from infra.single_stack import FRONT  # noqa: E402
from infra.stack import TEMPLATE  # noqa: E402
from scripts import gateway_responses, stage_env  # noqa: E402

STAGES = ("dev", "prod")
NO_CHANGE = "No updates are to be performed"
FRONT_REGION = "us-east-1"  # CloudFront reads its certificates from there
Run = Callable[[Sequence[str]], None]


def run_chalice(args: Sequence[str], project: Path = ROOT) -> None:
    """Chalice's CLI, from the project directory, as an operator would type it."""
    subprocess.run([str(Path(sys.executable).with_name("chalice")), *args], cwd=project, check=True)


@dataclass
class Deployment:
    stage: str
    session: boto3.session.Session
    chalice_dir: Path = policies.CHALICE
    chalice: Run = run_chalice
    said: list[str] = field(default_factory=list)

    @property
    def stack(self) -> str:
        return policies.stack_name(self.stage)

    def say(self, line: str) -> None:
        self.said.append(line)
        print(line, flush=True)

    # ---- 1. the infra stack ------------------------------------------------------------------

    def infra(self, parameters: dict[str, str]) -> dict[str, str]:
        """Create or update the stack with `parameters` (others keep their values); its outputs."""
        cloudformation = self.session.client("cloudformation")
        return self._stack(cloudformation, self.stack, TEMPLATE.read_text(), parameters, "infra stack")

    def _stack(
        self, cloudformation: Any, name: str, template: str, parameters: dict[str, str], what: str
    ) -> dict[str, str]:
        request: dict[str, Any] = {"StackName": name, "TemplateBody": template}
        existing = self._described(cloudformation, name)
        if existing is None:
            request["Parameters"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
            cloudformation.create_stack(**request)
            self._wait(cloudformation, name, what, "stack_create_complete", "created")
        else:
            # Parameters not given keep their values (stated, rather than `UsePreviousValue`:
            # the same to CloudFormation, and understood by moto too).
            previous = {p["ParameterKey"]: p["ParameterValue"] for p in existing.get("Parameters", [])}
            merged = {**previous, **parameters}
            request["Parameters"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in merged.items()]
            try:
                cloudformation.update_stack(**request)
            except ClientError as error:
                if NO_CHANGE not in str(error):
                    raise
                self.say(f"{what} {name}: up to date")
            else:
                self._wait(cloudformation, name, what, "stack_update_complete", "updated")
        described = self._described(cloudformation, name)
        assert described is not None
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def _described(self, cloudformation: Any, name: str) -> dict[str, Any] | None:
        try:
            [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return dict(stack)

    def _wait(self, cloudformation: Any, name: str, what: str, waiter: str, done: str) -> None:
        self.say(f"{what} {name}: waiting for CloudFormation...")
        try:
            cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
        except WaiterError as error:
            raise SystemExit(f"{what} {name} failed: {error} (see its events in CloudFormation)") from None
        self.say(f"{what} {name}: {done}")

    # ---- 2-6 ---------------------------------------------------------------------------------

    def settings(self, outputs: dict[str, str]) -> None:
        stage_env.apply(self.stage, outputs, self.chalice_dir)
        self.say(f"stage {self.stage}: settings and IAM policy name the stack's resources")

    def functions(self) -> None:
        """`chalice deploy`; again if the policy did not yet name the WebSocket API it made."""
        self.chalice(["deploy", "--stage", self.stage])
        api_id = str(self._deployed("websocket_api")["websocket_api_id"])
        policy = policies.load(self.stage, self.chalice_dir)
        if policies.websocket_api_of(policy) != api_id:
            policy = policies.with_websocket_api(policy, api_id)
            policies.path(self.stage, self.chalice_dir).write_text(json.dumps(policy, indent=2) + "\n")
            self.say(f"stage {self.stage}: the IAM policy names WebSocket API {api_id}; deploying it")
            self.chalice(["deploy", "--stage", self.stage])

    def _deployed(self, resource_type: str) -> dict[str, Any]:
        """What `chalice deploy` recorded of its `resource_type` resource."""
        deployed = json.loads((self.chalice_dir / "deployed" / f"{self.stage}.json").read_text())
        [resource] = [r for r in deployed["resources"] if r.get("resource_type") == resource_type]
        return dict(resource)

    def api(self, outputs: dict[str, str]) -> str:
        """Gateway responses and throttling on the REST API `chalice deploy` made; its URL."""
        rest_api = self._deployed("rest_api")
        client = self.session.client("apigateway")
        api_stage = gateway_responses.api_stage(self.stage, self.chalice_dir)
        applied = gateway_responses.apply(client, rest_api["rest_api_id"], api_stage)  # redeploys the stage
        # Stage settings take effect at once, without a deployment.
        limits = {"rateLimit": outputs["ApiThrottleRate"], "burstLimit": outputs["ApiThrottleBurst"]}
        client.update_stage(
            restApiId=rest_api["rest_api_id"],
            stageName=api_stage,
            patchOperations=[
                {"op": "replace", "path": f"/*/*/throttling/{name}", "value": str(value)}
                for name, value in limits.items()
            ],
        )
        self.say(f"REST API {rest_api['rest_api_id']}: {', '.join(applied)}; throttled to {limits}")
        return str(rest_api["rest_api_url"])

    def front(self, outputs: dict[str, str], certificate_arn: str | None) -> dict[str, str]:
        """The front stack for the APIs `chalice deploy` made; its outputs."""
        api_stage = gateway_responses.api_stage(self.stage, self.chalice_dir)
        parameters = {
            "ZoneDomain": outputs["ZoneDomain"],
            "HostedZoneId": outputs["HostedZoneId"].removeprefix("/hostedzone/"),
            "RestApiDomain": str(urlsplit(self._deployed("rest_api")["rest_api_url"]).hostname),
            "RestApiStage": api_stage,
            "WebsocketApiDomain": str(urlsplit(self._deployed("websocket_api")["websocket_api_url"]).hostname),
            "WebsocketApiStage": api_stage,
        }
        if certificate_arn:
            parameters["CertificateArn"] = certificate_arn
        return self.front_stack(parameters)

    def front_stack(self, parameters: dict[str, str]) -> dict[str, str]:
        cloudformation = self.session.client("cloudformation", region_name=FRONT_REGION)
        return self._stack(cloudformation, f"{self.stack}-front", FRONT.read_text(), parameters, "front stack")

    def admin(self) -> bool:
        """The bootstrap admin, created unless it exists: the service's own bootstrap, run here
        with the stage's settings and the operator's credentials."""
        from chalicelib import bootstrap
        from chalicelib.aws import Clients
        from chalicelib.config import Settings
        from chalicelib.context import Context

        variables = json.loads((self.chalice_dir / "config.json").read_text())["stages"][self.stage]
        ctx = Context(settings=Settings.from_env(variables["environment_variables"]), aws=Clients())
        created = bool(bootstrap.run(ctx)["created"])
        self.say(f"bootstrap admin: {'created' if created else 'already there'}")
        return created

    def delegation(self, outputs: dict[str, str]) -> None:
        zone = self.session.client("route53").get_hosted_zone(Id=outputs["HostedZoneId"])
        servers = zone.get("DelegationSet", {}).get("NameServers", [])
        self.say(f"Delegate {outputs['ZoneDomain']} to these name servers (NS records at its parent):")
        for server in servers:
            self.say(f"  {server}")

    def summary(self, url: str, outputs: dict[str, str], front: dict[str, str] | None) -> None:
        own_url = f"{url.rstrip('/')}/api/v3/onezone"
        if front is None:
            self.say(f"\nOnezone provider registry ({self.stage}) is up, without its front: {own_url}")
            self.say(
                "  No CloudFront front: route https://<zone>/graph_sync/* to the WebSocket API "
                f"{self._deployed('websocket_api')['websocket_api_url']} and the rest to the REST API yourself."
            )
        else:
            self.say(f"\nOnezone provider registry ({self.stage}) is up: {front['ZoneUrl']}")
            self.say(f"  GraphSync channel: {front['ChannelUrl']}  (CloudFront {front['DistributionDomainName']})")
            self.say(f"  API Gateway's own URL: {own_url}")
        self.delegation(outputs)
        self.say(f"Alarms notify the SNS topic {outputs['AlarmTopicArn']} (subscribe with ALARM_EMAIL=...).")
        self.say(f"The admin's password: make admin-password STAGE={self.stage}")

    def deploy(self, parameters: dict[str, str], certificate_arn: str | None = None, with_front: bool = True) -> None:
        """Everything, in order; `with_front=False` leaves out the CloudFront front, for an
        operator who routes the zone's host to the two APIs with a proxy of their own (and for
        emulators without CloudFront: `make deploy-check`)."""
        outputs = self.infra(parameters)
        self.delegation(outputs)
        self.settings(outputs)
        self.functions()
        url = self.api(outputs)
        front = self.front(outputs, certificate_arn) if with_front else None
        self.admin()
        self.summary(url, outputs, front)

    def undeploy(self) -> None:
        self.chalice(["delete", "--stage", self.stage])
        self.say(
            f"Functions, REST and WebSocket APIs of {self.stage} removed. Kept: the infra stack {self.stack} - "
            "its DynamoDB tables, Route 53 zone and secrets (Retain), log groups and alarms - so a later "
            f"`make deploy` finds the data again, and the front stack {self.stack}-front (us-east-1), which "
            "the next `make deploy` points at the new APIs. To remove those too, delete the stacks; the "
            "tables, zone and secrets then stay (Retain) and must be deleted by hand."
        )

    def admin_password(self) -> str:
        described = self._described(self.session.client("cloudformation"), self.stack)
        if described is None:
            raise SystemExit(f"no infra stack {self.stack}: deploy first")
        [secret] = [o["OutputValue"] for o in described["Outputs"] if o["OutputKey"] == "AdminPasswordSecretName"]
        text = str(self.session.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
        try:
            return str(json.loads(text)["password"])
        except (ValueError, KeyError, TypeError):
            return text


def parameters_of(args: argparse.Namespace) -> dict[str, str]:
    chosen = {
        "Stage": args.stage,
        "ZoneDomain": args.zone_domain,
        "ExistingHostedZoneId": args.existing_hosted_zone_id,
        "AlarmEmail": args.alarm_email,
        "LogRetentionDays": args.log_retention_days,
        "ApiThrottleRate": args.throttle_rate,
        "ApiThrottleBurst": args.throttle_burst,
    }
    return {name: str(value) for name, value in chosen.items() if value is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser("deploy", help="create or update everything")
    undeploy = commands.add_parser("undeploy", help="remove the functions and the API")
    password = commands.add_parser("admin-password", help="print the bootstrap admin's password")
    for command in (deploy, undeploy, password):
        command.add_argument("--stage", required=True, choices=STAGES)
        command.add_argument("--region", help="default: boto3's (AWS_REGION, the profile's)")
    for command in (deploy, undeploy):
        command.add_argument(
            "--project-dir",
            type=Path,
            default=ROOT,
            help="the Chalice project to deploy, with its .chalice/ (default: this checkout)",
        )
    deploy.add_argument("--zone-domain", required=True, help="the Onezone domain, e.g. onezone.example.com")
    deploy.add_argument("--existing-hosted-zone-id", help="adopt this Route 53 zone instead of creating one")
    deploy.add_argument("--alarm-email", help="subscribe this address to the alarms")
    deploy.add_argument("--log-retention-days", type=int, help="default 90")
    deploy.add_argument("--throttle-rate", type=int, help="API requests per second (default 50)")
    deploy.add_argument("--throttle-burst", type=int, help="API burst (default 100)")
    deploy.add_argument(
        "--certificate-arn", help="an ACM certificate in us-east-1 for the zone domain (default: one is made)"
    )
    deploy.add_argument(
        "--no-front",
        dest="with_front",
        action="store_false",
        help="leave out the CloudFront front (route the zone's host to both APIs yourself)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region  # for `chalice deploy` too
    session = boto3.session.Session(region_name=args.region)
    if session.region_name is None:
        raise SystemExit("no AWS region: pass REGION=... or configure one (AWS_REGION, your profile)")
    os.environ.setdefault("AWS_DEFAULT_REGION", session.region_name)
    project = getattr(args, "project_dir", ROOT).resolve()
    deployment = Deployment(
        stage=args.stage,
        session=session,
        chalice_dir=project / ".chalice",
        chalice=functools.partial(run_chalice, project=project),
    )
    if args.command == "deploy":
        deployment.deploy(parameters_of(args), args.certificate_arn, args.with_front)
    elif args.command == "undeploy":
        deployment.undeploy()
    else:
        print(deployment.admin_password())
    return 0


if __name__ == "__main__":
    sys.exit(main())
