"""The pieces of `make deploy-check` (scripts/deploy_check.py) that can be checked without the
emulator: the endpoint split, the project copy, stopping a server's whole process group, and
`make deploy`/`make undeploy`'s PROJECT_DIR. The target itself runs in CI (.ci/run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import deploy, deploy_check
from tests.localrun import ROOT


def test_endpoint_variables_are_botocores_names() -> None:
    assert deploy_check.endpoint_variable("route53") == "AWS_ENDPOINT_URL_ROUTE_53"
    assert deploy_check.endpoint_variable("secretsmanager") == "AWS_ENDPOINT_URL_SECRETS_MANAGER"
    assert deploy_check.endpoint_variable("logs") == "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
    # The one line that moves WebSocket APIs to moto when the app gets them.
    assert deploy_check.endpoint_variable("apigatewayv2") == "AWS_ENDPOINT_URL_APIGATEWAYV2"


def test_the_data_stays_at_moto_and_what_chalice_deploy_creates_goes_to_the_emulator() -> None:
    assert {"cloudformation", "dynamodb", "route53", "secretsmanager"} <= set(deploy_check.AT_MOTO)
    assert not {"iam", "lambda", "apigateway", "events"} & set(deploy_check.AT_MOTO)


def test_the_project_copy_points_only_its_stage_at_moto(tmp_path: Path) -> None:
    committed = (ROOT / ".chalice" / "config.json").read_text()
    endpoints = {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1"}
    project = deploy_check.project_copy(tmp_path, endpoints)
    assert (project / "app.py").read_text() == (ROOT / "app.py").read_text()
    assert (project / "chalicelib" / "errors.py").exists()
    assert not list(project.rglob("__pycache__"))
    stages = json.loads((project / ".chalice" / "config.json").read_text())["stages"]
    assert stages["dev"]["environment_variables"]["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:1"
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in stages["prod"]["environment_variables"]
    assert (project / ".chalice" / "deployments").resolve() == (ROOT / ".chalice" / "deployments").resolve()
    assert (ROOT / ".chalice" / "config.json").read_text() == committed


def test_stopping_a_server_stops_its_whole_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy_check, "LOGS", tmp_path)
    # A server that starts a child of its own, which ignores SIGTERM.
    script = "import subprocess, sys, time; subprocess.Popen(['sh', '-c', 'trap \"\" TERM; sleep 60']); time.sleep(60)"
    server = deploy_check.Server.start("sleeper", [sys.executable, "-c", script], 0, {"PATH": "/usr/bin:/bin"})
    server.wait_until(lambda: len(deploy_check.group_members(server.process.pid)) >= 2, timeout=10)
    server.stop(grace=1)
    assert server.process.returncode is not None
    assert deploy_check.group_members(server.process.pid) == []


def test_deploy_and_undeploy_take_a_project_dir(tmp_path: Path) -> None:
    args = deploy.build_parser().parse_args(["undeploy", "--stage", "dev", "--project-dir", str(tmp_path)])
    assert args.project_dir == tmp_path
    assert deploy.build_parser().parse_args(["undeploy", "--stage", "dev"]).project_dir == ROOT
    shown = subprocess.run(
        ["make", "-n", "undeploy", "STAGE=dev", f"PROJECT_DIR={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"--project-dir {tmp_path}" in shown
