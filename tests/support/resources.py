"""Create the template's storage resources in moto, from template.yaml itself (never retyped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml
from lockgate.adapters import aws
from lockgate.config import settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def create_tables(template: dict[str, Any] | None = None, *, region: str = "us-east-1") -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the template; returns logical id -> table name."""
    template = template or load_template()
    ddb = boto3.client("dynamodb", region_name=region)
    names: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = f"test-{logical_id}"
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **(
                {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                if "GlobalSecondaryIndexes" in props
                else {}
            ),
        )
        names[logical_id] = name
    return names


def create_platform(monkeypatch: Any, *, region: str = "us-east-1") -> dict[str, str]:
    """Inside ``mock_aws``: buckets, tables and bus as the template declares them, env vars set.

    Returns the names keyed by env var (DATA_BUCKET, ARTIFACT_BUCKET, REGISTRY_TABLE, ...).
    """
    template = load_template()
    tables = create_tables(template, region=region)
    s3 = boto3.client("s3", region_name=region)
    names = {
        "DATA_BUCKET": "test-data-bucket",
        "ARTIFACT_BUCKET": "test-artifact-bucket",
        "REGISTRY_TABLE": tables["RegistryTable"],
        "IDEMPOTENCY_TABLE": tables["IdempotencyTable"],
        "EVENT_BUS_NAME": "test-lockgate-bus",
    }
    for bucket in (names["DATA_BUCKET"], names["ARTIFACT_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    boto3.client("events", region_name=region).create_event_bus(Name=names["EVENT_BUS_NAME"])
    for key, value in names.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LockgateTest")
    settings.cache_clear()
    aws.reset_clients()
    return names


def capture_events(bus_name: str, *, region: str = "us-east-1") -> str:
    """Route every lockgate event on the bus to an SQS queue; returns the queue URL to read them."""
    sqs = boto3.client("sqs", region_name=region)
    events = boto3.client("events", region_name=region)
    url = sqs.create_queue(QueueName=f"capture-{bus_name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture-all", EventBusName=bus_name, EventPattern='{"source": ["lockgate"]}')
    events.put_targets(Rule="capture-all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain_events(queue_url: str, *, region: str = "us-east-1") -> list[dict[str, Any]]:
    """Read every captured event (detail-type and detail) from the queue."""
    sqs = boto3.client("sqs", region_name=region)
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
