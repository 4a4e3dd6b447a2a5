"""`onezone-rest-cli`: its operation table against the app, and what it sends and prints.

Requests go to a small real HTTP server on 127.0.0.1 that records what arrives and answers with
canned responses, so these tests see the bytes on the wire (URL, headers, body) and the exit
status for each kind of answer, without the service's stack. The black-box scenario against the
real service is in `tests/test_cli_blackbox.py`.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from onezone_cli import cli
from onezone_cli.operations import API_PREFIX, OPERATIONS, Operation

ROOT = Path(__file__).resolve().parent.parent


# ---- a recording HTTP server --------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class FakeZone:
    """What the CLI sent, and what the next requests get back."""

    url: str
    received: list[Received] = field(default_factory=list)
    reply: Reply = field(default_factory=Reply)

    def answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        content_type = {"Content-Type": "application/json"} if raw and not isinstance(body, bytes) else {}
        self.reply = Reply(status, raw, {**content_type, **(headers or {})}, delay)

    @property
    def last(self) -> Received:
        assert len(self.received) == 1, self.received
        return self.received[0]


@pytest.fixture
def zone() -> Iterator[FakeZone]:
    fake = FakeZone(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            reply = fake.reply
            time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; requests to the fake zone must not leave the machine."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def call(*argv: str, env: dict[str, str] | None = None, stdin: str = "") -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), env or {}, io.StringIO(stdin), out, err)
    return Outcome(code, out.getvalue(), err.getvalue())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the table is the app's ---------------------------------------------------------------


def _from_document() -> dict[str, Operation]:
    """The CLI's table as it should be, read off the app's own OpenAPI document."""
    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib import openapi
    from chalicelib.api.routing import OPERATIONS as ROUTES
    from chalicelib.api.zone import VERSION

    document = openapi.document(ROUTES, VERSION)
    schemas = document["components"]["schemas"]
    expected: dict[str, Operation] = {}
    for path, item in document["paths"].items():
        for method, spec in item.items():
            body: tuple[str, ...] = ()
            required: tuple[str, ...] = ()
            if "requestBody" in spec:
                ref = spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = schemas[ref.rsplit("/", 1)[1]]
                body = tuple(schema["properties"])
                required = tuple(schema.get("required", ()))
            assert tuple(p["name"] for p in spec.get("parameters", [])) == Operation("", "", path, "").path_params
            expected[spec["operationId"]] = Operation(
                operation_id=spec["operationId"],
                method=method.upper(),
                path=path.removeprefix(API_PREFIX),
                root=not path.startswith(API_PREFIX),
                summary=spec["summary"],
                body=body,
                required=required,
                public=spec["security"] == [],
                deprecated=spec.get("deprecated", False),
            )
    return expected


def test_operation_table_equals_the_apps_openapi_document() -> None:
    """The static table cannot drift from app.py: every operation, its method, path, summary,
    body fields, required fields, public-ness and deprecation must match the generated document.
    (Query parameters are not in the document; the black-box scenario uses them for real.)"""
    expected = _from_document()
    actual = {op.operation_id: dataclasses.replace(op, query=()) for op in OPERATIONS}
    assert len(actual) == len(OPERATIONS), "operationIds must be unique"
    fix = "\n".join(f"    {op!r}," for op in expected.values())
    assert actual == expected, f"update onezone_cli/operations.py; the app now has:\n{fix}"


def test_the_cli_needs_only_the_standard_library() -> None:
    """With site-packages switched off (`-S`) the CLI still imports and answers `--help`: it is
    meant for machines where chalice, boto3 and pydantic are not installed."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from onezone_cli import cli; "
        "code = cli.main(['--help']); "
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'chalice', 'boto3', 'botocore', 'pydantic'}); "
        "print('third-party:', loaded); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(ROOT)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "registerProvider" in result.stdout
    assert "third-party: []" in result.stdout


