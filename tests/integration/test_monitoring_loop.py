"""Monitoring on the local cloud: traffic through the HTTP API, checks fired by schedule or on demand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from support.datasets import make_synthetic
from support.platform import Platform

MONITORING = {
    "cadence_minutes": 60,
    "short_window_minutes": 60,
    "long_window_minutes": 7 * 24 * 60,
    "min_samples": 30,
}


def _spec(model: str, **monitoring) -> dict:
    return {
        "model": model,
        "task": "classification",
        "target": "target",
        "positive_class": "yes",
        "algorithm": "logistic_regression",
        "monitoring": {**MONITORING, **monitoring},
    }


def _train(platform: Platform, model: str, rows: int = 1000, **monitoring) -> None:
    platform.put_spec(_spec(model, **monitoring))
    platform.upload(model, "train.csv", make_synthetic(rows, seed=31).to_csv(index=False).encode())
    result = platform.wait_for_pipeline(model)
    assert result["status"] == "SUCCEEDED", result.get("cause")


def _traffic(seed: int, n: int, *, shift_num_03: float = 0.0, cat_2_share_a: float | None = None):
    frame = make_synthetic(n, seed=seed, missing_fraction=0.0).drop(columns=["target"])
    frame["num_03"] = frame["num_03"] + shift_num_03
    if cat_2_share_a is not None:
        rng = np.random.default_rng(seed)
        frame.loc[rng.random(n) < cat_2_share_a, "cat_2"] = "a"
    return json.loads(frame.to_json(orient="records"))


def _send(platform: Platform, model: str, instances: list[dict]) -> list[dict]:
    bodies = []
    for start in range(0, len(instances), 100):
        response = platform.predict(model, instances[start : start + 100])
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    return bodies


def _check(platform: Platform, model: str, *, now: datetime | None = None) -> dict:
    payload = {
        "model": model,
        "force": True,
        "now": (now or datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    }
    body, errored = platform.invoke("DriftFunction", payload)
    assert not errored, body
    return body


def _drifted(report: dict, window: str) -> set[str]:
    features = report["windows"][window].get("features") or []
    return {result["feature"] for result in features if result["drifted"]}


def test_traffic_without_drift_gives_a_clean_report(platform: Platform) -> None:
    _train(platform, "mon-clean")
    _send(platform, "mon-clean", _traffic(seed=41, n=400))
    body = _check(platform, "mon-clean")
    assert body["drifted"] is False, body["drifted_features"]
    html = (
        platform.s3.get_object(Bucket=platform.artifact_bucket, Key=body["html_report_key"])["Body"]
        .read()
        .decode()
    )
    assert "<svg" in html and "num_03" in html


def test_shifted_traffic_is_detected_in_the_right_features(platform: Platform) -> None:
    # Above 1,000 rows on both sides the engine uses distances (Wasserstein, Jensen-Shannon) with
    # thresholds, as Evidently does; small samples get p-value tests, whose 5% false-alarm rate
    # per feature would make "no other feature flagged" a matter of luck.
    # drift_share 0.05: any one drifted feature makes the dataset count as drifted (default 0.5, as Evidently).
    _train(platform, "mon-shift", rows=2000, drift_share=0.05)
    _send(platform, "mon-shift", _traffic(seed=40, n=1200, shift_num_03=1.5, cat_2_share_a=0.7))
    body = _check(platform, "mon-shift")
    assert body["drifted"] is True
    drifted = _drifted(body["report"], "long")
    assert {"num_03", "cat_2"} <= drifted
    assert not drifted - {"num_03", "cat_2"}, f"false alarms: {drifted - {'num_03', 'cat_2'}}"
    detected = [e for e in platform.events("Drift Detected") if e["detail"].get("model") == "mon-shift"]
    assert detected


def test_a_sudden_spike_is_caught_by_the_short_window(platform: Platform) -> None:
    model = "mon-spike"
    _train(platform, model)
    # a week of normal production traffic, captured earlier
    now = datetime.now(UTC)
    history = _traffic(seed=43, n=1500)
    lines = []
    for i, row in enumerate(history):
        at = now - timedelta(hours=2) - timedelta(minutes=6 * i)
        lines.append(
            json.dumps(
                {
                    "prediction_id": uuid.uuid4().hex,
                    "model": model,
                    "version": 1,
                    "timestamp": at.isoformat().replace("+00:00", "Z"),
                    "inputs": row,
                    "prediction": "yes",
                    "probabilities": {"no": 0.4, "yes": 0.6},
                }
            )
        )
    day = (now - timedelta(hours=2)).strftime("%Y-%m-%d")
    platform.s3.put_object(
        Bucket=platform.artifact_bucket,
        Key=f"captures/{model}/date={day}/history.jsonl",
        Body="\n".join(lines).encode(),
    )
    # then, in the last minutes, a spike: too few rows to move a week's distribution
    _send(platform, model, _traffic(seed=44, n=40, shift_num_03=1.5))
    report = _check(platform, model)["report"]
    assert "num_03" in _drifted(report, "short")
    assert "num_03" not in _drifted(report, "long"), [
        f for f in report["windows"]["long"]["features"] if f["drifted"]
    ]


def test_labels_revealing_degraded_accuracy_raise_performance_degraded(platform: Platform) -> None:
    model = "mon-perf"
    _train(platform, model)
    bodies = _send(platform, model, _traffic(seed=45, n=200))
    wrong = [
        {"prediction_id": pid, "label": "no" if pred == "yes" else "yes"}
        for body in bodies
        for pid, pred in zip(body["prediction_ids"], body["predictions"], strict=True)
    ]
    response = platform.api("POST", f"/models/{model}/feedback", json={"labels": wrong})
    assert response.status_code == 202, response.text
    body = _check(platform, model)
    assert body["performance_degraded"] is True
    assert any(e["detail"].get("model") == model for e in platform.events("Performance Degraded"))


def test_a_repeated_schedule_firing_yields_one_report(platform: Platform) -> None:
    model = "mon-sched"
    _train(platform, model, short_window_minutes=180)
    _send(platform, model, _traffic(seed=46, n=100))
    rule = next(r.name for r in platform.cloud.scheduler.rules() if "Drift" in r.name)
    at = datetime.now(UTC) + timedelta(hours=1)
    platform.cloud.fire_schedule(rule, at=at)
    platform.cloud.wait_idle(300)
    platform.cloud.fire_schedule(rule, at=at)
    platform.cloud.wait_idle(300)
    records = platform.ddb.query(
        TableName=platform.table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{model}"}, ":sk": {"S": "DRIFT#"}},
    )["Items"]
    assert len(records) == 1
    reports = platform.s3.list_objects_v2(Bucket=platform.artifact_bucket, Prefix="reports/drift/")[
        "Contents"
    ]
    assert len({r["Key"] for r in reports if records[0]["report_id"]["S"] in r["Key"]}) == 1


def test_drift_with_the_retrain_policy_produces_a_candidate_through_the_gates(platform: Platform) -> None:
    model = "mon-retrain"
    _train(platform, model, on_drift="retrain", drift_share=0.05)
    bodies = _send(platform, model, _traffic(seed=47, n=300, shift_num_03=1.5))
    # labels arrive for the shifted traffic (the truth is the model's own answer here)
    labels = [
        {"prediction_id": pid, "label": pred}
        for body in bodies
        for pid, pred in zip(body["prediction_ids"], body["predictions"], strict=True)
    ]
    assert platform.api("POST", f"/models/{model}/feedback", json={"labels": labels}).status_code == 202
    known = platform.known_executions()
    body = _check(platform, model)
    assert body["drifted"] is True and body["retraining"], body
    result = platform.wait_for_pipeline(model, known=known)
    assert result["status"] == "SUCCEEDED" or result["error"] == "ModelRejected", result
    datasets = platform.datasets(model)
    retrained = [d for d in datasets if d["source_key"].startswith(f"datasets/{model}/retrain-")]
    assert retrained and retrained[0].get("parents"), datasets
    execution_input = json.loads(result["input"])
    assert execution_input["trigger"] == "drift"
    assert any(e["detail"].get("model") == model for e in platform.events("Retraining Started"))
    # the cool-down stops a second retraining
    again = _check(platform, model, now=datetime.now(UTC) + timedelta(minutes=5))
    assert again["retraining"]["status"] == "skipped" and "cool-down" in again["retraining"]["reason"]
