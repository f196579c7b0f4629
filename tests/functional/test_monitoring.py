"""Drift checks on moto: baselines, captures and labels written straight into buckets and tables."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from fakes.lifecycle import InMemoryModelRegistry
from lockgate.adapters.dynamodb.checks import DynamoDBCheckStore
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.adapters.s3_logs import S3DatasetDrop, S3Logs
from lockgate.adapters.sns import SnsAlerts
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, NewModelVersion
from lockgate.domain.spec import parse_spec
from lockgate.services import monitor as monitoring
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events

MODEL = "churn"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
COLOURS = np.array(["red", "green", "blue"], dtype=object)


def frame(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, colours: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": rng.normal(shift, 1.0, n),
            "x2": rng.normal(5.0, 2.0, n),
            "colour": rng.choice(COLOURS, n, p=list(colours)),
            "size": rng.gamma(2.0, 1.0, n),
            "y": rng.choice(np.array(["no", "yes"], dtype=object), n, p=[0.7, 0.3]),
        }
    )


def profile(df: pd.DataFrame) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for name in ["x1", "x2", "size"]:
        col = df[name]
        features[name] = {
            "type": "number",
            "missing_fraction": 0.0,
            "min": float(col.min()),
            "max": float(col.max()),
            "sample": [float(v) for v in col],
        }
    features["colour"] = {"type": "string", "missing_fraction": 0.0, "counts": dict(Counter(df["colour"]))}
    return {
        "rows": len(df),
        "features": features,
        "prediction": {"type": "string", "missing_fraction": 0.0, "counts": dict(Counter(df["y"]))},
        "metrics": {"accuracy": 0.9, "roc_auc": 0.93},
    }


@pytest.fixture
def monitoring_platform(moto_platform: dict[str, str]) -> tuple[dict[str, str], str]:
    """The moto platform's names and the URL of a queue capturing every lockgate event."""
    return moto_platform, capture_events(moto_platform["EVENT_BUS_NAME"])


def install(
    names: dict[str, str], rng: np.random.Generator, **monitoring_overrides: Any
) -> monitoring.MonitoringDeps:
    artifacts = S3ArtifactStore(names["ARTIFACT_BUCKET"])
    spec = parse_spec(
        {
            "model": MODEL,
            "task": "classification",
            "target": "y",
            "metric": "accuracy",
            "monitoring": {
                "cadence_minutes": 60,
                "short_window_minutes": 60,
                "long_window_minutes": 1440,
                "min_samples": 50,
                **monitoring_overrides,
            },
        }
    )
    train = frame(rng, 2000)
    spec_ref = artifacts.put_json("specs", spec.to_dict())
    baseline_ref = artifacts.put_json("baselines", profile(train))
    dataset_ref = artifacts.put_bytes("datasets", train.to_csv(index=False).encode())
    boto3.client("dynamodb").put_item(
        TableName=names["REGISTRY_TABLE"],
        Item={
            "pk": {"S": f"MODEL#{MODEL}"},
            "sk": {"S": f"DATASET#{dataset_ref.sha256}"},
            "model": {"S": MODEL},
            "dataset_id": {"S": dataset_ref.sha256},
            "source_bucket": {"S": names["DATA_BUCKET"]},
            "source_key": {"S": f"datasets/{MODEL}/train.csv"},
            "status": {"S": "accepted"},
            "format": {"S": "csv"},
            "created_at": {"S": "2026-03-01T00:00:00Z"},
        },
    )
    # The champion is version 3 (capture() tags traffic with it); two Pending versions come first,
    # and a model registered but never crowned must be skipped by the scheduled sweep.
    registry = InMemoryModelRegistry()
    pending = NewModelVersion(
        model=MODEL,
        status=PENDING,
        run_id="run-1",
        dataset_id=dataset_ref.sha256,
        model_artifact="m" * 64,
        baseline_id=baseline_ref.sha256,
        holdout_id="h" * 64,
        spec_id=spec_ref.sha256,
        report_id="r" * 64,
        signature={"task": "classification", "target": "y", "classes": ["no", "yes"]},
        metrics={"accuracy": 0.9},
        params={},
        seed=0,
        environment={},
        code_version="test",
        intent="test",
    )
    registry.create_model_version(pending)
    registry.create_model_version(replace(pending, run_id="run-2"))
    champion = registry.create_model_version(replace(pending, status=APPROVED, run_id="run-3"))
    assert champion.version == 3
    registry.set_alias(MODEL, CHAMPION, champion.version, actor="test")
    registry.create_model_version(replace(pending, model="no-champion"))
    return monitoring.MonitoringDeps(
        registry=registry,
        datasets=DynamoDBDatasetStore(names["REGISTRY_TABLE"]),
        artifacts=artifacts,
        checks=DynamoDBCheckStore(names["REGISTRY_TABLE"]),
        logs=S3Logs(names["ARTIFACT_BUCKET"]),
        drop=S3DatasetDrop(names["DATA_BUCKET"]),
        alerts=SnsAlerts(""),
        publisher=EventBridgePublisher(),
    )


