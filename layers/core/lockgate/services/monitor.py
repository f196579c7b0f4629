"""Monitoring: scheduled drift checks, delayed-label performance, alerts and retraining.

A check compares the champion's captured traffic in two windows ending at ``window_end`` (a short
one for sudden spikes, a long one for slow drift) with the version's training baseline, joins
ground-truth labels to captured predictions to measure real performance, writes a JSON and an HTML
report (content-addressed), records the check with a conditional write (so a schedule that fires
twice yields one report), announces ``Drift Detected`` / ``Performance Degraded`` on the bus and
to the alerts, and, when the spec says ``retrain`` and the cool-down allows, drops a retraining
dataset where the ingest trigger registers it and runs it through every gate.

Times come from the caller (the schedule's ``time``), never the wall clock, so an accelerated
clock works. Everything outside comes in through :class:`MonitoringDeps` (ports only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lockgate.domain import events
from lockgate.domain.check import (
    CheckResult,
    DriftRequest,
    LogRead,
    ScheduledChecks,
    SkippedCheck,
    retraining_dataset_key,
)
from lockgate.domain.model_version import CHAMPION, ModelVersion
from lockgate.domain.spec import ModelSpec, parse_spec
from lockgate.domain.time import iso, parse_time, window_end
from lockgate.errors import LockgateError
from lockgate.ml.drift import DriftConfig, detect_drift
from lockgate.ml.performance import holdout_metrics, measure_performance
from lockgate.ml.retraining import retraining_csv
from lockgate.ports import (
    Alerts,
    ArtifactStore,
    CheckStore,
    DatasetDrop,
    DatasetStore,
    LogReader,
    ModelRegistry,
    Publisher,
)
from lockgate.reports.drift_report import DriftReport, WindowReport, render_html


@dataclass(frozen=True)
class MonitoringDeps:
    """The ports a check uses; the drift function builds them once per warm container."""

    registry: ModelRegistry
    datasets: DatasetStore
    artifacts: ArtifactStore
    checks: CheckStore
    logs: LogReader
    drop: DatasetDrop
    alerts: Alerts
    publisher: Publisher


# --------------------------------------------------------------------------- the check


def _columns(records: list[dict[str, Any]], features: Iterable[str]) -> dict[str, list[Any]]:
    return {name: [(r.get("inputs") or {}).get(name) for r in records] for name in features}


def _window(
    name: str,
    captures: list[dict[str, Any]],
    *,
    start: datetime,
    end: datetime,
    baseline: Mapping[str, Any],
    spec: ModelSpec,
    performance: dict[str, Any] | None,
) -> WindowReport:
    rows = [c for c in captures if start < parse_time(str(c["timestamp"])) <= end]
    result = None
    if len(rows) >= spec.monitoring.min_samples:
        result = detect_drift(
            reference=baseline,
            current=_columns(rows, baseline.get("features", {})),
            current_predictions=[r.get("prediction") for r in rows],
            config=DriftConfig.from_monitoring(spec.monitoring),
        )
    return WindowReport(
        name=name,
        start=iso(start),
        end=iso(end),
        rows=len(rows),
        min_samples=spec.monitoring.min_samples,
        result=result,
        performance=performance,
    )


def run_check(model: str, *, now: datetime, deps: MonitoringDeps, force: bool = False) -> CheckResult:
    """Check one model's champion for drift and degraded performance at ``now``.

    The window ends at ``now`` floored to the spec's cadence (``force``: at ``now`` itself, for
    ``lockgate drift <model> --now``). A check already recorded for that window end is returned
    as stored (``duplicate=True``) without writing or announcing anything again.
    """
    now = parse_time(now)
    version = deps.registry.get_version_by_alias(model, CHAMPION)
    spec = parse_spec(deps.artifacts.get_json("specs", version.spec_id))
    mon = spec.monitoring
    end = now if force else window_end(now, mon.cadence_minutes)
    existing = deps.checks.get(model, end)
    if existing is not None:
        return existing
    baseline = deps.artifacts.get_json("baselines", version.baseline_id)
    long_start = end - timedelta(minutes=mon.long_window_minutes)
    short_start = end - timedelta(minutes=mon.short_window_minutes)
    captured = deps.logs.read("captures", model, min(long_start, short_start), end)
    mine = [c for c in captured.records if int(c.get("version", version.version)) == version.version]
    labels_read = deps.logs.read("labels", model, min(long_start, short_start), max(end, now))
    labels = {str(r["prediction_id"]): r["label"] for r in labels_read.records if "prediction_id" in r}
    holdout = holdout_metrics(baseline, version.metrics)
    windows = []
    for name, start in (("short", short_start), ("long", long_start)):
        in_window = [c for c in mine if start < parse_time(str(c["timestamp"])) <= end]
        perf = measure_performance(
            in_window,
            labels,
            spec=spec,
            signature=version.signature,
            holdout=holdout,
            min_samples=mon.min_samples,
        )
        windows.append(
            _window(name, mine, start=start, end=end, baseline=baseline, spec=spec, performance=perf)
        )
    report = DriftReport(
        model=model,
        version=version.version,
        baseline_id=version.baseline_id,
        window_end=iso(end),
        windows=tuple(windows),
    )
    body = report.to_dict()
    json_ref = deps.artifacts.put_json("reports/drift", body)
    html_ref = deps.artifacts.put_bytes(
        "reports/drift", render_html(report).encode(), ext="html", content_type="text/html; charset=utf-8"
    )
    result = CheckResult(
        model=model,
        version=version.version,
        window_end=iso(end),
        report_id=json_ref.sha256,
        html_report_id=html_ref.sha256,
        drifted=report.drifted,
        performance_degraded=report.performance_degraded,
        drifted_features=report.drifted_features,
        report=body,
    )
    if not deps.checks.record(result, baseline_id=version.baseline_id, created_at=now):
        stored = deps.checks.get(model, end)
        assert stored is not None
        return stored
    _announce(deps, result, version)
    if mon.on_drift == "retrain" and (result.drifted or result.performance_degraded):
        retraining = start_retraining(
            deps,
            model,
            now=now,
            end=end,
            spec=spec,
            version=version,
            report_id=result.report_id,
            captures=captured,
            labels=labels,
            label_keys=labels_read.keys,
        )
        deps.checks.set_retraining(model, end, retraining)
        result = replace(result, retraining=retraining)
    return result


def _announce(deps: MonitoringDeps, result: CheckResult, version: ModelVersion) -> None:
    detail = {k: v for k, v in result.to_dict().items() if k not in ("report", "retraining", "duplicate")}
    detail["baseline_id"] = version.baseline_id
    perf = {
        name: w.get("performance")
        for name, w in (result.report or {}).get("windows", {}).items()
        if w.get("performance")
    }
    alerts = []
    if result.drifted:
        alerts.append((events.DRIFT_DETECTED, detail))
    if result.performance_degraded:
        alerts.append((events.PERFORMANCE_DEGRADED, {**detail, "performance": perf}))
    for detail_type, body in alerts:
        deps.publisher(detail_type, body)
        deps.alerts.alert(detail_type, body, model=result.model, version=result.version)


# --------------------------------------------------------------------------- retraining


def start_retraining(
    deps: MonitoringDeps,
    model: str,
    *,
    now: datetime,
    end: datetime,
    spec: ModelSpec,
    version: ModelVersion,
    report_id: str,
    captures: LogRead,
    labels: Mapping[str, Any],
    label_keys: list[str],
) -> dict[str, Any]:
    """Drop ``datasets/<model>/retrain-<window>.csv`` = last accepted data + labelled captures.

    The ingest trigger then registers it as a content-addressed dataset and runs it through every
    gate. Lineage travels as object metadata (parent dataset, report, manifest id) and in the
    ``Retraining Started`` event; the full list of source objects is a ``retrain/<sha>.json``
    manifest in the artifact bucket.
    """
    cooldown = spec.monitoring.retrain_cooldown_minutes
    if not deps.checks.claim_retraining(model, now=now, cooldown_minutes=cooldown):
        return {
            "status": "skipped",
            "reason": f"cool-down: a retraining started less than {cooldown} minutes ago",
        }
    labelled = [c for c in captures.records if c.get("prediction_id") in labels]
    feedback = [{**(c.get("inputs") or {}), spec.target: labels[c["prediction_id"]]} for c in labelled]
    parent = deps.datasets.last_accepted(model)
    source = None
    if parent is not None:
        source = (deps.artifacts.get_bytes("datasets", parent.dataset_id), parent.format or "csv")
    built = retraining_csv(source, feedback)
    if built is None:
        return {"status": "skipped", "reason": "no accepted dataset and no labelled traffic to train on"}
    data, rows = built
    parents = [parent.dataset_id] if parent else []
    capture_keys = sorted(set(captures.keys))
    manifest: dict[str, Any] = {
        "model": model,
        "trigger": "drift",
        "window_end": iso(end),
        "champion_version": version.version,
        "drift_report_id": report_id,
        "parents": parents,
        "capture_keys": capture_keys,
        "label_keys": sorted(label_keys),
        "labelled_rows": len(labelled),
    }
    manifest_ref = deps.artifacts.put_json("retrain", manifest)
    key = retraining_dataset_key(model, end)
    deps.drop.put(
        key,
        data,
        content_type="text/csv",
        metadata={
            "lockgate-trigger": "drift",
            "lockgate-parents": ",".join(parents),
            "lockgate-drift-report": report_id,
            "lockgate-retrain-manifest": manifest_ref.sha256,
        },
    )
    retraining = {
        "status": "started",
        "dataset_key": key,
        "rows": rows,
        "labelled_rows": len(labelled),
        "parents": parents,
        "manifest_id": manifest_ref.sha256,
    }
    # The event names the manifest instead of listing every source object: EventBridge caps an
    # event at 256 KB, and a busy model has thousands of capture files per window.
    summary = {k: v for k, v in manifest.items() if k not in ("capture_keys", "label_keys")}
    summary |= {"capture_files": len(capture_keys), "label_files": len(label_keys)}
    deps.publisher(events.RETRAINING_STARTED, {**summary, **retraining, "data_bucket": deps.drop.bucket})
    return retraining


# --------------------------------------------------------------------------- entry points


def run_scheduled(now: datetime, deps: MonitoringDeps) -> ScheduledChecks:
    """Every model with a champion whose cadence window has not been checked yet.

    The schedule wakes more often than most cadences; a model is due when no check is recorded for
    ``floor(now, cadence)`` — so a missed wake is caught up and a repeated one is a no-op.
    """
    checks: list[CheckResult | SkippedCheck] = []
    for entry in deps.registry.list_models():
        model = entry.model
        try:
            checks.append(run_check(model, now=now, deps=deps))
        except LockgateError as exc:  # no champion yet, missing baseline: that model only
            checks.append(SkippedCheck(model, exc.to_dict()))
    return ScheduledChecks(now=parse_time(now), checks=tuple(checks))


def handle(request: DriftRequest, deps: MonitoringDeps) -> CheckResult | ScheduledChecks:
    """The drift function's work: the schedule's sweep, or one model's check with its full report.

    A direct check always carries the report body (fetched from the artifact store when the check
    was a duplicate), so ``lockgate drift <model> --now`` can print it.
    """
    if request.model is None:
        return run_scheduled(request.now, deps)
    result = run_check(request.model, now=request.now, deps=deps, force=request.force)
    if result.report is None:
        result = replace(result, report=deps.artifacts.get_json("reports/drift", result.report_id))
    return result
