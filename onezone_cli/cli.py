"""`onezone-rest-cli`: call the Onezone provider registry's REST API by operation name.

    onezone-rest-cli [--host HOST] [-u USER:PASSWORD | --token TOKEN]
                     OPERATION [key=value ...] [--data JSON | --data @FILE]

Modelled on Onedata's own `onezone-rest-cli`, so instructions written for Onezone carry over:
operation names are the OpenAPI operationIds, the host comes from `--host` or `ONEZONE_HOST`,
credentials from `-u`/`--token` or `ONEZONE_BASIC_AUTH`/`ONEZONE_API_KEY`. Standard library only:
it has to run on a Oneprovider host or a laptop where nothing of the service is installed.

Exit status: 0 success; 1 the service refused the request (HTTP 4xx, or a redirect); 2 the
service failed (HTTP 5xx) or could not be reached, or the command line was wrong (as argparse).
Scripts can therefore retry on 2 and give up on 1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import getpass
import http.client
import json
import os
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

from onezone_cli.operations import API_PREFIX, BY_ID, OPERATIONS, Operation

PROG = "onezone-rest-cli"
VERSION = "0.1.0"
EXIT_OK, EXIT_CLIENT_ERROR, EXIT_SERVER_ERROR = 0, 1, 2
EXIT_USAGE = 2  # argparse's own status for a bad command line
EXIT_INTERRUPTED = 130  # the shell's 128 + SIGINT
DEFAULT_TIMEOUT = 60.0

EPILOG = f"""\
key=value pairs fill the operation's path parameters (e.g. provider_id=...), its query
parameters (limit=, page_token=) and otherwise its JSON body. Values are parsed as JSON when they
can be (true, 50.06, '["192.0.2.1"]'), else sent as strings; quote a JSON string to force a
string (name='"123"'). --data JSON, --data @FILE or --data @- (stdin) gives the whole body;
key=value pairs are then merged into it.

environment:
  ONEZONE_HOST        default for --host (https:// is assumed without a scheme; the CLI
                      appends {API_PREFIX})
  ONEZONE_BASIC_AUTH  USER:PASSWORD, default for -u
  ONEZONE_API_KEY     an access token, default for --token (used if both are set)

exit status: 0 success, 1 request refused (HTTP 4xx), 2 server error (HTTP 5xx), no connection
or bad command line. Errors print the service's Onedata error JSON on stderr.

'{PROG} OPERATION --help' shows an operation's method, path and parameters."""


class UsageError(Exception):
    """A command line the CLI cannot turn into a request; reported like argparse's own errors."""


@dataclass(frozen=True)
class Request:
    """Everything needed to send one call, built before any network access so it can be tested."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def _positive_seconds(text: str) -> float:
    """`--timeout`: urllib takes 0 to mean non-blocking, which would fail every call at once."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return seconds


