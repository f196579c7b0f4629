"""Where the CLI points: the local cloud (default) or a real AWS stack (``--stack NAME``).

Both resolve to the same things, an endpoint (None on AWS) and the stack outputs, so every command
runs through the same code against either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3


def state_file() -> Path:
    """Where `lockgate up` records the running local cloud (``LOCKGATE_STATE_DIR``, default ``.lockgate``)."""
    return Path(os.environ.get("LOCKGATE_STATE_DIR", ".lockgate")) / "state.json"


class CliError(Exception):
    """A user mistake or an unreachable target: printed as one sentence, exit code 1."""


@dataclass
class Target:
    endpoint: str | None
    region: str
    outputs: dict[str, str]
    stack: str
    functions: dict[str, str] = field(default_factory=dict)
    control_port: int | None = None
    local: bool = True

    def client(self, service: str, *, config: Any = None) -> Any:
        """A boto3 client for the target; ``config`` (a botocore ``Config``) e.g. for long invokes."""
        if self.local:
            return boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - local cloud credentials
                config=config,
            )
        return boto3.client(service, region_name=self.region, config=config)

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise CliError(
                f"the stack has no output {name}; redeploy with the current template.yaml"
            ) from None

    def function(self, logical_id: str) -> str:
        if logical_id in self.functions:
            return self.functions[logical_id]
        if not self.local:
            cfn = self.client("cloudformation")
            res = cfn.describe_stack_resource(StackName=self.stack, LogicalResourceId=logical_id)
            return str(res["StackResourceDetail"]["PhysicalResourceId"])
        raise CliError(f"function {logical_id} is not deployed; run `lockgate deploy`")


def resolve_target(stack: str | None, region: str | None = None) -> Target:
    if stack:
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        cfn = boto3.client("cloudformation", region_name=region)
        try:
            desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        except Exception as exc:
            raise CliError(f"cannot read stack {stack} in {region}: {exc}") from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}
        return Target(endpoint=None, region=region, outputs=outputs, stack=stack, local=False)
    path = state_file()
    if not path.exists():
        raise CliError(
            "no local cloud is running here; start one with `lockgate up` (or pass --stack NAME for AWS)"
        )
    state = json.loads(path.read_text())
    return Target(
        endpoint=state["endpoint"],
        region=state["region"],
        outputs=state.get("outputs", {}),
        stack=state.get("stack", "lockgate"),
        functions=state.get("functions", {}),
        control_port=state.get("control_port"),
    )
