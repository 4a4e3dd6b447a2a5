"""API Gateway REST proxy events, the exact shape API Gateway sends a Lambda proxy integration:
method, path, headers (single and multi-value), path parameters, and `requestContext` with the
matched resource, the gateway's `requestId` and `identity.sourceIp`. Used to drive the handler as
Lambda does (the artifact test, and the bench's cold requests)."""

from __future__ import annotations

import json
import os
from typing import Any

SOURCE_IP = "192.0.2.77"


def rest_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, resource: str | None = None
) -> dict[str, Any]:
    """An event for the `api` stage (`resource`: the route matched, if it has path parameters)."""
    resource = resource or path
    headers = {
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "lambda-proxy-event",
        **(headers or {}),
    }
    params = {
        name.strip("{}"): part
        for name, part in zip(resource.split("/"), path.split("/"), strict=True)
        if name.startswith("{")
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": f"gateway-{os.urandom(4).hex()}",
            "identity": {"sourceIp": SOURCE_IP, "userAgent": "lambda-proxy-event"},
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