def _options_parent() -> argparse.ArgumentParser:
    """The global options, accepted both before and after OPERATION.

    `SUPPRESS` defaults keep an option given before OPERATION from being reset by the
    operation's sub-parser, which knows the same options.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--host", default=argparse.SUPPRESS, help="Onezone URL, e.g. https://zone.example.com (env ONEZONE_HOST)"
    )
    credentials = parent.add_mutually_exclusive_group()
    credentials.add_argument(
        "-u",
        "--user",
        metavar="USER:PASSWORD",
        default=argparse.SUPPRESS,
        help="basic authentication; without ':PASSWORD' it is asked for (env ONEZONE_BASIC_AUTH)",
    )
    credentials.add_argument(
        "--token", default=argparse.SUPPRESS, help="access token, sent as X-Auth-Token (env ONEZONE_API_KEY)"
    )
    parent.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help=f"give up after this long (default {DEFAULT_TIMEOUT:.0f})",
    )
    return parent


def _describe(op: Operation) -> str:
    """An operation's `--help` text: what it does, what it sends where, what it takes."""
    lines = [op.summary + (" Deprecated." if op.deprecated else ""), "", f"  {op.method} {API_PREFIX}{op.path}", ""]
    lines.append("authentication: " + ("none needed" if op.public else "-u USER:PASSWORD or --token TOKEN"))
    if op.path_params:
        lines.append("path parameters (required): " + ", ".join(f"{name}=..." for name in op.path_params))
    if op.query:
        lines.append("query parameters: " + ", ".join(f"{name}=..." for name in op.query))
    if op.has_body:
        fields = [name + ("*" if name in op.required else "") for name in op.body]
        lines.append(textwrap.fill("body fields (* required): " + ", ".join(fields), width=100, subsequent_indent="  "))
    else:
        lines.append("body: none")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options, then one sub-parser per operation of the table."""
    parent = _options_parent()
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [--host HOST] [-u USER:PASSWORD | --token TOKEN] OPERATION [key=value ...] [--data JSON|@FILE]",
        description="Call the Onezone provider registry's REST API; print the JSON response.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[parent],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    operations = parser.add_subparsers(dest="operation", metavar="OPERATION", title="operations", required=True)
    for op in OPERATIONS:
        sub = operations.add_parser(
            op.operation_id,
            help=op.summary + (" (deprecated)" if op.deprecated else ""),
            description=_describe(op),
            usage=f"{PROG} [options] {op.operation_id} [key=value ...]"
            + (" [--data JSON|@FILE]" if op.has_body else ""),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[parent],
            allow_abbrev=False,
        )
        sub.add_argument("params", nargs="*", metavar="key=value", help="a parameter or body field")
        if op.has_body:
            sub.add_argument("--data", metavar="JSON|@FILE", help="the request body; @- reads it from stdin")
    return parser


def parse_value(text: str) -> Any:
    """A `key=value` value: JSON if it is JSON, so numbers, booleans and lists arrive typed.

    `NaN`/`Infinity` are not JSON to the service, so they stay strings (e.g. `usageLimit=infinity`
    is a string either way).
    """

    def reject(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError:
        return text


def split_params(op: Operation, params: Sequence[str]) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """Sort `key=value` pairs into path parameters, query parameters and body fields.

    Unknown keys are errors rather than body fields: the service drops unknown keys without a
    word, so a misspelt field would otherwise be silently lost.
    """
    path: dict[str, str] = {}
    query: dict[str, str] = {}
    body: dict[str, Any] = {}
    seen: set[str] = set()
    for param in params:
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {param!r}")
        if key in seen:
            raise UsageError(f"{key} given twice")
        seen.add(key)
        if key in op.path_params:
            path[key] = value
        elif key in op.query:
            query[key] = value
        elif key in op.body:
            body[key] = parse_value(value)
        else:
            known = [*op.path_params, *op.query, *op.body]
            raise UsageError(
                f"{op.operation_id} has no parameter {key!r}; "
                + (f"it takes: {', '.join(known)}" if known else "it takes none")
            )
    missing = [name for name in op.path_params if name not in path]
    if missing:
        raise UsageError(f"{op.operation_id} needs {', '.join(f'{name}=...' for name in missing)}")
    return path, query, body


def read_data(data: str, stdin: TextIO) -> str:
    """`--data` as curl reads it: literal text, `@FILE`, or `@-` for stdin."""
    if not data.startswith("@"):
        return data
    if data == "@-":
        return stdin.read()
    try:
        with open(data[1:], encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise UsageError(f"cannot read {data[1:]}: {exc.strerror}") from exc


def build_body(op: Operation, fields: dict[str, Any], data: str | None, stdin: TextIO) -> bytes | None:
    """The request body: `--data` as given (so the service, not the CLI, judges it), key=value
    fields merged into it when both are used, `{}` when a body-taking operation gets neither
    (the service then names the missing fields)."""
    if not op.has_body:
        return None
    if data is None:
        return json.dumps(fields).encode()
    text = read_data(data, stdin)
    if not fields:
        return text.encode()
    try:
        base = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not JSON ({exc}); key=value fields cannot be merged into it") from exc
    if not isinstance(base, dict):
        raise UsageError("--data must be a JSON object to merge key=value fields into it")
    return json.dumps({**base, **fields}).encode()


def base_url(host: str, api: bool = True) -> str:
    """`https://zone.example.com` -> `https://zone.example.com/api/v3/onezone` (or, for an
    operation served at the root, `https://zone.example.com`).

    A bare host name gets `https://`, as Onezone is only served over TLS; the API prefix is not
    doubled if the host already ends with it.
    """
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "https://" + host
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--host must be an http(s) URL or a host name, not {host!r}")
    root = host.removesuffix(API_PREFIX)
    return root + API_PREFIX if api else root


def credentials(options: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    """Authentication headers: flags beat the environment; of the two variables the token wins,
    since tokens are cheap to verify and basic auth costs a deliberate scrypt run per call."""
    user = getattr(options, "user", None)
    token = getattr(options, "token", None)
    if user is None and token is None:
        token = env.get("ONEZONE_API_KEY") or None
        user = None if token else env.get("ONEZONE_BASIC_AUTH") or None
    if token is not None:
        return {"X-Auth-Token": token}
    if user is not None:
        name, sep, password = user.partition(":")
        if not sep:
            password = getpass.getpass(f"password for {name}: ")
        encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}
    return {}


def build_request(
    options: argparse.Namespace, extra: Sequence[str], env: Mapping[str, str], stdin: TextIO
) -> tuple[Operation, Request]:
    """Turn parsed arguments into the HTTP request, without sending anything."""
    op = BY_ID[options.operation]
    params = [*options.params, *extra]
    path_values, query, fields = split_params(op, params)
    host = getattr(options, "host", None) or env.get("ONEZONE_HOST")
    if not host:
        raise UsageError("no Onezone host: pass --host or set ONEZONE_HOST")
    body = build_body(op, fields, getattr(options, "data", None), stdin)
    path = op.path.format(**{name: quote(value, safe="") for name, value in path_values.items()})
    url = base_url(host, api=not op.root) + path + (f"?{urlencode(query)}" if query else "")
    headers = {"Accept": "application/json", "User-Agent": f"{PROG}/{VERSION}", **credentials(options, env)}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return op, Request(op.method, url, headers, body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects become errors: following one would resend the credentials to wherever the
    Location points (urllib forwards Authorization and X-Auth-Token), and would turn a POST into
    a GET. The user is told where to point --host instead."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def send(request: Request, timeout: float) -> tuple[int, Message, bytes]:
    """Send the request; return status, headers and body, whatever the status."""
    opener = urllib.request.build_opener(_NoRedirect)
    # The scheme is http(s), checked by base_url(): no file:// or custom scheme gets here.
    http_request = urllib.request.Request(  # noqa: S310
        request.url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with opener.open(http_request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def _connection_problem(error: BaseException, url: str) -> str:
    """A one-line reason for a failed connection, naming the usual fix."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    where = urlsplit(url)
    endpoint = f"{where.scheme}://{where.netloc}"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused by {endpoint}: is the service running there? (--host / ONEZONE_HOST)"
    if isinstance(reason, TimeoutError):
        return f"no answer from {endpoint} in time (--timeout)"
    return f"cannot talk to {endpoint}: {reason or type(reason).__name__}"


