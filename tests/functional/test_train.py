from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pandas as pd
import pytest
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.s3 import S3ArtifactStore
from support.datasets import make_synthetic
from support.handlers import FakeContext, load_event, load_function

SPEC = {
    "model": "churn",
    "task": "classification",
    "target": "target",
    "algorithm": "gradient_boosting",
    "params": {"max_iter": 20},
}


def stage(
    names: dict[str, str], spec: dict[str, Any], frame: pd.DataFrame, case: str = "upload"
) -> dict[str, Any]:
    """Put the dataset and spec snapshot in the artifact bucket as ingest/validate would; return the event."""
    store = S3ArtifactStore(names["ARTIFACT_BUCKET"])
    dataset = store.put_bytes("datasets", frame.to_csv(index=False).encode())
    spec_ref = store.put_json("specs", spec)
    event = load_event("train", case)
    event["dataset"].update(id=dataset.sha256, bucket=names["ARTIFACT_BUCKET"], key=dataset.key)
    event["spec"]["id"] = spec_ref.sha256
    return event


def test_upload_run_stores_every_artifact_and_records_the_run(moto_platform: dict[str, str]) -> None:
    # GIVEN an accepted dataset and its spec snapshot
    event = stage(moto_platform, SPEC, make_synthetic(300, seed=1))
    # WHEN the train task runs
    out = load_function("train").handler(event, FakeContext("train"))
    # THEN model, baseline, holdout and manifest are stored content-addressed and verifiable
    store = S3ArtifactStore(moto_platform["ARTIFACT_BUCKET"])
    assert store.get_bytes("models", out["model_id"], ext="onnx").startswith(b"\x08")
    baseline = store.get_json("baselines", out["baseline_id"])
    assert baseline["features"]["cat_0"]["type"] == "string" and baseline["metrics"] == out["metrics"]
    holdout = pd.read_parquet(io.BytesIO(store.get_bytes("holdouts", out["holdout_id"], ext="parquet")))
    assert len(holdout) == 60 and "target" in holdout.columns
    manifest = store.get_json("runs", out["manifest_id"])
    assert manifest["dataset_id"] == event["dataset"]["id"] and manifest["spec_id"] == event["spec"]["id"]
    assert manifest["code_version"] == "dev" and manifest["seed"] == 42
    assert manifest["environment"]["scikit-learn"]
    # AND the run record carries params, metrics, parity and artifact ids
    run = DynamoDBRunStore(moto_platform["REGISTRY_TABLE"]).get("churn", event["run_id"])
    assert run.status == "running" and run.params["max_iter"] == 20
    assert run.metrics["roc_auc"] == pytest.approx(out["metrics"]["roc_auc"])
    assert run.parity["passed"] is True and run.artifacts["model"] == out["model_id"]
    # AND the small output carries the signature and is JSON
    assert out["signature"]["classes"] == ["no", "yes"]
    json.dumps(out)


def test_reproduce_gives_the_same_model_hash_and_leaves_runs_alone(moto_platform: dict[str, str]) -> None:
    frame = make_synthetic(300, seed=2)
    first = load_function("train").handler(stage(moto_platform, SPEC, frame), FakeContext("train"))
    ddb = boto3.client("dynamodb")
    before = ddb.scan(TableName=moto_platform["REGISTRY_TABLE"])["Items"]
    # WHEN the same dataset and spec are retrained with the reproduce trigger
    again = load_function("train").handler(
        stage(moto_platform, SPEC, frame, "reproduce"), FakeContext("train")
    )
    # THEN the ONNX bytes hash the same, metrics agree, and no run record was written or changed
    assert again["model_id"] == first["model_id"]
    assert again["metrics"] == first["metrics"]
    assert ddb.scan(TableName=moto_platform["REGISTRY_TABLE"])["Items"] == before


def test_missing_target_fails_with_a_typed_error(moto_platform: dict[str, str]) -> None:
    event = stage(moto_platform, {**SPEC, "target": "churned"}, make_synthetic(100, seed=3))
    from lockgate.errors import TrainingError

    with pytest.raises(TrainingError, match="churned"):
        load_function("train").handler(event, FakeContext("train"))
