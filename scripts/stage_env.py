"""Point a Chalice stage at a deployed infra stack.

Reads the stack's outputs (from AWS with your credentials, or from the JSON that
`aws cloudformation describe-stacks --stack-name onezone-registry-prod` prints, given as a file
or `-` for stdin) and writes them into `.chalice/config.json` (the stage's
`environment_variables`, mapped by `infra.stack.OUTPUT_ENV`) and the hosted zone - its id and its
domain - into `.chalice/policy-<stage>.json` (`infra.policy.with_zone`), so the functions'
settings and their least-privilege policy name exactly the deployed resources. Idempotent.

    python scripts/stage_env.py prod                      # describe-stacks via boto3
    aws cloudformation describe-stacks --stack-name onezone-registry-prod \\
        | python scripts/stage_env.py prod --outputs -
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.policy import with_zone  # noqa: E402 - after the path tweak that makes it importable
from infra.stack import OUTPUT_ENV  # noqa: E402

CHALICE = ROOT / ".chalice"


def outputs_of(described: dict[str, Any]) -> dict[str, str]:
    stack = described["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def apply(stage: str, outputs: dict[str, str], chalice_dir: Path = CHALICE) -> None:
    missing = sorted(set(OUTPUT_ENV) - set(outputs))
    if missing:
        raise SystemExit(f"the stack has no outputs {missing}: is it the infra stack?")
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    variables = config["stages"][stage]["environment_variables"]
    variables.update({env: outputs[output] for output, env in OUTPUT_ENV.items()})
    config_path.write_text(json.dumps(config, indent=2) + "\n")

    policy_path = chalice_dir / config["stages"][stage]["iam_policy_file"]
    policy = with_zone(json.loads(policy_path.read_text()), outputs["HostedZoneId"], outputs["ZoneDomain"])
    policy_path.write_text(json.dumps(policy, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["dev", "prod"])
    parser.add_argument("--stack", help="stack name (default: onezone-registry-<stage>)")
    parser.add_argument("--outputs", help="describe-stacks JSON file, or - for stdin")
    args = parser.parse_args(argv)
    if args.outputs:
        text = sys.stdin.read() if args.outputs == "-" else Path(args.outputs).read_text()
        described = json.loads(text)
    else:
        import boto3

        stack = args.stack or f"onezone-registry-{args.stage}"
        described = boto3.client("cloudformation").describe_stacks(StackName=stack)
    apply(args.stage, outputs_of(described))
    print(f"stage {args.stage}: environment and IAM policy now name the stack's resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