def _render(body: bytes) -> tuple[str, bool]:
    """JSON pretty-printed; anything else (a gateway's HTML page, say) as text. Also says
    which of the two it was."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
    except json.JSONDecodeError:
        return text.rstrip("\n"), False


def run(
    argv: Sequence[str] | None,
    env: Mapping[str, str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """The command, with its inputs and outputs passed in so tests need no monkeypatching."""
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            options, extra = parser.parse_known_args(argv)
    except SystemExit as exit_:  # --help and --version (0), argparse's own usage errors (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        unknown = [arg for arg in extra if arg.startswith("-") or "=" not in arg]
        if unknown:
            raise UsageError("unrecognized arguments: " + " ".join(unknown))
        op, request = build_request(options, extra, env, stdin)
    except UsageError as exc:
        stderr.write(f"{PROG}: error: {exc}\n(see '{PROG} {options.operation} --help')\n")
        return EXIT_USAGE

    try:
        status, headers, body = send(request, getattr(options, "timeout", DEFAULT_TIMEOUT))
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        stderr.write(f"{PROG}: {_connection_problem(exc, request.url)}\n")
        return EXIT_SERVER_ERROR

    if headers.get("Deprecation"):
        successor = headers.get("Link", "").partition(">")[0].lstrip("<")
        stderr.write(
            f"{PROG}: warning: {op.operation_id} is deprecated" + (f"; use {successor}" if successor else "") + "\n"
        )
    if 300 <= status < 400:
        stderr.write(f"{PROG}: HTTP {status}: redirected to {headers.get('Location')}; point --host there\n")
        return EXIT_CLIENT_ERROR
    if status >= 400:
        rendered, is_json = _render(body)
        if not is_json:  # a Onedata error speaks for itself; anything else needs the status
            stderr.write(f"{PROG}: HTTP {status}\n")
        if rendered:
            stderr.write(rendered + "\n")
        return EXIT_CLIENT_ERROR if status < 500 else EXIT_SERVER_ERROR
    if body.strip():
        stdout.write(_render(body)[0] + "\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point (`onezone-rest-cli`, `python -m onezone_cli`); Ctrl-C ends it
    quietly with the shell's status rather than a traceback."""
    try:
        return run(argv, os.environ, sys.stdin, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
