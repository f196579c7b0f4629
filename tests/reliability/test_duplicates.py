"""At-least-once in, exactly-once effects: duplicated, concurrent, reordered and test deliveries.

S3, EventBridge and asynchronous Lambda deliver events more than once and out of order. Each case
here delivers the way AWS would (the Lambda API with the payload S3 or EventBridge sends, sync or
``Event``) to the real functions on the local cloud, and counts the effects a user can see:
dataset records, executions, reports, announcements.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reliability_support import (
    cancer_csv,
    cancer_instances,
    cancer_spec,
    event_for_object,
    events_for,
    executions_of,
    invoke,
    items,
    train,
    wait_until_settled,
)
from support.platform import Platform, wait_for


def _datasets(platform: Platform, model: str) -> list[dict[str, Any]]:
    return items(platform, model, "DATASET#")


def _uploads(platform: Platform, model: str) -> list[dict[str, Any]]:
    return items(platform, model, "UPLOAD#")


def _upload_and_settle(platform: Platform, model: str, body: bytes, name: str = "train.csv") -> str:
    platform.put_spec(cancer_spec(model))
    key = platform.upload(model, name, body)
    wait_until_settled(platform, model)
    return key


def test_the_same_s3_event_delivered_twice_has_one_effect_and_replays_the_stored_result(
    platform: Platform,
) -> None:
    # GIVEN an upload that S3 already delivered once (the real notification)
    model = "dup-twice"
    key = _upload_and_settle(platform, model, cancer_csv(frac=0.9, seed=1))
    [dataset] = _datasets(platform, model)
    [execution] = executions_of(platform, model)
    # WHEN S3 delivers the same notification twice more, asynchronously, as its retries do
    event = event_for_object(platform, key)
    invoke(platform, "IngestFunction", event, asynchronous=True)
    invoke(platform, "IngestFunction", event, asynchronous=True)
    wait_until_settled(platform, model)
    # THEN nothing new happened: one dataset, one upload, one execution, one acceptance
    assert [d["dataset_id"] for d in _datasets(platform, model)] == [dataset["dataset_id"]]
    assert len(_uploads(platform, model)) == 1
    assert [e["executionArn"] for e in executions_of(platform, model)] == [execution["executionArn"]]
    assert len(events_for(platform, "Dataset Accepted", model)) == 1
    # AND a replay answers with the stored result of the first delivery
    body, errored = invoke(platform, "IngestFunction", event)
    assert not errored, body
    assert body is not None
    [result] = body["results"]
    assert result["outcome"] == "started"
    assert result["dataset_id"] == dataset["dataset_id"]
    assert result["execution_arn"] == execution["executionArn"]


def test_five_concurrent_deliveries_start_one_run(platform: Platform) -> None:
    model = "dup-five"
    platform.put_spec(cancer_spec(model))
    key = platform.upload(model, "train.csv", cancer_csv(frac=0.85, seed=2))
    event = event_for_object(platform, key)
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        body, errored = invoke(platform, "IngestFunction", event)
        with lock:
            outcomes.append({"errored": errored, "body": body})

    # WHEN the same notification arrives five times at once (racing the real one)
    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until_settled(platform, model)
    # THEN each delivery either got the result or was told the first is still in progress
    # (Lambda retries those); none failed in any other way
    for outcome in outcomes:
        if outcome["errored"]:
            assert outcome["body"]["errorType"] == "IdempotencyAlreadyInProgressError", outcome
    started = [o["body"]["results"][0] for o in outcomes if not o["errored"]]
    assert {r["outcome"] for r in started} <= {"started"}
    # AND there is exactly one dataset, one execution and one acceptance
    [dataset] = _datasets(platform, model)
    [execution] = executions_of(platform, model)
    assert execution["status"] == "SUCCEEDED"
    assert {r["execution_arn"] for r in started} <= {execution["executionArn"]}
    assert len(events_for(platform, "Dataset Accepted", model)) == 1
    # AND a late replay returns the stored result
    body, errored = invoke(platform, "IngestFunction", event)
    assert not errored and body is not None
    assert body["results"][0]["execution_arn"] == execution["executionArn"]
    assert body["results"][0]["dataset_id"] == dataset["dataset_id"]


def test_the_s3_test_event_is_acknowledged_and_does_nothing(platform: Platform) -> None:
    event = json.loads((platform.cloud.root / "events" / "ingest" / "test_event.json").read_text())
    event["Bucket"] = platform.data_bucket
    known = platform.known_executions()
    body, errored = invoke(platform, "IngestFunction", event)
    assert not errored, body
    assert body == {"results": []}
    platform.cloud.wait_idle(30)
    assert platform.known_executions() == known


def test_an_older_event_arriving_after_a_newer_one_ingests_each_version_once(platform: Platform) -> None:
    # GIVEN two versions of the same key, written while notifications were held back
    model = "dup-order"
    platform.put_spec(cancer_spec(model))
    key = f"datasets/{model}/daily.csv"
    older, newer = cancer_csv(frac=0.8, seed=3), cancer_csv(frac=0.8, seed=4)
    s3 = platform.s3
    saved = s3.get_bucket_notification_configuration(Bucket=platform.data_bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=platform.data_bucket, NotificationConfiguration={})
    try:
        v1 = s3.put_object(Bucket=platform.data_bucket, Key=key, Body=older)["VersionId"]
        v2 = s3.put_object(Bucket=platform.data_bucket, Key=key, Body=newer)["VersionId"]
    finally:
        s3.put_bucket_notification_configuration(Bucket=platform.data_bucket, NotificationConfiguration=saved)
    old_event, new_event = event_for_object(platform, key, v1), event_for_object(platform, key, v2)
    # WHEN the newer event is delivered first, then the older one, then both again
    for event in (new_event, old_event, new_event, old_event):
        body, errored = invoke(platform, "IngestFunction", event)
        assert not errored, body
    wait_until_settled(platform, model)
    # THEN each content was ingested exactly once, pinned to its own bytes (not the latest object)
    expected = {hashlib.sha256(older).hexdigest(), hashlib.sha256(newer).hexdigest()}
    datasets = _datasets(platform, model)
    assert sorted(d["dataset_id"] for d in datasets) == sorted(expected)
    for d in datasets:
        stored = s3.get_object(Bucket=platform.artifact_bucket, Key=f"datasets/{d['dataset_id']}")["Body"]
        assert hashlib.sha256(stored.read()).hexdigest() == d["dataset_id"]
        assert d["source_key"] == key
    assert len(_uploads(platform, model)) == 2
    assert len(executions_of(platform, model)) == 2
    assert len(events_for(platform, "Dataset Accepted", model)) == 2


@pytest.fixture(scope="module")
def drifting(platform: Platform) -> str:
    """A champion whose captured traffic has clearly drifted from its training baseline."""
    model = "dup-drift"
    train(platform, model, monitoring={"min_samples": 30, "drift_share": 0.05})
    instances = cancer_instances(120, seed=5)
    for row in instances:
        row["mean_radius"] = row["mean_radius"] * 3 + 10
        row["worst_area"] = row["worst_area"] * 4
    response = platform.predict(model, instances)
    assert response.status_code == 200, response.text
    return model


def _scheduled_event(platform: Platform, at: datetime) -> dict[str, Any]:
    rule = next(r for r in platform.cloud.scheduler.rules() if "Drift" in r.name)
    return platform.cloud.scheduler.scheduled_event(rule, at)


def _check_of(body: dict[str, Any], model: str) -> dict[str, Any]:
    [check] = [c for c in body["checks"] if c.get("model") == model]
    return check


def test_a_drift_schedule_firing_twice_for_one_window_gives_one_report(
    platform: Platform, drifting: str
) -> None:
    model = drifting
    at = datetime.now(UTC) + timedelta(hours=1)
    event = _scheduled_event(platform, at)
    results: list[tuple[dict[str, Any] | None, bool]] = []
    barrier = threading.Barrier(2)

    def fire() -> None:
        barrier.wait()
        results.append(invoke(platform, "DriftFunction", event))

    # WHEN the same schedule time fires twice at once (EventBridge delivers at least once)
    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not errored for _, errored in results), results
    checks = [_check_of(body, model) for body, _ in results if body is not None]
    # THEN both answers name the same report; it found the drift
    assert len({c["report_id"] for c in checks}) == 1
    assert all(c["drifted"] for c in checks)
    # AND exactly one check is recorded and one alert went out
    assert len(items(platform, model, "DRIFT#")) == 1
    wait_for(lambda: events_for(platform, "Drift Detected", model), timeout=30)
    assert len(events_for(platform, "Drift Detected", model)) == 1
    # AND a third firing for the same time, through EventBridge, replays the stored result
    replay, errored = invoke(platform, "DriftFunction", {**event, "id": "another-delivery"})
    assert not errored and replay is not None
    again = _check_of(replay, model)
    assert again["duplicate"] is True and again["report_id"] == checks[0]["report_id"]
    rule = next(r.name for r in platform.cloud.scheduler.rules() if "Drift" in r.name)
    platform.cloud.fire_schedule(rule, at=at)
    platform.cloud.wait_idle(120)
    assert len(items(platform, model, "DRIFT#")) == 1
    assert len(events_for(platform, "Drift Detected", model)) == 1