def capture(names: dict[str, str], df: pd.DataFrame, *, start: datetime, end: datetime) -> list[str]:
    """Write rows as captured inferences spread evenly in (start, end]; returns prediction ids."""
    s3 = boto3.client("s3")
    span = (end - start) / len(df)
    by_day: dict[str, list[str]] = {}
    ids = []
    for i, row in enumerate(df.to_dict("records")):
        ts = start + span * (i + 1)
        pid = str(uuid.UUID(int=(hash((start, i)) & (2**128 - 1))))
        ids.append(pid)
        record = {
            "prediction_id": pid,
            "model": MODEL,
            "version": 3,
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "inputs": {k: row[k] for k in ["x1", "x2", "colour", "size"]},
            "prediction": row["y"],
            "probabilities": {"no": 0.8, "yes": 0.2} if row["y"] == "no" else {"no": 0.2, "yes": 0.8},
        }
        by_day.setdefault(ts.date().isoformat(), []).append(json.dumps(record))
    for day, lines in by_day.items():
        key = f"captures/{MODEL}/date={day}/{start.isoformat()}-{uuid.uuid4()}.jsonl"
        s3.put_object(Bucket=names["ARTIFACT_BUCKET"], Key=key, Body="\n".join(lines).encode())
    return ids


def label(names: dict[str, str], ids: list[str], labels: list[str], *, at: datetime) -> None:
    body = "\n".join(
        json.dumps({"prediction_id": p, "label": y, "timestamp": at.isoformat()})
        for p, y in zip(ids, labels, strict=True)
    )
    key = f"labels/{MODEL}/date={at.date().isoformat()}/{at.isoformat()}-{uuid.uuid4()}.jsonl"
    boto3.client("s3").put_object(Bucket=names["ARTIFACT_BUCKET"], Key=key, Body=body.encode())


def detail_types(queue: str) -> list[str]:
    return [e["detail-type"] for e in drain_events(queue)]


