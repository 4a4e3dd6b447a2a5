"""Give a REST API deployed by `chalice deploy` the Onedata-shaped API Gateway responses.

`chalice deploy` does not read merge templates, so the gateway responses of
`infra/chalice-merge.yaml` (unknown path -> 404 notFound, ...) are applied here, from that same
file, and the API's stage is redeployed for them to take effect. Run it after every
`chalice deploy` (it is idempotent). The single-stack deployment does not need it.

    python scripts/gateway_responses.py prod                 # API id from .chalice/deployed/prod.json
    python scripts/gateway_responses.py prod --rest-api-id abc123
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHALICE = ROOT / ".chalice"
MERGE_TEMPLATE = ROOT / "infra" / "chalice-merge.yaml"


def gateway_responses() -> list[dict[str, Any]]:
    """The `PutGatewayResponse` requests the merge template's resources stand for."""
    resources = yaml.safe_load(MERGE_TEMPLATE.read_text())["Resources"]
    requests = []
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGateway::GatewayResponse":
            continue
        props = resource["Properties"]
        request = {
            "responseType": props["ResponseType"],
            "responseParameters": props.get("ResponseParameters", {}),
            "responseTemplates": props.get("ResponseTemplates", {}),
        }
        if "StatusCode" in props:
            request["statusCode"] = str(props["StatusCode"])
        requests.append(request)
    return requests


def deployed_rest_api(stage: str, chalice_dir: Path = CHALICE) -> str:
    """The REST API id `chalice deploy` recorded for the stage."""
    deployed = json.loads((chalice_dir / "deployed" / f"{stage}.json").read_text())
    for resource in deployed["resources"]:
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    raise SystemExit(f"no REST API in .chalice/deployed/{stage}.json: run `chalice deploy --stage {stage}` first")


def api_stage(stage: str, chalice_dir: Path = CHALICE) -> str:
    config = json.loads((chalice_dir / "config.json").read_text())
    return str(config["stages"][stage].get("api_gateway_stage", config.get("api_gateway_stage", "api")))


def apply(client: Any, rest_api_id: str, stage_name: str) -> list[str]:
    applied = []
    for request in gateway_responses():
        client.put_gateway_response(restApiId=rest_api_id, **request)
        applied.append(request["responseType"])
    client.create_deployment(restApiId=rest_api_id, stageName=stage_name, description="Onedata gateway responses")
    return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["dev", "prod"])
    parser.add_argument("--rest-api-id", help="default: the one `chalice deploy` recorded for the stage")
    args = parser.parse_args(argv)
    import boto3

    rest_api_id = args.rest_api_id or deployed_rest_api(args.stage)
    applied = apply(boto3.client("apigateway"), rest_api_id, api_stage(args.stage))
    print(f"REST API {rest_api_id}: {', '.join(applied)} set and stage {api_stage(args.stage)!r} redeployed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
