"""Onepanel's whole `register` step list and the deployment's `add_storages`, REST and channel
together, in process: what a stock Oneprovider's installation needs of its zone, in order.

`resolve_registration_token` -> `check_oz_availability` (`/nagios`) -> `register`
(`POST /providers`) -> `connect_and_set_up_in_onezone` (`PATCH /clusters/{id}`, the clock, then
op-worker connects: handshake and on-connect steps) -> `check_oz_connection` (op-worker's channel
is up: the zone says the provider is online) -> `set_cluster_ips` (over the channel) ->
`add_storages` (each storage created over the channel, listed by the provider afterwards).
The black-box run of the same against `make run` is `tests/test_opworker_blackbox.py`.
"""

from __future__ import annotations

import hashlib

from chalicelib.tokens import codec as token_codec
from tests.conftest import USER_PASSWORD, Api
from tests.graphsync_helpers import OpWorker, Wire, opw_token

RELEASE = "21.02.7"


def test_the_register_step_list_completes(api: Api, wire: Wire) -> None:
    api.create_user("alice")
    token = api.registration_token("alice")
    # resolve_registration_token: the zone's domain is in the token
    assert token_codec.parse(token).onezone_domain == "onezone.test"
    # check_oz_availability
    nagios = api.client.http.get("/nagios")
    assert nagios.status_code == 200
    assert b'status="ok"' in nagios.body
    # register (Onepanel's body: the IPs come later)
    body = {
        "token": token,
        "name": "Krakow",
        "adminEmail": "ops@example.com",
        "subdomainDelegation": True,
        "subdomain": "krk",
        "ipList": [],
        "latitude": 50.06,
        "longitude": 19.94,
    }
    registered = api.call("POST", "/providers", body).json_body
    provider_id, root_token = registered["providerId"], registered["providerRootToken"]
    auth = {"X-Auth-Token": opw_token(root_token).removeprefix("opw-")}
    # connect_and_set_up_in_onezone
    version = {"release": RELEASE, "build": "1", "gui": hashlib.sha256(b"panel").hexdigest()}
    assert api.call("PATCH", f"/clusters/{provider_id}", {"onepanelVersion": version}, headers=auth).status_code == 204
    assert api.call("GET", "/provider/public/get_current_time").status_code == 200
    worker = OpWorker(wire, root_token)
    worker.connect()
    assert worker.handshake()["success"] is True
    worker_version = {"release": RELEASE, "build": "2", "gui": hashlib.sha256(b"worker").hexdigest()}
    assert worker.ok(f"cluster.{provider_id}.instance:private", "update", {"workerVersion": worker_version}) is None
    record = worker.ok(f"provider.{provider_id}.instance:private", subscribe=True)["resource"]
    assert (record["subdomainDelegation"], record["subdomain"], record["online"]) == (True, "krk", True)
    # check_oz_connection: the channel is up, as the zone says
    assert api.call("GET", "/provider", headers=auth).json_body["online"] is True
    # set_cluster_ips (op-worker's update of its delegation), then it reads itself again
    ips = {"subdomainDelegation": True, "subdomain": "krk", "ipList": ["192.0.2.10", "192.0.2.11"]}
    assert worker.ok("provider.self.domain_config:private", "update", ips) is None
    assert (
        worker.ok(f"provider.{provider_id}.instance:private", subscribe=True)["resource"]["revision"]
        > (record["revision"])
    )
    assert api.call("GET", "/provider/domain_config", headers=auth).json_body["ipList"] == ips["ipList"]
    # add_storages
    storage = {"name": "posix", "readonly": False, "qosParameters": {}, "imported": False}
    created = worker.ok("storage.null.instance:private", "create", storage)["resource"]
    listed = worker.ok(f"provider.{provider_id}.instance:private")["resource"]["storages"]
    assert listed == [created["gri"].split(".")[1]]
    # the admin sees it all from the user's side too
    admin = api.call("GET", f"/clusters/{provider_id}", headers=api.basic("alice", USER_PASSWORD)).json_body
    assert (admin["workerVersion"], admin["onepanelVersion"]) == (worker_version, version)
