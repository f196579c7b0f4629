"""Monitoring: scheduled drift checks, delayed-label performance, alerts and retraining.

A check compares the champion's captured traffic in two windows ending at ``window_end`` (a short
one for sudden spikes, a long one for slow drift) with the version's training baseline, joins
ground-truth labels to captured predictions to measure real performance, writes a JSON and an HTML
report (content-addressed), records ``DRIFT#<window end>`` in the registry with a conditional put
(so a schedule that fires twice yields one report), announces ``Drift Detected`` /
``Performance Degraded`` on the bus and the alerts topic, and, when the spec says ``retrain`` and
the cool-down allows, writes a retraining dataset into the data bucket, where the ingest trigger
registers it and runs it through every gate.

Times come from the caller (the schedule's ``time``), never the wall clock, so an accelerated
clock works.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from botocore.exceptions import ClientError

from lockgate.adapters import aws, eventbridge
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain import events
from lockgate.domain.spec import LOWER_IS_BETTER, ModelSpec, parse_spec
from lockgate.errors import InvalidRequestError, LockgateError
from lockgate.ml.drift import DriftConfig, detect_drift
from lockgate.reports.drift_report import DriftReport, WindowReport, render_html
from lockgate.services.labels import json_line

CHAMPION = "champion"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRAIN_SK = "RETRAIN#LATEST"


class ChampionVersion(Protocol):
    """What a check needs from a model version (``lockgate.adapters.dynamodb.registry.ModelVersion`` satisfies it)."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def baseline_id(self) -> str: ...
    @property
    def spec_id(self) -> str: ...
    @property
    def dataset_id(self) -> str: ...
    @property
    def metrics(self) -> Mapping[str, Any]: ...
    @property
    def signature(self) -> Mapping[str, Any]: ...


