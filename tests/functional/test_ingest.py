"""Ingest on moto: uploads become content-addressed dataset records and exactly one training run."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.config import settings
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events

SPEC = b"model: churn\ntask: classification\ntarget: churned\n"
CSV = b"age,plan,churned\n30,basic,no\n41,pro,yes\n"


@pytest.fixture
def ingest_platform(moto_platform: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The moto platform with a training state machine to start, events captured and the ingest handler."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="training",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", arn)
    settings.cache_clear()
    return {
        **moto_platform,
        "STATE_MACHINE_ARN": arn,
        "queue": capture_events(moto_platform["EVENT_BUS_NAME"]),
        "app": load_function("ingest"),
    }


def upload(names: dict[str, Any], key: str, body: bytes, *, spec: bytes | None = SPEC) -> dict[str, Any]:
    """Put the object like a user would and build the S3 notification AWS would send for it."""
    s3 = boto3.client("s3")
    if spec is not None:
        s3.put_object(Bucket=names["DATA_BUCKET"], Key="specs/churn.yaml", Body=spec)
    put = s3.put_object(Bucket=names["DATA_BUCKET"], Key=key, Body=body)
    event = copy.deepcopy(load_event("ingest", "put"))
    obj = event["Records"][0]["s3"]["object"]
    event["Records"][0]["s3"]["bucket"]["name"] = names["DATA_BUCKET"]
    obj.update(
        key=quote_plus(key, safe="/"), size=len(body), eTag=put["ETag"].strip('"'), versionId=put["VersionId"]
    )
    return event


def invoke(names: dict[str, Any], event: dict[str, Any]) -> list[dict[str, Any]]:
    return names["app"].handler(event, FakeContext("ingest"))["results"]


def executions(names: dict[str, Any]) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=names["STATE_MACHINE_ARN"])[
        "executions"
    ]


def store(names: dict[str, Any]) -> DynamoDBDatasetStore:
    return DynamoDBDatasetStore(names["REGISTRY_TABLE"])


def test_an_upload_is_stored_by_content_recorded_and_starts_one_run(ingest_platform: dict[str, Any]) -> None:
    # GIVEN a spec and a CSV upload
    event = upload(ingest_platform, "datasets/churn/jan.csv", CSV)
    # WHEN ingest handles the notification
    (result,) = invoke(ingest_platform, event)
    # THEN the bytes are in the artifact bucket under their sha256, with the spec snapshot
    assert result["outcome"] == "started"
    sha = result["dataset_id"]
    s3 = boto3.client("s3")
    assert (
        s3.get_object(Bucket=ingest_platform["ARTIFACT_BUCKET"], Key=f"datasets/{sha}")["Body"].read() == CSV
    )
    # AND one execution started with pointers only, in the shape the state machine expects
    (execution,) = executions(ingest_platform)
    payload = json.loads(
        boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    )
    assert payload["dataset"] == {
        "id": sha,
        "bucket": ingest_platform["ARTIFACT_BUCKET"],
        "key": f"datasets/{sha}",
        "format": "csv",
    }
    assert (
        payload["model"] == "churn" and payload["trigger"] == "upload" and payload["run_id"].startswith("r-")
    )
    spec = json.loads(
        s3.get_object(Bucket=ingest_platform["ARTIFACT_BUCKET"], Key=f"specs/{payload['spec']['id']}.json")[
            "Body"
        ].read()
    )
    assert spec["target"] == "churned"
    # AND the dataset record says where it came from
    record = store(ingest_platform).get("churn", sha)
    assert (record.status, record.source_key, record.size) == ("received", "datasets/churn/jan.csv", len(CSV))
    assert record.execution_arn == execution["executionArn"]


def test_the_same_event_delivered_five_times_at_once_starts_one_run(ingest_platform: dict[str, Any]) -> None:
    event = upload(ingest_platform, "datasets/churn/jan.csv", CSV)
    outcomes: list[Any] = []

    def deliver() -> None:
        try:
            outcomes.append(invoke(ingest_platform, event)[0]["outcome"])
        except Exception as exc:  # an in-progress duplicate raises so Lambda retries it later
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(executions(ingest_platform)) == 1
    assert "started" in outcomes
    # AND a later redelivery returns the stored result without starting anything
    assert invoke(ingest_platform, event)[0]["outcome"] == "started"
    assert len(executions(ingest_platform)) == 1


def test_same_bytes_under_a_new_name_is_a_duplicate_and_starts_nothing(
    ingest_platform: dict[str, Any],
) -> None:
    invoke(ingest_platform, upload(ingest_platform, "datasets/churn/jan.csv", CSV))
    (result,) = invoke(ingest_platform, upload(ingest_platform, "datasets/churn/jan-copy.csv", CSV))
    assert result["outcome"] == "duplicate"
    assert len(executions(ingest_platform)) == 1
    listed = {r.source_key: r for r in store(ingest_platform).list("churn")}
    assert listed["datasets/churn/jan-copy.csv"].status == "duplicate"
    assert "same bytes as datasets/churn/jan.csv" in listed["datasets/churn/jan-copy.csv"].reasons[0]


def test_keys_with_spaces_plus_and_unicode_are_decoded(ingest_platform: dict[str, Any]) -> None:
    key = "datasets/churn/January sales (final) été+1.csv"
    (result,) = invoke(ingest_platform, upload(ingest_platform, key, CSV))
    assert result["outcome"] == "started" and result["key"] == key
    assert store(ingest_platform).get("churn", result["dataset_id"]).source_key == key


@pytest.mark.parametrize(
    ("key", "spec", "reason"),
    [
        ("datasets/churn/../specs/x.csv", SPEC, "'..'"),
        ("datasets/jan.csv", SPEC, "names no model"),
        ("datasets/churn/jan.csv", None, "no spec for model churn; upload specs/churn.yaml first"),
        (
            "datasets/churn/jan.csv",
            b"model: churn\ntask: clustering\ntarget: y\n",
            "specs/churn.yaml is invalid: invalid spec: task",
        ),
        ("datasets/churn/empty.csv", SPEC, "the file is empty"),
    ],
)
def test_refused_uploads_are_recorded_and_announced(
    ingest_platform: dict[str, Any], key: str, spec: bytes | None, reason: str
) -> None:
    body = b"" if key.endswith("empty.csv") else CSV
    (result,) = invoke(ingest_platform, upload(ingest_platform, key, body, spec=spec))
    assert result["outcome"] == "rejected" and reason in result["reasons"][0]
    assert executions(ingest_platform) == []
    (event,) = drain_events(ingest_platform["queue"])
    assert event["detail-type"] == "Dataset Rejected" and reason in event["detail"]["reasons"][0]
    if result["model"]:
        (record,) = store(ingest_platform).list("churn")
        assert record.status == "rejected" and reason in record.reasons[0]


def test_an_object_over_the_size_cap_is_refused_before_download(
    ingest_platform: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    settings.cache_clear()
    app = load_function("ingest")
    event = upload(ingest_platform, "datasets/churn/big.csv", CSV)
    (result,) = app.handler(event, FakeContext("ingest"))["results"]
    assert result["outcome"] == "rejected" and "over the 10-byte upload limit" in result["reasons"][0]
    assert executions(ingest_platform) == []
    assert not boto3.client("s3").list_objects_v2(Bucket=ingest_platform["ARTIFACT_BUCKET"]).get("Contents")


def test_the_s3_test_event_is_ignored(ingest_platform: dict[str, Any]) -> None:
    assert invoke(ingest_platform, load_event("ingest", "test_event")) == []
