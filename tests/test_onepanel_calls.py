"""The calls a stock Onepanel makes around registration, through the HTTP surface: `/nagios`,
`/provider/public/*`, `PATCH /clusters/{id}` - and how they fail."""

from __future__ import annotations

import time
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from chalicelib import context
from chalicelib.store import clusters as cluster_store
from tests.conftest import USER_PASSWORD, Api, error_of

ONEPANEL_VERSION = {"release": "21.02.4", "build": "42-gabcdef", "gui": "a" * 64}


@pytest.fixture
def provider(api: Api) -> dict[str, Any]:
    api.create_user("alice")
    return api.register_provider(api.registration_token("alice"))


def as_provider(provider: dict[str, Any]) -> dict[str, str]:
    return {"X-Auth-Token": provider["providerRootToken"]}


def test_nagios_reports_ok_when_dynamodb_answers(api: Api) -> None:
    response = api.client.http.get("/nagios")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    assert response.body.startswith(b'<?xml version="1.0"?>')
    root = ElementTree.fromstring(response.body)
    assert (root.tag, root.get("status")) == ("healthdata", "ok")
    assert time.strptime(root.get("date") or "", "%Y/%m/%d %H:%M:%S")
    [worker] = root
    checks = {element.get("table"): element.get("status") for element in worker}
    assert set(checks) == {api.env[name] for name in api.env if name.endswith("_TABLE")}
    assert set(checks.values()) == {"ok"}


def test_nagios_reports_an_error_when_a_table_does_not_answer(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    dynamodb = context.current().aws.dynamodb
    real = dynamodb.get_item

    def failing(**request: Any) -> Any:
        if request["TableName"] == api.env["TOKENS_TABLE"]:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "GetItem")
        return real(**request)

    monkeypatch.setattr(dynamodb, "get_item", failing)
    response = api.client.http.get("/nagios")
    assert response.status_code == 200  # Onezone too answers 200, with the status inside
    root = ElementTree.fromstring(response.body)
    assert root.get("status") == "error"
    checks = {element.get("table"): element.get("status") for element in root[0]}
    assert checks.pop(api.env["TOKENS_TABLE"]) == "error"
    assert set(checks.values()) == {"ok"}


def test_nagios_is_get_only(api: Api) -> None:
    response = api.client.http.post("/nagios", body=b"")
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")


def test_current_time_is_public_and_in_milliseconds(api: Api) -> None:
    before = time.time() * 1000
    response = api.call("GET", "/provider/public/get_current_time", headers={"X-Auth-Token": "ignored"})
    assert response.status_code == 200
    assert set(response.json_body) == {"timeMillis"}
    assert before - 1 <= response.json_body["timeMillis"] <= time.time() * 1000 + 1


def test_check_my_ip_is_the_callers_address_as_a_json_string(api: Api) -> None:
    response = api.call("GET", "/provider/public/check_my_ip")
    assert response.status_code == 200
    assert response.body == b'"127.0.0.1"'  # chalice's local gateway; API Gateway gives the client's


def test_onepanel_reports_its_version(api: Api, provider: dict[str, Any]) -> None:
    path = f"/clusters/{provider['providerId']}"
    response = api.call("PATCH", path, {"onepanelVersion": ONEPANEL_VERSION}, headers=as_provider(provider))
    assert response.status_code == 204, response.body
    shown = api.call("GET", path, headers=as_provider(provider)).json_body
    assert shown["onepanelVersion"] == ONEPANEL_VERSION
    assert shown["workerVersion"] == {"release": "18.02.*", "build": "unknown", "gui": "empty"}
    # A cluster admin (the registering user) may report too; so may onepanelProxy change.
    worker = {"release": "21.02.4", "build": "7", "gui": "b" * 64}
    by_admin = api.call(
        "PATCH", path, {"workerVersion": worker, "onepanelProxy": False}, headers=api.basic("alice", USER_PASSWORD)
    )
    assert by_admin.status_code == 204
    stored = cluster_store.TABLE.get(context.current(), provider["providerId"])
    assert (stored.onepanelVersion, stored.workerVersion, stored.onepanelProxy) == (ONEPANEL_VERSION, worker, False)


@pytest.mark.parametrize(
    ("body", "error_id", "key"),
    [
        ({}, "missingAtLeastOneValue", None),
        ({"onepanelVersion": None}, "missingAtLeastOneValue", None),
        ({"onepanelVersion": "21.02.4"}, "badData", "onepanelVersion"),
        ({"onepanelVersion": {"release": "21.02.4", "build": "1"}}, "badValueEmpty", "onepanelVersion.gui"),
        ({"onepanelVersion": {**ONEPANEL_VERSION, "release": ""}}, "badValueEmpty", "onepanelVersion.release"),
        ({"workerVersion": {**ONEPANEL_VERSION, "build": 7}}, "badValueString", "workerVersion.build"),
        ({"onepanelProxy": "sometimes"}, "badValueBoolean", "onepanelProxy"),
    ],
)
def test_version_reports_are_validated(
    api: Api, provider: dict[str, Any], body: dict[str, Any], error_id: str, key: str | None
) -> None:
    before = cluster_store.TABLE.get(context.current(), provider["providerId"])
    response = api.call("PATCH", f"/clusters/{provider['providerId']}", body, headers=as_provider(provider))
    error = error_of(response)
    assert (response.status_code, error["id"]) == (400, error_id)
    if key is not None:
        assert error["details"]["key"] == key
    assert cluster_store.TABLE.get(context.current(), provider["providerId"]) == before


def test_only_the_provider_and_its_cluster_admins_report_versions(api: Api, provider: dict[str, Any]) -> None:
    api.create_user("bob")
    api.create_user("ops", ("oz_clusters_update",))
    other = api.register_provider(api.registration_token("bob"), domain="other.example.com")
    path = f"/clusters/{provider['providerId']}"
    body = {"onepanelVersion": ONEPANEL_VERSION}
    for headers in (as_provider(other), api.basic("bob", USER_PASSWORD)):
        denied = api.call("PATCH", path, body, headers=headers)
        assert (denied.status_code, error_of(denied)["id"]) == (403, "forbidden")
    assert api.call("PATCH", path, body, headers=api.basic("ops", USER_PASSWORD)).status_code == 204
    missing = api.call("PATCH", "/clusters/no-such-cluster", body, headers=api.basic("ops", USER_PASSWORD))
    assert (missing.status_code, error_of(missing)["id"]) == (404, "notFound")
    assert api.call("PATCH", path, body).status_code == 401