def test_the_project_installs_the_console_script_and_only_the_cli() -> None:
    """pyproject wires `onezone-rest-cli` to `main` and packages nothing but `onezone_cli`, so
    installing the project never puts app.py, chalicelib or tests on anybody's path."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"onezone-rest-cli": "onezone_cli.cli:main"}
    assert project["tool"]["setuptools"]["packages"] == ["onezone_cli"]
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"


def test_python_dash_m_runs_the_cli(zone: FakeZone) -> None:
    zone.answer(200, {"domain": "onezone.test"})
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    result = subprocess.run(
        [sys.executable, "-m", "onezone_cli", "getConfiguration"],
        cwd=ROOT,
        env={**env, "ONEZONE_HOST": zone.url},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, {"domain": "onezone.test"}), result.stderr
    assert zone.last.path == f"{API_PREFIX}/configuration"


# ---- help ---------------------------------------------------------------------------------


def test_help_lists_every_operation_with_its_summary() -> None:
    outcome = call("--help")
    assert outcome.code == 0
    text = " ".join(outcome.stdout.split())
    for op in OPERATIONS:
        assert f"{op.operation_id} {op.summary}" in text
    assert "createProviderRegistrationTokenForCurrentUser Create a provider registration token" in text
    assert "(deprecated)" in text
    for variable in ("ONEZONE_HOST", "ONEZONE_BASIC_AUTH", "ONEZONE_API_KEY"):
        assert variable in outcome.stdout


def test_operation_help_shows_method_path_and_parameters() -> None:
    register = call("registerProvider", "--help")
    assert register.code == 0
    assert f"POST {API_PREFIX}/providers" in register.stdout
    assert "authentication: none needed" in register.stdout
    assert "token*" in register.stdout
    assert "opWorkerIpAddresses," in register.stdout

    listing = call("listProviders", "--help")
    assert f"GET {API_PREFIX}/providers" in listing.stdout
    assert "query parameters: limit=..., page_token=..." in listing.stdout
    assert "body: none" in listing.stdout

    provider = call("getProvider", "--help")
    assert "path parameters (required): provider_id=..." in provider.stdout
    assert "-u USER:PASSWORD or --token TOKEN" in provider.stdout


# ---- what is sent -------------------------------------------------------------------------


def test_key_values_build_a_typed_json_body(zone: FakeZone) -> None:
    zone.answer(200, {"providerId": "p1"})
    outcome = call(
        "--host",
        zone.url,
        "registerProvider",
        "token=MDAx",
        "name=My provider",
        "subdomainDelegation=true",
        "subdomain=krakow",
        'opWorkerIpAddresses=["192.0.2.1"]',
        "latitude=50.06",
        "adminEmail=ops@example.com",
        "opWorkerPort=8443",
    )
    assert outcome.code == 0, outcome.stderr
    sent = zone.last
    assert (sent.method, sent.path) == ("POST", f"{API_PREFIX}/providers")
    assert sent.headers["Content-Type"] == "application/json"
    assert "Authorization" not in sent.headers
    assert "X-Auth-Token" not in sent.headers
    assert json.loads(sent.body) == {
        "token": "MDAx",
        "name": "My provider",
        "subdomainDelegation": True,
        "subdomain": "krakow",
        "opWorkerIpAddresses": ["192.0.2.1"],
        "latitude": 50.06,
        "adminEmail": "ops@example.com",
        "opWorkerPort": 8443,
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("50.06", 50.06),
        ("-19", -19),
        ('["a", "b"]', ["a", "b"]),
        ('{"accessToken": {}}', {"accessToken": {}}),
        ('"123"', "123"),
        ("My provider", "My provider"),
        ("", ""),
        ("NaN", "NaN"),
        ("infinity", "infinity"),
        ("Infinity", "Infinity"),
    ],
)
def test_values_are_json_when_they_parse(text: str, value: Any) -> None:
    parsed = cli.parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_path_and_query_parameters_are_encoded(zone: FakeZone) -> None:
    zone.answer(200, {"providers": []})
    assert call("--host", zone.url, "listProviders", "limit=2", "page_token=a b&c").code == 0
    assert call("--host", zone.url, "getProvider", "provider_id=a/b c").code == 0
    listing, provider = zone.received
    assert (listing.method, listing.path, listing.body) == (
        "GET",
        f"{API_PREFIX}/providers?limit=2&page_token=a+b%26c",
        b"",
    )
    assert "Content-Type" not in listing.headers
    assert provider.path == f"{API_PREFIX}/providers/a%2Fb%20c"


def test_credentials_from_flags_and_environment(zone: FakeZone, monkeypatch: pytest.MonkeyPatch) -> None:
    zone.answer(200, {"userId": "u"})
    basic = "Basic " + base64.b64encode(b"alice:s3cret:x").decode()
    both = {"ONEZONE_HOST": zone.url, "ONEZONE_API_KEY": "env-token", "ONEZONE_BASIC_AUTH": "bob:env-pass"}

    call("-u", "alice:s3cret:x", "getCurrentUser", env={"ONEZONE_HOST": zone.url})  # passwords may hold ':'
    call("getCurrentUser", "--token", "flag-token", env=both)  # flags beat the environment
    call("getCurrentUser", "-u", "alice:s3cret:x", env=both)
    call("getCurrentUser", env=both)  # of the two variables, the token
    call("getCurrentUser", env={**both, "ONEZONE_API_KEY": ""})
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: "typed")
    call("getCurrentUser", "-u", "carol", env={"ONEZONE_HOST": zone.url})  # asked for, as curl does

    sent = [(r.headers.get("Authorization"), r.headers.get("X-Auth-Token")) for r in zone.received]
    assert sent == [
        (basic, None),
        (None, "flag-token"),
        (basic, None),
        (None, "env-token"),
        ("Basic " + base64.b64encode(b"bob:env-pass").decode(), None),
        ("Basic " + base64.b64encode(b"carol:typed").decode(), None),
    ]


def test_token_and_basic_flags_exclude_each_other(zone: FakeZone) -> None:
    outcome = call("--host", zone.url, "-u", "a:b", "--token", "t", "getCurrentUser")
    assert outcome.code == 2
    assert "not allowed with" in outcome.stderr
    assert zone.received == []


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("{zone}", "{zone}/api/v3/onezone/configuration"),
        ("{zone}/", "{zone}/api/v3/onezone/configuration"),
        ("{zone}/api/v3/onezone", "{zone}/api/v3/onezone/configuration"),
    ],
)
def test_host_gets_the_api_prefix_once(zone: FakeZone, host: str, url: str) -> None:
    zone.answer(200, {})
    assert call("getConfiguration", env={"ONEZONE_HOST": host.format(zone=zone.url)}).code == 0
    assert zone.url + zone.last.path == url.format(zone=zone.url)


def test_host_flag_beats_the_environment_and_bare_names_mean_https(zone: FakeZone) -> None:
    zone.answer(200, {})
    assert call("--host", zone.url, "getConfiguration", env={"ONEZONE_HOST": "http://127.0.0.1:9"}).code == 0
    assert len(zone.received) == 1
    assert cli.base_url("zone.example.com") == "https://zone.example.com/api/v3/onezone"
    refused = call("--host", "ftp://zone.example.com", "getConfiguration")
    assert refused.code == 2
    assert "http(s) URL" in refused.stderr


def test_data_is_sent_as_given_from_text_file_or_stdin(zone: FakeZone, tmp_path: Path) -> None:
    zone.answer(204)
    lenient = '{"name": "x",}'  # the service, not the CLI, judges the body
    path = tmp_path / "body.json"
    path.write_text('{"revoked": true}')
    assert call("--host", zone.url, "updateCurrentProvider", "--data", lenient).code == 0
    assert call("--host", zone.url, "updateNamedToken", "token_id=t1", "--data", f"@{path}").code == 0
    assert call("--host", zone.url, "examineToken", "--data", "@-", stdin='{"token": "MDAx"}').code == 0
    assert [(r.method, r.path, r.body) for r in zone.received] == [
        ("PATCH", f"{API_PREFIX}/provider", lenient.encode()),
        ("PATCH", f"{API_PREFIX}/tokens/named/t1", b'{"revoked": true}'),
        ("POST", f"{API_PREFIX}/tokens/examine", b'{"token": "MDAx"}'),
    ]


def test_key_values_are_merged_into_data_and_win(zone: FakeZone) -> None:
    zone.answer(204)
    outcome = call(
        "--host",
        zone.url,
        "updateCurrentProvider",
        "name=New",
        "--data",
        '{"name": "Old", "latitude": 1}',
        "longitude=2",
    )
    assert outcome.code == 0, outcome.stderr
    assert json.loads(zone.last.body) == {"name": "New", "latitude": 1, "longitude": 2}


def test_a_body_operation_without_fields_sends_an_empty_object(zone: FakeZone) -> None:
    zone.answer(400, {"error": {"id": "missingAtLeastOneValue", "description": "..."}})
    assert call("--host", zone.url, "updateCurrentProvider").code == 1
    assert zone.last.body == b"{}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["getProvider", "id=p1"], "getProvider has no parameter 'id'; it takes: provider_id"),
        (["getProvider"], "getProvider needs provider_id=..."),
        (["registerProvider", "subdomainDelgation=true"], "has no parameter 'subdomainDelgation'"),
        (["getCurrentUser", "name=x"], "getCurrentUser has no parameter 'name'; it takes none"),
        (["registerProvider", "name=a", "name=b"], "name given twice"),
        (["registerProvider", "justaword"], "expected key=value, got 'justaword'"),
        (["registerProvider", "name=a", "--nam=b"], "unrecognized arguments: --nam=b"),
        (["registerProvider", "=x"], "expected key=value"),
        (["getCurrentUser", "--data", "{}"], "unrecognized arguments: --data"),
        (["createUser", "fullName=A", "--data", "[1]"], "must be a JSON object"),
        (["createUser", "fullName=A", "--data", "{nope"], "--data is not JSON"),
        (["createUser", "--data", "@/nonexistent/body.json"], "cannot read /nonexistent/body.json"),
        (["nosuchOperation"], "invalid choice: 'nosuchOperation'"),
        (["--timeout", "0", "getConfiguration"], "expected a number of seconds above 0, not '0'"),
    ],
)
def test_bad_command_lines_exit_2_and_send_nothing(zone: FakeZone, argv: list[str], message: str) -> None:
    outcome = call("--host", zone.url, *argv)
    assert outcome.code == 2
    assert message in outcome.stderr
    assert outcome.stdout == ""
    assert zone.received == []


def test_no_host_is_a_usage_error() -> None:
    outcome = call("getConfiguration")
    assert outcome.code == 2
    assert "pass --host or set ONEZONE_HOST" in outcome.stderr


# ---- what is printed, and the exit status -------------------------------------------------


def test_json_answers_are_pretty_printed_on_stdout(zone: FakeZone) -> None:
    zone.answer(201, {"tokenId": "t1", "token": "MDAx", "name": "Zoë"})
    outcome = call(
        "--host", zone.url, "--token", "t", "createNamedTokenForCurrentUser", "name=n", 'type={"accessToken": {}}'
    )
    assert (outcome.code, outcome.stderr) == (0, "")
    assert outcome.stdout == '{\n  "tokenId": "t1",\n  "token": "MDAx",\n  "name": "Zoë"\n}\n'
    assert json.loads(zone.last.body) == {"name": "n", "type": {"accessToken": {}}}


def test_empty_answers_print_nothing(zone: FakeZone) -> None:
    zone.answer(204)
    outcome = call("--host", zone.url, "--token", "root", "unregisterProvider")
    assert (outcome.code, outcome.stdout, outcome.stderr) == (0, "", "")
    assert (zone.last.method, zone.last.path, zone.last.body) == ("DELETE", f"{API_PREFIX}/provider", b"")


@pytest.mark.parametrize(("status", "code"), [(400, 1), (401, 1), (403, 1), (404, 1), (500, 2), (503, 2)])
def test_onedata_errors_go_to_stderr_with_the_exit_status(zone: FakeZone, status: int, code: int) -> None:
    error = {"error": {"id": "someError", "description": "Something.", "details": {"key": "name"}}}
    zone.answer(status, error)
    outcome = call("--host", zone.url, "--token", "t", "getCurrentProvider")
    assert outcome.code == code
    assert outcome.stdout == ""
    assert json.loads(outcome.stderr) == error


def test_a_non_json_error_is_shown_with_its_status(zone: FakeZone) -> None:
    zone.answer(502, b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
    outcome = call("--host", zone.url, "getConfiguration")
    assert outcome.code == 2
    assert outcome.stderr == "onezone-rest-cli: HTTP 502\n<html>Bad Gateway</html>\n"


def test_redirects_are_not_followed(zone: FakeZone) -> None:
    """Following would resend the credentials to the Location's host."""
    zone.answer(302, headers={"Location": "http://elsewhere.example/api"})
    outcome = call("--host", zone.url, "--token", "secret", "getCurrentUser")
    assert outcome.code == 1
    assert "redirected to http://elsewhere.example/api" in outcome.stderr
    assert len(zone.received) == 1


