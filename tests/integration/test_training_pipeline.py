"""Data in and training on the local cloud: upload a file, watch the pipeline, read the registry."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.domain.model_version import NewModelVersion
from support.datasets import breast_cancer
from support.platform import Platform, wait_for

SPEC = {
    "model": "cancer",
    "task": "classification",
    "target": "diagnosis",
    "positive_class": "malignant",
    "algorithm": "logistic_regression",
    "description": "Flags biopsies that look malignant.",
}


def _csv(frame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def champion(platform: Platform) -> dict:
    platform.put_spec(SPEC)
    platform.upload("cancer", "wdbc.csv", _csv(breast_cancer()))
    return platform.wait_for_pipeline("cancer")


def test_an_upload_becomes_a_champion_with_its_trail(platform: Platform, champion: dict) -> None:
    assert champion["status"] == "SUCCEEDED", champion.get("cause")
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    version = registry.get_version_by_alias("cancer", "champion")
    assert version.version == 1 and version.status == "Approved"
    assert version.metrics["roc_auc"] > 0.95
    [dataset] = platform.datasets("cancer")
    assert dataset["status"] == "accepted" and dataset["rows"] == 569
    assert dataset["dataset_id"] == version.dataset_id
    report = json.loads(
        platform.s3.get_object(
            Bucket=platform.artifact_bucket, Key=f"reports/validation/{dataset['report_id']}.json"
        )["Body"].read()
    )
    assert all(check["status"] != "fail" for check in report["checks"])
    types = [e["detail-type"] for e in platform.events()]
    for expected in ("Dataset Accepted", "Model Registered", "Model Approved", "Model Promoted"):
        assert expected in types


def test_same_bytes_under_a_new_name_are_a_duplicate(platform: Platform, champion: dict) -> None:
    known = platform.known_executions()
    platform.upload("cancer", "copy of wdbc.csv", _csv(breast_cancer()))
    platform.cloud.wait_idle(60)
    records = platform.datasets("cancer")
    assert len([r for r in records if r.get("status") == "accepted"]) == 1
    assert platform.known_executions() == known  # nothing started


def test_a_worse_dataset_is_rejected_by_champion_challenger(platform: Platform, champion: dict) -> None:
    # A small, mislabelled sample: the candidate learns less than the champion already knows.
    frame = breast_cancer().sample(n=120, random_state=3).reset_index(drop=True)
    rng = np.random.default_rng(7)
    flip = rng.random(len(frame)) < 0.3
    frame.loc[flip, "diagnosis"] = np.where(
        frame.loc[flip, "diagnosis"] == "malignant", "benign", "malignant"
    )
    known = platform.known_executions()
    platform.upload("cancer", "noisy.csv", _csv(frame))
    result = platform.wait_for_pipeline("cancer", known=known)
    assert result["status"] == "FAILED" and result["error"] == "ModelRejected"
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    assert [v.version for v in registry.list_model_versions("cancer")] == [1]
    rejected = [e for e in platform.events("Model Rejected") if e["detail"].get("model") == "cancer"]
    assert rejected, "no Model Rejected event"


def test_a_broken_file_is_rejected_with_a_reason_and_nothing_trains(platform: Platform) -> None:
    platform.put_spec({**SPEC, "model": "cancer-bad"})
    known = platform.known_executions()
    platform.upload("cancer-bad", "semicolons.csv", b"a;b;diagnosis\n1;2;benign\n3;4;malignant\n")
    platform.cloud.wait_idle(60)

    def recorded():
        return [r for r in platform.datasets("cancer-bad") if r.get("status") == "rejected"]

    records = wait_for(recorded, timeout=120)
    assert records and any("delimit" in " ".join(r.get("reasons", [])) for r in records), records
    for ex in platform.executions():
        if ex["executionArn"] not in known and ex["name"].startswith("cancer-bad-"):
            arn = ex["executionArn"]

            def finished(arn: str = arn) -> Any:
                described = platform.sfn.describe_execution(executionArn=arn)
                return described["status"] != "RUNNING" and described

            desc = wait_for(finished)
            assert desc["error"] == "DatasetRejected"
    assert any(e["detail"].get("model") == "cancer-bad" for e in platform.events("Dataset Rejected"))


def test_manual_approval_waits_for_a_person(platform: Platform) -> None:
    platform.put_spec({**SPEC, "model": "cancer-manual", "approval": "manual"})
    platform.upload("cancer-manual", "wdbc.csv", _csv(breast_cancer().sample(frac=0.9, random_state=1)))
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    platform.cloud.wait_idle(120)

    def pending():
        try:
            v = registry.get_model_version("cancer-manual", 1)
        except Exception:
            return None
        return v if v.status == "PendingManualApproval" else None

    version = wait_for(pending, timeout=120)
    assert version, "no version waiting for approval"
    [execution] = [e for e in platform.executions() if e["name"].startswith("cancer-manual-")]
    assert platform.sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING"
    # a predict token cannot approve
    assert (
        platform.api("POST", "/models/cancer-manual/versions/1/approve", role="predict", json={}).status_code
        == 403
    )
    response = platform.api(
        "POST", "/models/cancer-manual/versions/1/approve", role="admin", json={"comment": "looks good"}
    )
    assert response.status_code == 200, response.text
    done = wait_for(
        lambda: (
            (d := platform.sfn.describe_execution(executionArn=execution["executionArn"]))["status"]
            != "RUNNING"
            and d
        )
    )
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert registry.get_version_by_alias("cancer-manual", "champion").version == 1


def test_a_failure_in_training_registers_nothing_and_announces_it(platform: Platform) -> None:
    # An estimator parameter that does not exist makes the train task fail.
    platform.put_spec({**SPEC, "model": "cancer-broken", "params": {"no_such_param": 3}})
    platform.upload("cancer-broken", "wdbc.csv", _csv(breast_cancer()))
    result = platform.wait_for_pipeline("cancer-broken")
    assert result["status"] == "FAILED" and result["error"] == "TrainingFailed"
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    with pytest.raises(Exception):
        registry.list_model_versions("cancer-broken")
    failed = [e for e in platform.events("Training Failed") if e["detail"].get("model") == "cancer-broken"]
    assert failed and failed[0]["detail"].get("run_id")


def test_concurrent_registrations_get_distinct_versions(platform: Platform) -> None:
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.cloud.client("dynamodb"))
    versions: list[int] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        reg = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.cloud.client("dynamodb"))
        v = reg.create_model_version(
            NewModelVersion(
                model="concurrent",
                status="Approved",
                run_id=f"run-{i}",
                dataset_id="d" * 64,
                model_artifact="m" * 64,
                baseline_id="b" * 64,
                holdout_id="h" * 64,
                spec_id="s" * 64,
                report_id="r" * 64,
                signature={},
                metrics={},
                params={},
                seed=1,
                environment={},
                code_version="test",
                intent="",
            )
        )
        with lock:
            versions.append(v.version)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == list(range(1, 21))
    assert [v.version for v in registry.list_model_versions("concurrent")] == list(range(1, 21))


def test_reproduce_retrains_to_the_same_model(platform: Platform, champion: dict) -> None:
    registry = DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)
    version = registry.get_version_by_alias("cancer", "champion")
    payload = {
        "model": "cancer",
        "run_id": f"repro-{version.run_id}",
        "trigger": "reproduce",
        "dataset": {
            "id": version.dataset_id,
            "bucket": platform.artifact_bucket,
            "key": f"datasets/{version.dataset_id}",
            "format": "csv",
        },
        "spec": {"id": version.spec_id},
    }
    result, errored = platform.invoke("TrainFunction", payload)
    assert not errored, result
    assert result["model_id"] == version.model_artifact