def test_clean_traffic_gives_a_clean_report_with_html(monitoring_platform: Any) -> None:
    # GIVEN a champion and a day of traffic drawn like its training data
    names, queue = monitoring_platform
    rng = np.random.default_rng(1)
    deps = install(names, rng)
    capture(names, frame(rng, 2400), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the check runs (the schedule fires a little after the hour)
    result = monitoring.run_check(MODEL, now=NOW + timedelta(minutes=7), deps=deps)
    # THEN nothing drifted, both windows were judged, and both reports are stored
    assert result.window_end == "2026-03-02T12:00:00Z"
    assert not result.drifted and result.drifted_features == {"short": [], "long": []}
    assert result.report is not None and result.report["windows"]["long"]["drift_share"] == 0
    report = deps.artifacts.get_json("reports/drift", result.report_id)
    assert report["drifted"] is False and set(report["windows"]) == {"short", "long"}
    assert report["windows"]["long"]["rows"] == 2400 and report["windows"]["short"]["rows"] == 100
    page = deps.artifacts.get_bytes("reports/drift", result.html_report_id, ext="html").decode()
    assert page.count("<svg") >= 5  # four features + prediction
    assert "Drift Detected" not in detail_types(queue)


def test_shifted_traffic_is_flagged_in_the_shifted_features_only(monitoring_platform: Any) -> None:
    # GIVEN traffic where x1 moved by one std and "blue" became the commonest colour
    names, queue = monitoring_platform
    rng = np.random.default_rng(2)
    deps = install(names, rng)
    capture(
        names, frame(rng, 600, shift=1.0, colours=(0.2, 0.3, 0.5)), start=NOW - timedelta(hours=24), end=NOW
    )
    # WHEN the check runs
    result = monitoring.run_check(MODEL, now=NOW, deps=deps)
    # THEN exactly those two features drifted and the bus hears about it
    assert result.drifted
    assert sorted(result.drifted_features["long"]) == ["colour", "x1"]
    events = drain_events(queue)
    drift = [e for e in events if e["detail-type"] == "Drift Detected"]
    assert len(drift) == 1 and drift[0]["detail"]["report_id"] == result.report_id


def test_a_sudden_spike_is_caught_by_the_short_window_only(monitoring_platform: Any) -> None:
    # GIVEN a long quiet day, then a last hour of very different traffic
    names, _ = monitoring_platform
    rng = np.random.default_rng(3)
    deps = install(names, rng)
    capture(names, frame(rng, 4000), start=NOW - timedelta(hours=24), end=NOW - timedelta(hours=1))
    capture(
        names, frame(rng, 80, shift=2.5, colours=(0.05, 0.05, 0.9)), start=NOW - timedelta(hours=1), end=NOW
    )
    # WHEN the check runs
    result = monitoring.run_check(MODEL, now=NOW, deps=deps)
    # THEN the short window drifted and the long window, diluted, did not
    assert "x1" in result.drifted_features["short"] and "colour" in result.drifted_features["short"]
    assert result.drifted_features["long"] == []


def test_labels_revealing_lower_accuracy_raise_performance_degraded(monitoring_platform: Any) -> None:
    # GIVEN captured predictions, and labels that disagree with 40% of them
    names, queue = monitoring_platform
    rng = np.random.default_rng(4)
    deps = install(names, rng)
    df = frame(rng, 300)
    ids = capture(names, df, start=NOW - timedelta(hours=20), end=NOW - timedelta(hours=2))
    flip = rng.random(len(df)) < 0.4
    truth = [("yes" if y == "no" else "no") if f else y for y, f in zip(df["y"], flip, strict=True)]
    label(names, ids, truth, at=NOW - timedelta(minutes=30))
    # WHEN the check runs
    result = monitoring.run_check(MODEL, now=NOW, deps=deps)
    # THEN accuracy on labelled traffic (~0.6) is well below holdout (0.9)
    assert result.performance_degraded
    perf = deps.artifacts.get_json("reports/drift", result.report_id)["windows"]["long"]["performance"]
    assert perf["labelled"] == 300 and perf["metric"] == "accuracy"
    assert perf["value"] == pytest.approx(1 - flip.mean())
    assert "Performance Degraded" in detail_types(queue)


def test_a_schedule_firing_twice_for_one_window_yields_one_report(monitoring_platform: Any) -> None:
    # GIVEN drifted traffic
    names, queue = monitoring_platform
    rng = np.random.default_rng(5)
    deps = install(names, rng)
    capture(
        names, frame(rng, 300, shift=2.0, colours=(0.2, 0.3, 0.5)), start=NOW - timedelta(hours=24), end=NOW
    )
    # WHEN the schedule fires twice within the same hour
    first = monitoring.run_check(MODEL, now=NOW + timedelta(minutes=1), deps=deps)
    second = monitoring.run_check(MODEL, now=NOW + timedelta(minutes=16), deps=deps)
    # THEN the second returns the stored result: one report, one record, one alert
    assert second.duplicate and second.report_id == first.report_id
    items = boto3.client("dynamodb").query(
        TableName=names["REGISTRY_TABLE"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{MODEL}"}, ":d": {"S": "DRIFT#"}},
    )["Items"]
    assert len(items) == 1
    assert detail_types(queue).count("Drift Detected") == 1
    assert deps.checks.latest(MODEL) == second


def test_retrain_policy_writes_a_dataset_and_respects_the_cooldown(monitoring_platform: Any) -> None:
    # GIVEN a retrain policy, drifted traffic and labels for part of it
    names, queue = monitoring_platform
    rng = np.random.default_rng(6)
    deps = install(names, rng, on_drift="retrain", retrain_cooldown_minutes=180)
    df = frame(rng, 200, shift=2.0, colours=(0.2, 0.3, 0.5))
    ids = capture(names, df, start=NOW - timedelta(hours=3), end=NOW)
    label(names, ids[:120], list(df["y"][:120]), at=NOW - timedelta(minutes=10))
    # WHEN the check runs, and again an hour later with drift still present
    first = monitoring.run_check(MODEL, now=NOW, deps=deps)
    later = monitoring.run_check(MODEL, now=NOW + timedelta(hours=1), deps=deps)
    # THEN one retraining dataset = training rows + labelled captures, with lineage; then the cool-down holds
    assert first.retraining is not None and first.retraining["status"] == "started"
    key = first.retraining["dataset_key"]
    assert key == f"datasets/{MODEL}/retrain-20260302T120000Z.csv"
    obj = boto3.client("s3").get_object(Bucket=names["DATA_BUCKET"], Key=key)
    data = pd.read_csv(io.BytesIO(obj["Body"].read()))
    assert len(data) == 2000 + 120 and list(data.columns) == ["x1", "x2", "colour", "size", "y"]
    assert obj["Metadata"]["lockgate-drift-report"] == first.report_id
    assert later.drifted and later.retraining is not None and later.retraining["status"] == "skipped"
    started = [e for e in drain_events(queue) if e["detail-type"] == "Retraining Started"]
    assert len(started) == 1 and started[0]["detail"]["parents"] == first.retraining["parents"]
    detail = started[0]["detail"]
    assert (
        detail["label_files"] == 1 and "label_keys" not in detail
    )  # counts in the event, keys in the manifest
    manifest = json.loads(
        boto3.client("s3")
        .get_object(Bucket=names["ARTIFACT_BUCKET"], Key=f"retrain/{detail['manifest_id']}.json")["Body"]
        .read()
    )
    assert len(manifest["label_keys"]) == 1


def test_the_drift_function_handles_schedule_and_direct_invokes(
    monitoring_platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the drift function wired to a champion with traffic
    names, _ = monitoring_platform
    rng = np.random.default_rng(7)
    deps = install(names, rng)
    capture(names, frame(rng, 200), start=NOW - timedelta(hours=24), end=NOW)
    app = load_function("drift")
    monkeypatch.setattr(app, "_deps", lambda: deps)
    # WHEN the schedule fires (its time, not the wall clock) and then a user asks for a check now
    scheduled = app.handler(load_event("drift", "scheduled"), FakeContext("drift"))
    direct = app.handler({"model": MODEL, "now": "2026-03-02T12:07:00Z", "force": True}, FakeContext("drift"))
    # THEN the model is checked, the model without a champion is skipped, and the direct call prints a report
    checks = {c["model"]: c for c in scheduled["checks"]}
    assert checks[MODEL]["window_end"] == "2026-03-02T12:00:00Z" and checks["no-champion"]["skipped"]
    assert direct["ok"] and direct["window_end"] == "2026-03-02T12:07:00Z"
    assert direct["report"]["drifted"] is False and "x1" in [
        f["feature"] for f in direct["report"]["windows"]["long"]["features"]
    ]


def test_label_files_are_normalised_and_bad_ones_rejected(monitoring_platform: Any) -> None:
    # GIVEN a good CSV and a file without the required columns in the data bucket
    names, _ = monitoring_platform
    install(names, np.random.default_rng(8))
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=names["DATA_BUCKET"],
        Key=f"labels/{MODEL}/feedback.csv",
        Body=b"prediction_id,label\np1,yes\np2,no\n,yes\n",
    )
    s3.put_object(Bucket=names["DATA_BUCKET"], Key=f"labels/{MODEL}/bad.csv", Body=b"id,truth\np1,yes\n")
    app = load_function("labels")
    event = load_event("labels", "upload")
    bad = json.loads(json.dumps(event))
    bad["Records"][0]["s3"]["object"]["key"] = f"labels/{MODEL}/bad.csv"
    event["Records"][0]["s3"]["bucket"]["name"] = bad["Records"][0]["s3"]["bucket"]["name"] = names[
        "DATA_BUCKET"
    ]
    # WHEN the labels function sees both uploads
    good = app.handler(event, FakeContext("labels"))["results"][0]
    rejected = app.handler(bad, FakeContext("labels"))["results"][0]
    # THEN good rows land in the labels log (with the skipped row counted) and the bad file is recorded
    assert good["status"] == "accepted" and good["rows"] == 2 and good["skipped_rows"] == 1
    lines = (
        s3.get_object(Bucket=names["ARTIFACT_BUCKET"], Key=good["key"])["Body"].read().decode().splitlines()
    )
    assert [json.loads(x)["prediction_id"] for x in lines] == ["p1", "p2"]
    assert good["key"].startswith(f"labels/{MODEL}/date=2026-03-02/")
    assert rejected["status"] == "rejected" and "prediction_id and label" in rejected["reasons"][0]
