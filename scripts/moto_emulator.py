"""The deploy check's moto server: `scripts/moto_server.py`, plus the one API Gateway v2 call
`chalice deploy` makes that moto 5.2 lacks.

Chalice deploys the GraphSync channel's WebSocket API through API Gateway v2, which LocalStack's
community edition does not have; moto has its control plane (APIs, integrations, routes,
stages) but not `CreateDeployment`, so the deploy check adds it: a deployment with a fresh id,
recorded on the API. Nothing serves the WebSocket API's data plane (infra/README.md says what
proves it instead). `make run` and the tests use `scripts/moto_server.py` itself.

    python scripts/moto_emulator.py HOST PORT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from moto.apigatewayv2 import urls
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.apigatewayv2.responses import ApiGatewayV2Response
from moto.moto_api._internal import mock_random

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import moto_server


def create_deployment(self: ApiGatewayV2Response) -> tuple[int, dict[str, str], str]:
    api_id = self.path.split("/")[3]
    backend = apigatewayv2_backends[self.current_account][self.region]
    backend.get_api(api_id)  # NotFoundException for an unknown API, as AWS answers
    body = {"deploymentId": mock_random.get_random_hex(10), "deploymentStatus": "DEPLOYED"}
    return 201, {}, json.dumps(body)


ApiGatewayV2Response.create_deployment = create_deployment  # type: ignore[attr-defined]
urls.url_paths["{0}/v2/apis/(?P<api_id>[^/]+)/deployments$"] = ApiGatewayV2Response.dispatch

if __name__ == "__main__":
    moto_server.main()
