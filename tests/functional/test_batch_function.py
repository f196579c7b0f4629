"""Batch scoring: a CSV dropped under batch/<model>/ is scored (inline, or chunk by chunk) on moto."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.domain.batch import job_for
from lockgate.domain.model_version import NewModelVersion
from lockgate.services.batch import merge, plan, score_chunk
from lockgate.serving.predictor import clear_session_cache
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events
from support.serving_models import classifier


@pytest.fixture
def batch_platform(moto_platform: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The moto platform with a champion model and a CSV (one bad row, quoted newlines) under batch/income/."""
    names = moto_platform
    clear_session_cache()
    trained = classifier()
    sha = S3ArtifactStore(names["ARTIFACT_BUCKET"]).put_bytes("models", trained.onnx, ext="onnx").sha256
    registry = DynamoDBModelRegistry(names["REGISTRY_TABLE"])
    v = registry.create_model_version(
        NewModelVersion(
            model="income",
            status="Approved",
            run_id="r",
            dataset_id="d",
            model_artifact=sha,
            baseline_id="b",
            holdout_id="h",
            spec_id="s",
            report_id="p",
            signature=trained.signature,
            metrics={},
            params={},
            seed=0,
            environment={},
            code_version="t",
            intent="t",
        )
    )
    registry.set_alias("income", "champion", v.version, actor="t")
    queue = capture_events(names["EVENT_BUS_NAME"])
    rows = [dict(r) for r in trained.rows]
    rows[3] = {**rows[3], "age": "not-a-number"}
    rows[5] = {**rows[5], "hours": ""}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["age", "hours", "workclass", "extra"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "extra": 'a "quoted,\nfield"'})
    boto3.client("s3").put_object(
        Bucket=names["DATA_BUCKET"], Key="batch/income/people.csv", Body=buffer.getvalue().encode()
    )
    yield {"names": names, "queue": queue, "rows": rows, "version": v.version}
    clear_session_cache()


def output(names: dict[str, str], key: str) -> list[dict[str, str]]:
    body = boto3.client("s3").get_object(Bucket=names["ARTIFACT_BUCKET"], Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_a_dropped_csv_is_scored_and_announced(batch_platform: dict[str, Any]) -> None:
    # WHEN the S3 event for the file reaches the batch function
    results = load_function("batch").handler(load_event("batch", "s3_put"), FakeContext("batch"))
    # THEN every row has a line, bad rows say why, good rows match scikit-learn
    summary = results[0]
    assert summary["rows"] == 20 and summary["errors"] == 1
    lines = output(batch_platform["names"], summary["output_key"])
    assert summary["output_key"].startswith("predictions/income/people.csv.")
    assert [line["error"] != "" for line in lines].count(True) == 1 and "age" in lines[3]["error"]
    good = [r for i, r in enumerate(batch_platform["rows"]) if i != 3]
    frame = pd.DataFrame(good).replace("", float("nan")).astype({"age": float, "hours": float})
    expected = list(classifier().pipeline.predict(frame))
    assert [line["prediction"] for i, line in enumerate(lines) if i != 3] == expected
    assert set(json.loads(lines[0]["probabilities"])) == {"<=50K", ">50K"}
    events = [e for e in drain_events(batch_platform["queue"]) if e["detail-type"] == "Batch Scored"]
    assert len(events) == 1 and events[0]["detail"]["rows"] == 20


def test_chunked_scoring_gives_the_same_rows_as_one_chunk(batch_platform: dict[str, Any]) -> None:
    names = batch_platform["names"]
    function = load_function("batch")
    predictor, files = function.predictor(), function.batch_files()
    job = job_for("income", batch_platform["version"], names["DATA_BUCKET"], "batch/income/people.csv")
    # GIVEN tiny chunks (records with quoted newlines must not be split)
    chunks = plan(job, files=files, chunk_bytes=100)
    assert len(chunks) > 3
    parts = [score_chunk(job, chunk, predictor=predictor, files=files) for chunk in chunks]
    summary = merge(job, parts, files=files).to_dict()
    # THEN the merged output has one line per input row, in order
    lines = output(names, summary["output_key"])
    assert summary["rows"] == 20 and len(lines) == 20
    single = merge(
        job, [score_chunk(job, plan(job, files=files)[0], predictor=predictor, files=files)], files=files
    ).to_dict()
    assert [x["prediction"] for x in output(names, single["output_key"])] == [x["prediction"] for x in lines]
