"""Validate on moto: each gate and each hostile file ends in a recorded, announced rejection."""

from __future__ import annotations

import gzip
import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.dataset import DatasetRecord, detect_format
from lockgate.errors import DatasetRejectedError, IntegrityError
from support.handlers import FakeContext, load_function
from support.resources import capture_events, drain_events

SPEC = {"model": "churn", "task": "classification", "target": "churned", "ignore": ["id"]}


def frame(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    score = 0.03 * age + (plan == "pro") + rng.normal(0, 1, rows)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "age": age,
            "plan": plan,
            "churned": np.where(score > np.median(score), "yes", "no"),
        }
    )


def csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.fixture
def validate_platform(moto_platform: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The moto platform with a small decompression limit, events captured and the validate handler."""
    monkeypatch.setenv("MAX_DECOMPRESSED_BYTES", "200000")
    settings.cache_clear()
    return {
        **moto_platform,
        "queue": capture_events(moto_platform["EVENT_BUS_NAME"]),
        "app": load_function("validate"),
    }


def stage(
    names: dict[str, Any], data: bytes, spec: dict[str, Any] = SPEC, key: str = "datasets/churn/x.csv"
) -> dict[str, Any]:
    """What ingest leaves behind: the bytes and spec content-addressed, a received record, the run input."""
    artifacts = S3ArtifactStore(names["ARTIFACT_BUCKET"])
    dataset = artifacts.put_bytes("datasets", data)
    spec_ref = artifacts.put_json("specs", spec)
    fmt = detect_format(data[:16], key)
    DynamoDBDatasetStore(names["REGISTRY_TABLE"]).record_upload(
        DatasetRecord(
            model="churn",
            dataset_id=dataset.sha256,
            source_bucket=names["DATA_BUCKET"],
            source_key=key,
            status="received",
            size=len(data),
            format=fmt,
            upload_id=f"u-{dataset.sha256}",
        )
    )
    return {
        "model": "churn",
        "run_id": "r-1",
        "trigger": "upload",
        "spec": {"id": spec_ref.sha256},
        "dataset": {
            "id": dataset.sha256,
            "bucket": names["ARTIFACT_BUCKET"],
            "key": dataset.key,
            "format": fmt,
        },
    }


def run(names: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    return names["app"].handler(event, FakeContext("validate"))


def record(names: dict[str, Any], event: dict[str, Any]) -> DatasetRecord:
    return DynamoDBDatasetStore(names["REGISTRY_TABLE"]).get("churn", event["dataset"]["id"])


def test_a_good_dataset_is_accepted_recorded_reported_and_announced(
    validate_platform: dict[str, Any],
) -> None:
    event = stage(validate_platform, csv(frame()))
    result = run(validate_platform, event)
    assert result["status"] == "accepted" and result["rows"] == 300 and result["columns"] == 4
    stored = record(validate_platform, event)
    assert (stored.status, stored.rows, stored.report_id) == ("accepted", 300, result["report_id"])
    report = S3ArtifactStore(validate_platform["ARTIFACT_BUCKET"]).get_json(
        "reports/validation", result["report_id"]
    )
    assert report["status"] == "accepted" and report["dataset_id"] == event["dataset"]["id"]
    (announced,) = drain_events(validate_platform["queue"])
    assert (
        announced["detail-type"] == "Dataset Accepted"
        and announced["detail"]["report_id"] == result["report_id"]
    )


def test_gzipped_csv_and_parquet_are_accepted(validate_platform: dict[str, Any]) -> None:
    assert (
        run(
            validate_platform,
            stage(validate_platform, gzip.compress(csv(frame())), key="datasets/churn/x.csv.gz"),
        )["status"]
        == "accepted"
    )
    buf = io.BytesIO()
    frame(seed=4).to_parquet(buf)
    assert (
        run(validate_platform, stage(validate_platform, buf.getvalue(), key="datasets/churn/x.parquet"))[
            "status"
        ]
        == "accepted"
    )


def _leaky() -> bytes:
    df = frame()
    return csv(df.assign(cancel_reason=np.where(df["churned"] == "yes", "moved", "none")))


HOSTILE = {
    "header only": (b"id,age,plan,churned\n", "header but no data rows"),
    "wrong delimiter": (b"id;age;plan;churned\n1;2;basic;no\n", "';'-delimited; use commas"),
    "non-utf8": (b"id,age,plan,churned\n1,30,caf\xe9,no\n", "not UTF-8"),
    "ragged": (b"id,age,plan,churned\n1,30,basic,no\n2,31\n", "line 3 has 2 fields but the header has 4"),
    "inf": (b"id,age,plan,churned\n1,inf,basic,no\n2,3,pro,yes\n", "infinite"),
    "gzip bomb": (
        gzip.compress(b"id,age,plan,churned\n" + b"1,30,basic,no\n" * 100_000),
        "decompresses to more than",
    ),
    "too few rows": (csv(frame(rows=20)), "at least 50 are required"),
    "missing target": (csv(frame().drop(columns=["churned"])), "target column 'churned' is missing"),
    "leakage": (_leaky(), "target leakage: cancel_reason"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_each_gate_and_hostile_file_ends_in_a_recorded_rejection(
    validate_platform: dict[str, Any], case: str
) -> None:
    data, reason = HOSTILE[case]
    event = stage(validate_platform, data)
    # WHEN validation runs / THEN it raises the typed error the state machine catches by name
    with pytest.raises(DatasetRejectedError) as err:
        run(validate_platform, event)
    assert type(err.value).__name__ == "DatasetRejectedError"
    stored = record(validate_platform, event)
    assert stored.status == "rejected" and any(reason in r for r in stored.reasons), stored.reasons
    assert stored.report_id  # a report exists even for unreadable files
    report = S3ArtifactStore(validate_platform["ARTIFACT_BUCKET"]).get_json(
        "reports/validation", stored.report_id
    )
    assert report["status"] == "rejected"
    (announced,) = drain_events(validate_platform["queue"])
    assert announced["detail-type"] == "Dataset Rejected" and any(
        reason in r for r in announced["detail"]["reasons"]
    )


def test_changes_are_judged_against_the_last_accepted_dataset(validate_platform: dict[str, Any]) -> None:
    # GIVEN an accepted dataset
    run(validate_platform, stage(validate_platform, csv(frame(seed=1))))
    # WHEN the next upload's ages are in months instead of years
    shifted = frame(seed=2).assign(age=lambda d: d["age"] * 12)
    event = stage(validate_platform, csv(shifted), key="datasets/churn/y.csv")
    with pytest.raises(DatasetRejectedError, match="age"):
        run(validate_platform, event)
    report_id = record(validate_platform, event).report_id
    assert report_id is not None
    report = S3ArtifactStore(validate_platform["ARTIFACT_BUCKET"]).get_json("reports/validation", report_id)
    (check,) = [c for c in report["checks"] if c["name"] == "changes.range"]
    assert check["status"] == "fail" and report["previous_dataset_id"]


def test_a_tampered_dataset_is_refused_by_hash(validate_platform: dict[str, Any]) -> None:
    import boto3

    event = stage(validate_platform, csv(frame()))
    boto3.client("s3").put_object(
        Bucket=validate_platform["ARTIFACT_BUCKET"], Key=event["dataset"]["key"], Body=b"a,b\n1,2\n"
    )
    with pytest.raises(IntegrityError, match="corrupt or tampered"):
        run(validate_platform, event)