class ModelRegistry(Protocol):
    def get_version_by_alias(self, model: str, alias: str) -> ChampionVersion: ...
    def list_models(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class MonitoringDeps:
    """The adapters a check uses; built once per warm container by :func:`default_deps`."""

    registry: ModelRegistry
    artifacts: S3ArtifactStore
    table_name: str
    data_bucket: str
    alerts_topic_arn: str = ""
    publish: Callable[[str, dict[str, Any]], None] = eventbridge.publish

    @property
    def s3(self) -> Any:
        return self.artifacts.s3

    @property
    def ddb(self) -> Any:
        return aws.client("dynamodb")


def default_deps() -> MonitoringDeps:
    """Adapters from the function's environment (registry, artifact bucket, table, topic)."""
    from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry

    cfg = settings()
    cfg.require("artifact_bucket", "registry_table", "data_bucket")
    return MonitoringDeps(
        registry=DynamoDBModelRegistry(cfg.registry_table),
        artifacts=S3ArtifactStore(cfg.artifact_bucket),
        table_name=cfg.registry_table,
        data_bucket=cfg.data_bucket,
        alerts_topic_arn=cfg.alerts_topic_arn,
    )


# --------------------------------------------------------------------------- time


def parse_time(value: str | datetime) -> datetime:
    """An ISO 8601 instant (``Z`` or offset) as an aware UTC datetime, truncated to the second."""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidRequestError(f"not an ISO 8601 time: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_end(now: datetime, cadence_minutes: int) -> datetime:
    """The latest multiple of the cadence (counted from the Unix epoch) at or before ``now``."""
    step = cadence_minutes * 60
    seconds = int((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=seconds - seconds % step)


def _dates(start: datetime, end: datetime) -> list[str]:
    day, last, out = start.date(), end.date(), []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


# --------------------------------------------------------------------------- logs in S3


@dataclass(frozen=True)
class LogRead:
    records: list[dict[str, Any]]
    keys: list[str]


def read_log(deps: MonitoringDeps, kind: str, model: str, start: datetime, end: datetime) -> LogRead:
    """Records of ``<kind>/<model>/date=…/`` objects with ``start < timestamp <= end``."""
    records: list[dict[str, Any]] = []
    keys: list[str] = []
    paginator = deps.s3.get_paginator("list_objects_v2")
    for day in _dates(start, end):
        prefix = f"{kind}/{model}/date={day}/"
        for page in paginator.paginate(Bucket=deps.artifacts.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = deps.s3.get_object(Bucket=deps.artifacts.bucket, Key=obj["Key"])["Body"].read()
                found = False
                for line in body.decode("utf-8", errors="replace").splitlines():
                    record = json_line(line)
                    if record is None or not record.get("timestamp"):
                        continue
                    try:
                        ts = parse_time(str(record["timestamp"]))
                    except InvalidRequestError:
                        continue
                    if start < ts <= end:
                        records.append(record)
                        found = True
                if found:
                    keys.append(obj["Key"])
    return LogRead(records, keys)


# --------------------------------------------------------------------------- performance


def _label_key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def classification_metrics(
    labels: list[str],
    predicted: list[str],
    probabilities: list[Mapping[str, float] | None],
    classes: list[str],
) -> dict[str, float]:
    """accuracy, macro F1 (or F1 of the positive class when binary), ROC AUC and log loss."""
    y = np.array(labels, dtype=object)
    yhat = np.array(predicted, dtype=object)
    out: dict[str, float] = {"accuracy": float(np.mean(y == yhat))}
    classes = classes or sorted(set(labels) | set(predicted))
    f1s = []
    for cls in classes:
        tp = float(np.sum((yhat == cls) & (y == cls)))
        fp = float(np.sum((yhat == cls) & (y != cls)))
        fn = float(np.sum((yhat != cls) & (y == cls)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    out["f1"] = f1s[-1] if len(classes) == 2 else float(np.mean(f1s))
    if probabilities and all(p for p in probabilities):
        probs = np.array([[float(p.get(c, 0.0)) for c in classes] for p in probabilities if p])
        onehot = np.array([[lab == c for c in classes] for lab in labels], dtype=bool)
        out["log_loss"] = (
            float(-np.mean(np.log(np.clip(probs[onehot], 1e-15, 1.0))))
            if onehot.any(axis=1).all()
            else math.nan
        )
        aucs = [_auc(onehot[:, i], probs[:, i]) for i in range(len(classes))]
        valid = [a for a in aucs if not math.isnan(a)]
        if valid:
            out["roc_auc"] = aucs[-1] if len(classes) == 2 else float(np.mean(valid))
    return {k: v for k, v in out.items() if not math.isnan(v)}


def _auc(positive: np.ndarray[Any, Any], score: np.ndarray[Any, Any]) -> float:
    """ROC AUC by the Mann-Whitney rank statistic (ties averaged)."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def regression_metrics(labels: list[float], predicted: list[float]) -> dict[str, float]:
    y = np.asarray(labels, dtype=np.float64)
    yhat = np.asarray(predicted, dtype=np.float64)
    err = y - yhat
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out = {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
    if ss_tot > 0:
        out["r2"] = 1 - float(np.sum(err**2)) / ss_tot
    return out


def _holdout_metrics(baseline: Mapping[str, Any], version: ChampionVersion) -> Mapping[str, Any]:
    metrics = baseline.get("metrics") or version.metrics or {}
    nested = metrics.get("holdout")
    return nested if isinstance(nested, Mapping) else metrics


def measure_performance(
    captures: list[dict[str, Any]],
    labels: Mapping[str, Any],
    *,
    spec: ModelSpec,
    signature: Mapping[str, Any],
    holdout: Mapping[str, Any],
    min_samples: int,
) -> dict[str, Any] | None:
    """Join labels to captured predictions by ``prediction_id`` and compare with holdout metrics.

    A higher-is-better metric (accuracy, f1, roc_auc, r2) is degraded when it falls more than
    ``performance_drop`` below holdout; a loss (rmse, mae, log_loss) when it rises by more than that
    fraction of its holdout value (losses have units, so an absolute drop would mean nothing).
    """
    joined = [(c, labels[c["prediction_id"]]) for c in captures if c.get("prediction_id") in labels]
    if not joined:
        return None
    metric = spec.primary_metric
    if spec.task == "classification":
        classes = [str(c) for c in signature.get("classes") or []]
        measured = classification_metrics(
            [_label_key(lab) for _, lab in joined],
            [_label_key(c.get("prediction")) for c, _ in joined],
            [c.get("probabilities") for c, _ in joined],
            classes,
        )
    else:
        measured = regression_metrics(
            [float(lab) for _, lab in joined], [float(c["prediction"]) for c, _ in joined]
        )
    value, base = measured.get(metric), holdout.get(metric)
    drop = None
    if value is not None and isinstance(base, (int, float)):
        drop = (value - base) / abs(base) if metric in LOWER_IS_BETTER and base else float(base) - value
    enough = len(joined) >= min_samples
    return {
        "labelled": len(joined),
        "metric": metric,
        "value": value,
        "holdout": base,
        "drop": drop,
        "threshold": spec.monitoring.performance_drop,
        "judged": enough,
        "degraded": bool(enough and drop is not None and drop > spec.monitoring.performance_drop),
        "metrics": measured,
    }


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class CheckResult:
    """What a check did: the report ids, verdicts and (when started) the retraining."""

    model: str
    version: int
    window_end: str
    report_id: str
    html_report_id: str
    drifted: bool
    performance_degraded: bool
    drifted_features: dict[str, list[str]]
    duplicate: bool = False
    retraining: dict[str, Any] | None = None
    report: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        body = {
            "model": self.model,
            "version": self.version,
            "window_end": self.window_end,
            "report_id": self.report_id,
            "report_key": f"reports/drift/{self.report_id}.json",
            "html_report_key": f"reports/drift/{self.html_report_id}.html",
            "drifted": self.drifted,
            "performance_degraded": self.performance_degraded,
            "drifted_features": self.drifted_features,
            "duplicate": self.duplicate,
            "retraining": self.retraining,
        }
        if self.report is not None:
            body["report"] = self.report
        return body


def _drift_sk(end: datetime) -> str:
    return f"DRIFT#{iso(end)}"


def _stored_result(item: Mapping[str, Any]) -> CheckResult:
    return CheckResult(
        model=item["model"]["S"],
        version=int(item["version"]["N"]),
        window_end=item["window_end"]["S"],
        report_id=item["report_id"]["S"],
        html_report_id=item["html_report_id"]["S"],
        drifted=item["drifted"]["BOOL"],
        performance_degraded=item["performance_degraded"]["BOOL"],
        drifted_features=json.loads(item["drifted_features"]["S"]),
        duplicate=True,
        retraining=json.loads(item["retraining"]["S"]) if "retraining" in item else None,
    )


def get_check(deps: MonitoringDeps, model: str, end: datetime) -> CheckResult | None:
    item = deps.ddb.get_item(
        TableName=deps.table_name,
        Key={"pk": {"S": f"MODEL#{model}"}, "sk": {"S": _drift_sk(end)}},
        ConsistentRead=True,
    ).get("Item")
    return _stored_result(item) if item else None


def latest_check(deps: MonitoringDeps, model: str) -> CheckResult | None:
    """The most recent check of a model (``lockgate drift <model>``)."""
    items = deps.ddb.query(
        TableName=deps.table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": {"S": f"MODEL#{model}"}, ":sk": {"S": "DRIFT#"}},
        ScanIndexForward=False,
        Limit=1,
    ).get("Items", [])
    return _stored_result(items[0]) if items else None


def load_spec_snapshot(deps: MonitoringDeps, version: ChampionVersion) -> ModelSpec:
    return parse_spec(deps.artifacts.get_json("specs", version.spec_id))


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
    version = deps.registry.get_version_by_alias(model, CHAMPION)
    spec = load_spec_snapshot(deps, version)
    mon = spec.monitoring
    end = parse_time(now) if force else window_end(parse_time(now), mon.cadence_minutes)
    existing = get_check(deps, model, end)
    if existing is not None:
        return existing
    baseline = deps.artifacts.get_json("baselines", version.baseline_id)
    long_start = end - timedelta(minutes=mon.long_window_minutes)
    short_start = end - timedelta(minutes=mon.short_window_minutes)
    captured = read_log(deps, "captures", model, min(long_start, short_start), end)
    mine = [c for c in captured.records if int(c.get("version", version.version)) == version.version]
    labels_read = read_log(deps, "labels", model, min(long_start, short_start), max(end, parse_time(now)))
    labels = {str(r["prediction_id"]): r["label"] for r in labels_read.records if "prediction_id" in r}
    holdout = _holdout_metrics(baseline, version)
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
    if not _record_check(deps, result, version, now=parse_time(now)):
        stored = get_check(deps, model, end)
        assert stored is not None
        return stored
    _announce(deps, result, version)
    if mon.on_drift == "retrain" and (result.drifted or result.performance_degraded):
        retraining = start_retraining(
            deps,
            model,
            now=parse_time(now),
            end=end,
            spec=spec,
            version=version,
            report_id=result.report_id,
            captures=captured,
            labels=labels,
            label_keys=labels_read.keys,
        )
        _set_retraining(deps, model, end, retraining)
        result = CheckResult(**{**result.__dict__, "retraining": retraining})
    return result


def _record_check(
    deps: MonitoringDeps, result: CheckResult, version: ChampionVersion, *, now: datetime
) -> bool:
    """Conditional put of ``DRIFT#<window end>``: False when another invocation got there first."""
    try:
        deps.ddb.put_item(
            TableName=deps.table_name,
            Item={
                "pk": {"S": f"MODEL#{result.model}"},
                "sk": {"S": _drift_sk(parse_time(result.window_end))},
                "model": {"S": result.model},
                "version": {"N": str(result.version)},
                "baseline_id": {"S": version.baseline_id},
                "window_end": {"S": result.window_end},
                "report_id": {"S": result.report_id},
                "html_report_id": {"S": result.html_report_id},
                "drifted": {"BOOL": result.drifted},
                "performance_degraded": {"BOOL": result.performance_degraded},
                "drifted_features": {"S": json.dumps(result.drifted_features)},
                "created_at": {"S": iso(now)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _set_retraining(deps: MonitoringDeps, model: str, end: datetime, retraining: dict[str, Any]) -> None:
    deps.ddb.update_item(
        TableName=deps.table_name,
        Key={"pk": {"S": f"MODEL#{model}"}, "sk": {"S": _drift_sk(end)}},
        UpdateExpression="SET retraining = :r",
        ExpressionAttributeValues={":r": {"S": json.dumps(retraining, default=str)}},
    )


def _announce(deps: MonitoringDeps, result: CheckResult, version: ChampionVersion) -> None:
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
        deps.publish(detail_type, body)
        if deps.alerts_topic_arn:
            aws.client("sns").publish(
                TopicArn=deps.alerts_topic_arn,
                Subject=f"Lockgate: {detail_type} ({result.model} v{result.version})"[:100],
                Message=json.dumps({"detail-type": detail_type, "detail": body}, indent=2, default=str),
            )


# --------------------------------------------------------------------------- retraining


def _claim_retraining(deps: MonitoringDeps, model: str, *, now: datetime, cooldown_minutes: int) -> bool:
    """Conditional write on ``RETRAIN#LATEST``: only one retraining per cool-down, even under races."""
    cutoff = iso(now - timedelta(minutes=cooldown_minutes))
    try:
        deps.ddb.put_item(
            TableName=deps.table_name,
            Item={"pk": {"S": f"MODEL#{model}"}, "sk": {"S": RETRAIN_SK}, "started_at": {"S": iso(now)}},
            ConditionExpression="attribute_not_exists(pk) OR started_at <= :cutoff",
            ExpressionAttributeValues={":cutoff": {"S": cutoff}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _last_accepted_dataset(deps: MonitoringDeps, model: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": deps.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": {"S": f"MODEL#{model}"}, ":sk": {"S": "DATASET#"}},
    }
    while True:
        page = deps.ddb.query(**kwargs)
        items += [i for i in page.get("Items", []) if i.get("status", {}).get("S") == "accepted"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if not items:
        return None
    best = max(items, key=lambda i: i.get("created_at", {}).get("S", ""))
    return {"dataset_id": best["dataset_id"]["S"], "format": best.get("format", {}).get("S", "csv")}


def _read_dataset(data: bytes, fmt: str) -> Any:
    import pandas as pd

    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data), compression="gzip" if fmt in ("csv.gz", "gzip") else None)


def start_retraining(
    deps: MonitoringDeps,
    model: str,
    *,
    now: datetime,
    end: datetime,
    spec: ModelSpec,
    version: ChampionVersion,
    report_id: str,
    captures: LogRead,
    labels: Mapping[str, Any],
    label_keys: list[str],
) -> dict[str, Any]:
    """Write ``datasets/<model>/retrain-<window>.csv`` = last accepted data + labelled captures.

    The ingest trigger then registers it as a content-addressed dataset and runs it through every
    gate. Lineage travels as object metadata (parent dataset, report, manifest id) and in the
    ``Retraining Started`` event; the full list of source objects is a ``retrain/<sha>.json``
    manifest in the artifact bucket.
    """
    import pandas as pd

    if not _claim_retraining(deps, model, now=now, cooldown_minutes=spec.monitoring.retrain_cooldown_minutes):
        return {
            "status": "skipped",
            "reason": "cool-down: a retraining started less than "
            f"{spec.monitoring.retrain_cooldown_minutes} minutes ago",
        }
    labelled = [c for c in captures.records if c.get("prediction_id") in labels]
    feedback = pd.DataFrame(
        [{**(c.get("inputs") or {}), spec.target: labels[c["prediction_id"]]} for c in labelled]
    )
    parent = _last_accepted_dataset(deps, model)
    frames = []
    if parent is not None:
        frames.append(
            _read_dataset(deps.artifacts.get_bytes("datasets", parent["dataset_id"]), parent["format"])
        )
    if not feedback.empty:
        frames.append(feedback)
    if not frames:
        return {"status": "skipped", "reason": "no accepted dataset and no labelled traffic to train on"}
    combined = pd.concat(frames, ignore_index=True, sort=False)
    if parent is not None:
        combined = combined[[c for c in frames[0].columns]]
    manifest = {
        "model": model,
        "trigger": "drift",
        "window_end": iso(end),
        "champion_version": version.version,
        "drift_report_id": report_id,
        "parents": [parent["dataset_id"]] if parent else [],
        "capture_keys": sorted({k for k in captures.keys}),
        "label_keys": sorted(label_keys),
        "labelled_rows": len(labelled),
    }
    manifest_ref = deps.artifacts.put_json("retrain", manifest)
    key = f"datasets/{model}/retrain-{end.strftime('%Y%m%dT%H%M%SZ')}.csv"
    deps.s3.put_object(
        Bucket=deps.data_bucket,
        Key=key,
        Body=combined.to_csv(index=False).encode(),
        ContentType="text/csv",
        Metadata={
            "lockgate-trigger": "drift",
            "lockgate-parents": ",".join(manifest["parents"]),  # type: ignore[arg-type]
            "lockgate-drift-report": report_id,
            "lockgate-retrain-manifest": manifest_ref.sha256,
        },
    )
    retraining = {
        "status": "started",
        "dataset_key": key,
        "rows": len(combined),
        "labelled_rows": len(labelled),
        "parents": manifest["parents"],
        "manifest_id": manifest_ref.sha256,
    }
    # The event names the manifest instead of listing every source object: EventBridge caps an
    # event at 256 KB, and a busy model has thousands of capture files per window.
    summary = {k: v for k, v in manifest.items() if k not in ("capture_keys", "label_keys")}
    summary |= {"capture_files": len(manifest["capture_keys"]), "label_files": len(manifest["label_keys"])}  # type: ignore[arg-type]
    deps.publish(events.RETRAINING_STARTED, {**summary, **retraining, "data_bucket": deps.data_bucket})
    return retraining


# --------------------------------------------------------------------------- entry points


def run_scheduled(now: datetime, deps: MonitoringDeps) -> list[dict[str, Any]]:
    """Every model with a champion whose cadence window has not been checked yet.

    The schedule wakes more often than most cadences; a model is due when no ``DRIFT#`` record
    exists for ``floor(now, cadence)`` — so a missed wake is caught up and a repeated one is a no-op.
    """
    results: list[dict[str, Any]] = []
    for entry in deps.registry.list_models():
        model = str(entry.get("model"))
        try:
            results.append(run_check(model, now=now, deps=deps).to_dict())
        except LockgateError as exc:  # no champion yet, missing baseline: that model only
            results.append({"model": model, "skipped": True, **exc.to_dict()})
    return results


def handle_event(event: Mapping[str, Any], deps: MonitoringDeps) -> dict[str, Any]:
    """EventBridge ``Scheduled Event`` (uses its ``time``) or ``{"model", "now"?, "force"?}``."""
    if event.get("detail-type") == "Scheduled Event":
        now = parse_time(str(event["time"]))
        return {"now": iso(now), "checks": run_scheduled(now, deps)}
    model = event.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError('expected a Scheduled Event or {"model": "<name>", "now": "<iso>"}')
    now = parse_time(str(event["now"])) if event.get("now") else datetime.now(UTC)
    result = run_check(model, now=now, deps=deps, force=bool(event.get("force", False)))
    body = result.to_dict()
    if body.get("report") is None:
        body["report"] = deps.artifacts.get_json("reports/drift", result.report_id)
    return body


# --------------------------------------------------------------------------- labels
# Label files are parsed and written by lockgate.services.labels (no numpy: the labels function ships only
# the core layer); re-exported here for callers that hold MonitoringDeps.
from lockgate.services.labels import LabelIngestResult, ingest_label_file, parse_labels, write_labels  # noqa: E402

__all__ = ["LabelIngestResult", "ingest_label_file", "parse_labels", "write_labels"]
