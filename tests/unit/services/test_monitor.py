"""The drift check as a user meets it, on in-memory fakes only (no moto, no AWS).

A champion with a training baseline, traffic captured in the logs, labels arriving later: the
check must flag what moved, alert once per window, stay quiet on clean traffic, measure real
accuracy from labels, and start at most one retraining per cool-down.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fakes.datain import InMemoryDatasetStore
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry, RecordingPublisher
from fakes.monitoring import (
    InMemoryCheckStore,
    InMemoryDatasetDrop,
    InMemoryLogs,
    RecordingAlerts,
)
from lockgate.domain.check import CheckResult, DriftRequest, ScheduledChecks
from lockgate.domain.dataset import DatasetRecord
from lockgate.domain.model_version import APPROVED, CHAMPION, NewModelVersion
from lockgate.domain.spec import parse_spec
from lockgate.errors import InvalidRequestError
from lockgate.services import monitor
from lockgate.services.monitor import MonitoringDeps

MODEL = "churn"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
COLOURS = np.array(["red", "green", "blue"], dtype=object)
FEATURES = ["x1", "x2", "colour"]


# ----------------------------------------------------------------------------- a small world


def frame(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, colours: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": rng.normal(shift, 1.0, n),
            "x2": rng.normal(5.0, 2.0, n),
            "colour": rng.choice(COLOURS, n, p=list(colours)),
            "y": rng.choice(np.array(["no", "yes"], dtype=object), n, p=[0.7, 0.3]),
        }
    )


def profile(df: pd.DataFrame) -> dict[str, Any]:
    numbers = {
        name: {
            "type": "number",
            "missing_fraction": 0.0,
            "min": float(df[name].min()),
            "max": float(df[name].max()),
            "sample": [float(v) for v in df[name]],
        }
        for name in ("x1", "x2")
    }
    return {
        "rows": len(df),
        "features": {
            **numbers,
            "colour": {"type": "string", "missing_fraction": 0.0, "counts": dict(Counter(df["colour"]))},
        },
        "prediction": {"type": "string", "missing_fraction": 0.0, "counts": dict(Counter(df["y"]))},
        "metrics": {"accuracy": 0.9},
    }


@dataclass
class World:
    deps: MonitoringDeps
    registry: InMemoryModelRegistry
    artifacts: InMemoryArtifacts
    checks: InMemoryCheckStore
    logs: InMemoryLogs
    drop: InMemoryDatasetDrop
    alerts: RecordingAlerts
    events: RecordingPublisher
    rng: np.random.Generator
    train_rows: int

    def capture(self, df: pd.DataFrame, *, start: datetime, end: datetime, version: int = 1) -> list[str]:
        """Rows as captured predictions spread evenly in (start, end]; returns their prediction ids."""
        span = (end - start) / len(df)
        ids: list[str] = []
        by_day: dict[str, list[dict[str, Any]]] = {}
        for i, row in enumerate(df.to_dict("records")):
            ts = start + span * (i + 1)
            pid = str(uuid.UUID(int=int(self.rng.integers(0, 2**63)) * 2**64 + i))
            ids.append(pid)
            by_day.setdefault(ts.date().isoformat(), []).append(
                {
                    "prediction_id": pid,
                    "model": MODEL,
                    "version": version,
                    "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "inputs": {k: row[k] for k in FEATURES},
                    "prediction": row["y"],
                    "probabilities": {"no": 0.8, "yes": 0.2} if row["y"] == "no" else {"no": 0.2, "yes": 0.8},
                }
            )
        for day, records in by_day.items():
            self.logs.put_records(
                "captures", MODEL, day, f"{start.isoformat()}-{len(self.logs.objects)}.jsonl", records
            )
        return ids

    def label(self, ids: list[str], labels: list[str], *, at: datetime) -> str:
        records = [
            {"prediction_id": p, "label": y, "timestamp": at.isoformat()}
            for p, y in zip(ids, labels, strict=True)
        ]
        return self.logs.put_records(
            "labels", MODEL, at.date().isoformat(), f"{at.isoformat()}.jsonl", records
        )


def world(seed: int, *, with_dataset: bool = True, **monitoring: Any) -> World:
    """A champion (version 1) trained on 500 rows, its spec, baseline and accepted dataset."""
    rng = np.random.default_rng(seed)
    events = RecordingPublisher()
    registry = InMemoryModelRegistry(publisher=RecordingPublisher())
    artifacts = InMemoryArtifacts()
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
                **monitoring,
            },
        }
    )
    train = frame(rng, 500)
    dataset = artifacts.put_bytes("datasets", train.to_csv(index=False).encode())
    version = registry.create_model_version(
        NewModelVersion(
            model=MODEL,
            status=APPROVED,
            run_id="run-1",
            dataset_id=dataset.sha256,
            model_artifact="m" * 64,
            baseline_id=artifacts.put_json("baselines", profile(train)).sha256,
            holdout_id="h" * 64,
            spec_id=artifacts.put_json("specs", spec.to_dict()).sha256,
            report_id="r" * 64,
            signature={"task": "classification", "target": "y", "classes": ["no", "yes"]},
            metrics={"accuracy": 0.9},
            params={},
            seed=0,
            environment={},
            code_version="test",
            intent="test",
        )
    )
    registry.set_alias(MODEL, CHAMPION, version.version, actor="test")
    datasets = InMemoryDatasetStore()
    if with_dataset:
        datasets.record_upload(
            DatasetRecord(
                model=MODEL,
                dataset_id=dataset.sha256,
                source_bucket="data-bucket",
                source_key=f"datasets/{MODEL}/train.csv",
                status="received",
                format="csv",
                upload_id="upload-1",
            )
        )
        datasets.mark_accepted(MODEL, dataset.sha256, rows=len(train), columns=4, report_id="v" * 64)
    checks, logs, drop, alerts = (
        InMemoryCheckStore(),
        InMemoryLogs(),
        InMemoryDatasetDrop(),
        RecordingAlerts(),
    )
    deps = MonitoringDeps(
        registry=registry,
        datasets=datasets,
        artifacts=artifacts,
        checks=checks,
        logs=logs,
        drop=drop,
        alerts=alerts,
        publisher=events,
    )
    return World(deps, registry, artifacts, checks, logs, drop, alerts, events, rng, len(train))


def drifted(w: World, n: int = 300) -> pd.DataFrame:
    return frame(w.rng, n, shift=2.0, colours=(0.2, 0.3, 0.5))


# ----------------------------------------------------------------------------- drift and alerts


def test_drifted_traffic_is_flagged_announced_and_alerted_once() -> None:
    # GIVEN a day of traffic where x1 moved by two std and blue became the commonest colour
    w = world(1)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the schedule's check runs a little after the hour
    result = monitor.run_check(MODEL, now=NOW + timedelta(minutes=7), deps=w.deps)
    # THEN exactly those features drifted, the window ended on the hour, and people were told once
    assert result.window_end == "2026-03-02T12:00:00Z" and result.drifted and not result.duplicate
    assert sorted(result.drifted_features["long"]) == ["colour", "x1"]
    assert w.events.types() == ["Drift Detected"]
    detail = w.events.of("Drift Detected")[0]
    assert detail["report_id"] == result.report_id and detail["version"] == 1 and "report" not in detail
    assert [(a.detail_type, a.model, a.version) for a in w.alerts.sent] == [("Drift Detected", MODEL, 1)]
    assert w.alerts.sent[0].detail == detail
    # AND both reports are stored, the JSON one equal to the result's body
    assert w.artifacts.get_json("reports/drift", result.report_id) == result.report
    page = w.artifacts.get_bytes("reports/drift", result.html_report_id, ext="html").decode()
    assert "<svg" in page


def test_a_second_check_of_the_same_window_is_a_duplicate_without_a_second_alert() -> None:
    # GIVEN a check that already flagged drift for the 12:00 window
    w = world(2)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW)
    first = monitor.run_check(MODEL, now=NOW + timedelta(minutes=1), deps=w.deps)
    # WHEN the schedule fires again within the same hour
    second = monitor.run_check(MODEL, now=NOW + timedelta(minutes=16), deps=w.deps)
    # THEN the stored check comes back, and nobody hears about it twice
    assert second.duplicate and second == CheckResult(**{**first.__dict__, "duplicate": True})
    assert w.events.types() == ["Drift Detected"] and len(w.alerts.sent) == 1
    assert w.deps.checks.latest(MODEL) == second


def test_clean_traffic_gives_a_clean_report_and_no_alert() -> None:
    # GIVEN traffic drawn like the training data
    w = world(3)
    w.capture(frame(w.rng, 2400), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN nothing drifted, both windows were judged, and nobody was alerted
    assert not result.drifted and result.drifted_features == {"short": [], "long": []}
    assert result.report is not None and {w["status"] for w in result.report["windows"].values()} == {
        "judged"
    }
    assert w.events.types() == [] and w.alerts.sent == []


def test_too_little_traffic_is_not_judged() -> None:
    # GIVEN only 20 captured predictions (min_samples is 50)
    w = world(4)
    w.capture(drifted(w, 20), start=NOW - timedelta(hours=2), end=NOW)
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN neither window is judged, so even shifted traffic raises nothing
    assert result.report is not None
    assert {n: x["status"] for n, x in result.report["windows"].items()} == {
        "short": "insufficient_data",
        "long": "insufficient_data",
    }
    assert not result.drifted and w.alerts.sent == []


def test_traffic_of_another_version_is_not_blamed_on_the_champion() -> None:
    # GIVEN shifted traffic served by version 2 (a canary) and clean traffic served by the champion
    w = world(5)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW, version=2)
    w.capture(frame(w.rng, 300), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN only the champion's traffic was judged
    assert result.report is not None and result.report["windows"]["long"]["rows"] == 300
    assert not result.drifted


def test_labels_revealing_lower_accuracy_raise_performance_degraded() -> None:
    # GIVEN clean traffic, and labels that disagree with 40% of the predictions
    w = world(6)
    df = frame(w.rng, 300)
    ids = w.capture(df, start=NOW - timedelta(hours=20), end=NOW - timedelta(hours=2))
    flip = w.rng.random(len(df)) < 0.4
    truth = [("yes" if y == "no" else "no") if f else y for y, f in zip(df["y"], flip, strict=True)]
    w.label(ids, truth, at=NOW - timedelta(minutes=30))
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN accuracy on labelled traffic is measured and found well below holdout (0.9)
    assert result.performance_degraded and not result.drifted
    perf = w.artifacts.get_json("reports/drift", result.report_id)["windows"]["long"]["performance"]
    assert perf["labelled"] == 300 and perf["metric"] == "accuracy"
    assert perf["value"] == pytest.approx(1 - flip.mean())
    # AND the alert carries the measured performance
    assert w.alerts.types() == ["Performance Degraded"]
    assert w.alerts.sent[0].detail["performance"]["long"]["labelled"] == 300


def test_a_check_that_loses_the_race_returns_the_winners_record_and_stays_quiet() -> None:
    # GIVEN another invocation records its check for the same window while this one computes
    w = world(7)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW)

    class Racing(InMemoryCheckStore):
        def record(self, result: CheckResult, *, baseline_id: str, created_at: datetime) -> bool:
            winner = CheckResult(**{**result.__dict__, "report_id": "w" * 64})
            super().record(winner, baseline_id=baseline_id, created_at=created_at)
            return super().record(result, baseline_id=baseline_id, created_at=created_at)

    deps = MonitoringDeps(**{**w.deps.__dict__, "checks": Racing()})
    # WHEN this invocation finishes
    result = monitor.run_check(MODEL, now=NOW, deps=deps)
    # THEN it answers with the winner's record and announces nothing (the winner did)
    assert result.duplicate and result.report_id == "w" * 64
    assert w.events.types() == [] and w.alerts.sent == []


# ----------------------------------------------------------------------------- retraining


def test_retrain_policy_drops_one_dataset_then_the_cooldown_holds() -> None:
    # GIVEN a retrain policy, drifted traffic, and labels for 120 of the 200 predictions
    w = world(8, on_drift="retrain", retrain_cooldown_minutes=180)
    df = drifted(w, 200)
    ids = w.capture(df, start=NOW - timedelta(hours=3), end=NOW)
    label_key = w.label(ids[:120], list(df["y"][:120]), at=NOW - timedelta(minutes=10))
    # WHEN the check runs, and again an hour later with the drift still there
    first = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    later = monitor.run_check(MODEL, now=NOW + timedelta(hours=1), deps=w.deps)
    # THEN one dataset was dropped: the training rows plus the labelled captures, in the parent's columns
    assert first.retraining is not None and first.retraining["status"] == "started"
    key = f"datasets/{MODEL}/retrain-20260302T120000Z.csv"
    assert first.retraining["dataset_key"] == key and list(w.drop.files) == [key]
    dropped = w.drop.files[key]
    data = pd.read_csv(io.BytesIO(dropped.body))
    assert len(data) == w.train_rows + 120 and list(data.columns) == ["x1", "x2", "colour", "y"]
    assert first.retraining["rows"] == len(data) and first.retraining["labelled_rows"] == 120
    # AND its lineage travels with it: parent dataset, drift report and manifest
    parent = w.deps.registry.get_version_by_alias(MODEL, CHAMPION).dataset_id
    assert dropped.content_type == "text/csv"
    assert dropped.metadata == {
        "lockgate-trigger": "drift",
        "lockgate-parents": parent,
        "lockgate-drift-report": first.report_id,
        "lockgate-retrain-manifest": first.retraining["manifest_id"],
    }
    manifest = w.artifacts.get_json("retrain", first.retraining["manifest_id"])
    assert manifest["label_keys"] == [label_key] and manifest["parents"] == [parent]
    # AND the event counts the source files instead of listing them
    (started,) = w.events.of("Retraining Started")
    assert started["label_files"] == 1 and "label_keys" not in started
    assert started["data_bucket"] == w.drop.bucket and started["dataset_key"] == key
    # AND the check record remembers it
    stored = w.deps.checks.get(MODEL, NOW)
    assert stored is not None and stored.retraining == first.retraining
    # AND an hour later the cool-down holds: still drifted, no second dataset
    assert later.drifted and later.retraining is not None and later.retraining["status"] == "skipped"
    assert "cool-down" in later.retraining["reason"] and len(w.drop.files) == 1


def test_retraining_after_the_cooldown_starts_again() -> None:
    # GIVEN a retraining started at 12:00 with a 60-minute cool-down
    w = world(9, on_drift="retrain", retrain_cooldown_minutes=60)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW + timedelta(hours=2))
    monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # WHEN drift persists two hours later
    later = monitor.run_check(MODEL, now=NOW + timedelta(hours=2), deps=w.deps)
    # THEN a second retraining starts
    assert later.retraining is not None and later.retraining["status"] == "started"
    assert len(w.drop.files) == 2


def test_without_data_or_labels_there_is_nothing_to_retrain_on() -> None:
    # GIVEN a retrain policy, drifted traffic, no labels and no accepted dataset on record
    w = world(10, with_dataset=False, on_drift="retrain")
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN drift is reported but no dataset is dropped, and the reason says why
    assert result.drifted and result.retraining == {
        "status": "skipped",
        "reason": "no accepted dataset and no labelled traffic to train on",
    }
    assert w.drop.files == {} and "Retraining Started" not in w.events.types()


def test_the_alert_policy_never_retrains() -> None:
    # GIVEN the default policy (alert) and drifted traffic
    w = world(11)
    w.capture(drifted(w), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN the check runs
    result = monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # THEN people are alerted and nothing is retrained
    assert result.drifted and result.retraining is None and w.drop.files == {}


# ----------------------------------------------------------------------------- the function's requests


def test_the_schedule_checks_every_model_and_skips_one_without_a_champion() -> None:
    # GIVEN a champion with traffic, and a second model registered but never promoted
    w = world(12)
    w.capture(frame(w.rng, 200), start=NOW - timedelta(hours=24), end=NOW)
    w.registry.create_model_version(_pending("fresh"))
    # WHEN the schedule wakes at 12:05
    request = DriftRequest.from_event(
        {"detail-type": "Scheduled Event", "time": "2026-03-02T12:05:00Z"}, received_at=NOW
    )
    out = monitor.handle(request, w.deps)
    # THEN the champion's 12:00 window is checked and the other model is skipped with the reason
    assert isinstance(out, ScheduledChecks)
    body = out.to_dict()
    assert body["now"] == "2026-03-02T12:05:00Z"
    checks = {c["model"]: c for c in body["checks"]}
    assert checks[MODEL]["window_end"] == "2026-03-02T12:00:00Z" and "report" in checks[MODEL]
    assert checks["fresh"]["skipped"] and checks["fresh"]["error"] == "AliasNotFound"


def _pending(model: str) -> NewModelVersion:
    return NewModelVersion(
        model=model,
        status="PendingManualApproval",
        run_id="run-fresh",
        dataset_id="d" * 64,
        model_artifact="m" * 64,
        baseline_id="b" * 64,
        holdout_id="h" * 64,
        spec_id="s" * 64,
        report_id="r" * 64,
        signature={},
        metrics={},
        params={},
        seed=0,
        environment={},
        code_version="test",
        intent="test",
    )


def test_a_direct_check_always_carries_its_report_even_when_it_is_a_duplicate() -> None:
    # GIVEN a check already recorded for the 12:00 window
    w = world(13)
    w.capture(frame(w.rng, 200), start=NOW - timedelta(hours=24), end=NOW)
    monitor.run_check(MODEL, now=NOW, deps=w.deps)
    # WHEN a user asks for a check of that window again
    request = DriftRequest.from_event({"model": MODEL, "now": "2026-03-02T12:30:00Z"}, received_at=NOW)
    out = monitor.handle(request, w.deps)
    # THEN the stored verdict comes back with the full report body, for the CLI to print
    assert isinstance(out, CheckResult) and out.duplicate
    body = out.to_dict()
    assert body["report"] == w.artifacts.get_json("reports/drift", out.report_id)


def test_a_forced_check_ends_its_window_at_now() -> None:
    # GIVEN traffic
    w = world(14)
    w.capture(frame(w.rng, 200), start=NOW - timedelta(hours=24), end=NOW)
    # WHEN `lockgate drift churn --now` runs at 12:07
    request = DriftRequest.from_event(
        {"model": MODEL, "now": "2026-03-02T12:07:00Z", "force": True}, received_at=NOW
    )
    out = monitor.handle(request, w.deps)
    # THEN the window ends at 12:07, not on the hour
    assert isinstance(out, CheckResult) and out.window_end == "2026-03-02T12:07:00Z"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"detail-type": "Scheduled Event", "time": "2026-03-02T12:05:09Z"},
            DriftRequest(NOW + timedelta(seconds=309)),
        ),
        ({"model": "m", "now": "2026-03-02T13:00:00+01:00"}, DriftRequest(NOW, "m")),
        ({"model": "m", "force": True}, DriftRequest(NOW + timedelta(minutes=1), "m", force=True)),
    ],
)
def test_the_drift_function_reads_the_schedule_or_a_model(
    event: dict[str, Any], expected: DriftRequest
) -> None:
    # GIVEN an event, WHEN it is parsed, THEN the time is the schedule's or the caller's (or now)
    assert DriftRequest.from_event(event, received_at=NOW + timedelta(minutes=1, microseconds=5)) == expected


@pytest.mark.parametrize("event", [{}, {"model": ""}, {"model": 3}, {"model": "m", "now": "yesterday"}])
def test_anything_else_is_refused_as_an_invalid_request(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        DriftRequest.from_event(event, received_at=NOW)
