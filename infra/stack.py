"""Deploy `infra/template.yaml` into a moto backend (the local run, the black-box and unit tests).

moto's CloudFormation creates the DynamoDB tables, the hosted zone, the log groups and the alarm
topic itself. What it does not implement and the functions need is created here *from the
template's own properties*, never from a second schema: the Secrets Manager secrets (with
`GenerateSecretString`). (moto also skips the CloudWatch alarms, which nothing local reads.) The
result maps each template output to the environment variable the functions read.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Collection
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE = Path(__file__).with_name("template.yaml")

# Stack output -> environment variable of the Chalice functions.
OUTPUT_ENV = {
    "UsersTableName": "USERS_TABLE",
    "TokensTableName": "TOKENS_TABLE",
    "ProvidersTableName": "PROVIDERS_TABLE",
    "ClustersTableName": "CLUSTERS_TABLE",
    "MembershipsTableName": "MEMBERSHIPS_TABLE",
    "IdentifiersTableName": "IDENTIFIERS_TABLE",
    "ConnectionsTableName": "CONNECTIONS_TABLE",
    "StoragesTableName": "STORAGES_TABLE",
    "ProvidersStreamArn": "PROVIDERS_STREAM_ARN",
    "ClustersStreamArn": "CLUSTERS_STREAM_ARN",
    "StoragesStreamArn": "STORAGES_STREAM_ARN",
    "HostedZoneId": "HOSTED_ZONE_ID",
    "ZoneDomain": "ZONE_DOMAIN",
    "TokenKeySecretName": "TOKEN_KEY_SECRET_ID",
    "AdminPasswordSecretName": "ADMIN_PASSWORD_SECRET_ID",
}


def load_template() -> dict[str, Any]:
    """The template as data (it uses only long-form intrinsics, so plain YAML reads it)."""
    return yaml.safe_load(TEMPLATE.read_text())


def _generate(spec: dict[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-./;<=>?@[]^_`{|}~"
    alphabet = "".join(ch for ch in alphabet if ch not in spec.get("ExcludeCharacters", ""))
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "GenerateStringKey" in spec:
        template = yaml.safe_load(spec.get("SecretStringTemplate", "{}")) or {}
        return json.dumps({**template, spec["GenerateStringKey"]: value})
    return value


def _resolve(value: Any, stack: str) -> Any:
    """The one intrinsic the template's secret properties use: `Fn::Sub` of the stack name."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${AWS::StackName}", stack)
    return value


def _create_secret(session: boto3.session.Session, stack: str, logical_id: str, props: dict[str, Any]) -> str:
    client = session.client("secretsmanager")
    kwargs: dict[str, Any] = {"Name": _resolve(props.get("Name", f"{stack}-{logical_id}"), stack)}
    if "Description" in props:
        kwargs["Description"] = props["Description"]
    if "SecretString" in props:
        kwargs["SecretString"] = props["SecretString"]
    else:
        kwargs["SecretString"] = _generate(props.get("GenerateSecretString", {}))
    return client.create_secret(**kwargs)["ARN"]


def create_secrets(session: boto3.session.Session, stack: str, existing: Collection[str] = ()) -> dict[str, str]:
    """The template's secrets that moto's CloudFormation skips, created as AWS would create them
    for `stack` (logical id -> ARN); `existing` ones are left alone."""
    created = {}
    for logical_id, resource in load_template()["Resources"].items():
        if resource["Type"] == "AWS::SecretsManager::Secret" and logical_id not in existing:
            created[logical_id] = _create_secret(session, stack, logical_id, resource.get("Properties", {}))
    return created


def deploy(
    session: boto3.session.Session, stack: str = "onezone-registry-local", parameters: dict[str, str] | None = None
) -> dict[str, str]:
    """Create the stack; return the functions' environment (variable name -> value)."""
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    )
    physical = {
        r["LogicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
        if r.get("PhysicalResourceId")  # moto lists the resources it skipped with empty ids
    }
    create_secrets(session, stack, physical)
    return environment(session, stack)


def environment(session: boto3.session.Session, stack: str = "onezone-registry-local") -> dict[str, str]:
    """The functions' environment (variable name -> value) from a deployed stack's outputs."""
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = set(OUTPUT_ENV) - set(outputs)
    if missing:
        raise RuntimeError(f"stack {stack} did not produce outputs {sorted(missing)}")
    return {env: outputs[output] for output, env in OUTPUT_ENV.items()}