def test_a_deprecation_header_becomes_a_warning(zone: FakeZone) -> None:
    zone.answer(
        200,
        {"token": "MDAx"},
        headers={"Deprecation": "@1577836800", "Link": f'<{API_PREFIX}/user/tokens/named>; rel="successor-version"'},
    )
    outcome = call("--host", zone.url, "-u", "a:b", "createProviderRegistrationTokenForCurrentUser")
    assert outcome.code == 0
    assert json.loads(outcome.stdout) == {"token": "MDAx"}
    assert outcome.stderr == (
        "onezone-rest-cli: warning: createProviderRegistrationTokenForCurrentUser is deprecated; "
        f"use {API_PREFIX}/user/tokens/named\n"
    )


def test_connection_refused_is_exit_2_with_a_clear_message() -> None:
    port = free_port()  # bound and released: nothing listens there
    outcome = call("--host", f"http://127.0.0.1:{port}", "getConfiguration")
    assert outcome.code == 2
    assert outcome.stderr == (
        f"onezone-rest-cli: connection refused by http://127.0.0.1:{port}: "
        "is the service running there? (--host / ONEZONE_HOST)\n"
    )


def test_a_slow_service_times_out_with_exit_2(zone: FakeZone) -> None:
    zone.answer(200, {}, delay=2.0)
    started = time.monotonic()
    outcome = call("--host", zone.url, "--timeout", "0.3", "getConfiguration")
    assert time.monotonic() - started < 1.5
    assert outcome.code == 2
    assert "no answer from" in outcome.stderr
