"""The Chalice app as a WSGI application, through Chalice's own local API Gateway emulation.

Lets tools that speak WSGI (schemathesis) drive the app in process, with the same routing,
headers and body handling as `chalice.test.Client` and `chalice local`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from chalice import Chalice
from chalice.test import Client


class ChaliceWsgi:
    def __init__(self, app: Chalice, stage: str = "local") -> None:
        self.http = Client(app, stage_name=stage).http

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # PATH_INFO arrives decoded; re-encode what would otherwise read as a query or fragment.
        path = quote(environ.get("PATH_INFO", "/"), safe="/:@!$&'()*+,;=-._~")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        response = self.http.request(environ["REQUEST_METHOD"], path, headers=headers, body=body)
        reason = HTTPStatus(response.status_code).phrase
        start_response(f"{response.status_code} {reason}", list(response.headers.items()))
        return [response.body or b""]
