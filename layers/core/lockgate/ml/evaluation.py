"""Holdout metrics and the model gates: an absolute floor and champion/challenger.

The champion is judged on the candidate's holdout by running its own ONNX graph (what serving
runs), so both models face the same rows. When the champion's signature does not fit the holdout
(different features, task or classes), its recorded metrics are the fallback and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lockgate.domain.spec import LOWER_IS_BETTER, ModelSpec
from lockgate.errors import AliasNotFoundError, ModelNotFoundError, ModelRejectedError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from lockgate.adapters.dynamodb.runs import RunStore


def compute_metrics(
    task: str,
    y_true: Any,
    y_pred: Any,
    proba: np.ndarray | None,
    classes: list[Any] | None,
    *,
    positive_class: Any = None,
) -> dict[str, Any]:
    """Classification: accuracy, roc_auc, f1, log_loss, confusion_matrix; regression: rmse, mae, r2.

    Binary ROC AUC and F1 score ``positive_class`` (default: the second class, as scikit-learn does);
    multiclass uses one-vs-rest macro AUC and macro F1. ``proba`` columns follow ``classes``. A
    metric that is undefined on this holdout (AUC with one class present) is ``None``.
    """
    import numpy as np
    from sklearn import metrics as skm

    if task == "regression":
        truth = np.asarray(y_true, dtype="float64")
        pred = np.asarray(y_pred, dtype="float64")
        return {
            "rmse": float(math.sqrt(skm.mean_squared_error(truth, pred))),
            "mae": float(skm.mean_absolute_error(truth, pred)),
            "r2": float(skm.r2_score(truth, pred)) if len(truth) > 1 else None,
            "rows": len(truth),
        }
    assert classes is not None and proba is not None
    labels = [str(c) for c in classes]
    truth_s = np.asarray([str(v) for v in y_true], dtype=object)
    pred_s = np.asarray([str(v) for v in y_pred], dtype=object)
    binary = len(labels) == 2
    positive = str(positive_class) if positive_class is not None else labels[-1]
    if binary:
        f1 = skm.f1_score(
            truth_s, pred_s, pos_label=positive, average="binary", labels=labels, zero_division=0
        )
    else:
        f1 = skm.f1_score(truth_s, pred_s, average="macro", labels=labels, zero_division=0)
    clipped = np.clip(np.asarray(proba, dtype="float64"), 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "accuracy": float(skm.accuracy_score(truth_s, pred_s)),
        "roc_auc": _roc_auc(truth_s, clipped, labels, positive),
        "f1": float(f1),
        "log_loss": float(skm.log_loss(truth_s, clipped, labels=labels)),
        "confusion_matrix": {
            "labels": labels,
            "matrix": skm.confusion_matrix(truth_s, pred_s, labels=labels).tolist(),
        },
        "rows": len(truth_s),
    }


def _roc_auc(truth: np.ndarray, proba: np.ndarray, labels: list[str], positive: str) -> float | None:
    from sklearn.metrics import roc_auc_score

    present = set(truth.tolist())
    if len(present) < 2:
        return None
    if len(labels) == 2:
        column = labels.index(positive)
        return float(roc_auc_score(truth == positive, proba[:, column]))
    if present != set(labels):
        return None  # ovr AUC needs every class on the holdout
    return float(roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=labels))


@dataclass(frozen=True)
class GateReport:
    """The verdict on a candidate and every number it was based on."""

    passed: bool
    metric: str
    candidate: float | None
    champion: float | None
    champion_version: int | None
    champion_basis: str  # "none" | "same_holdout" | "recorded_metrics"
    lower_is_better: bool
    min_metric: float | None
    min_improvement_abs: float
    min_improvement_rel: float
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def numbers(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "candidate": self.candidate,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "min_metric": self.min_metric,
            "min_improvement_abs": self.min_improvement_abs,
            "min_improvement_rel": self.min_improvement_rel,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.numbers(),
            "passed": self.passed,
            "champion_basis": self.champion_basis,
            "lower_is_better": self.lower_is_better,
            "reasons": list(self.reasons),
        }


def _value(metrics: dict[str, Any] | None, name: str) -> float | None:
    if not metrics:
        return None
    value = metrics.get(name)
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def evaluate_gates(
    spec: ModelSpec,
    candidate_metrics: dict[str, Any],
    champion_metrics: dict[str, Any] | None,
    *,
    champion_version: int | None = None,
    champion_basis: str | None = None,
) -> GateReport:
    """Apply the spec's model gates to the primary metric.

    - ``min_metric``: a floor (a ceiling for loss metrics: log_loss, rmse, mae).
    - Champion/challenger: the candidate must improve on the champion by at least
      ``min_improvement_abs`` AND by ``min_improvement_rel`` x |champion|. With zero thresholds a
      tie passes (retraining on fresh data at equal quality is allowed). No champion: this gate passes.
    """
    gates = spec.gates.model
    metric = spec.primary_metric
    lower = metric in LOWER_IS_BETTER
    candidate = _value(candidate_metrics, metric)
    champion = _value(champion_metrics, metric)
    reasons: list[str] = []
    passed = True
    if candidate is None:
        passed = False
        reasons.append(f"{metric} could not be computed on the holdout")
    elif gates.min_metric is not None:
        ok = candidate <= gates.min_metric if lower else candidate >= gates.min_metric
        if not ok:
            passed = False
            bound = "above the maximum" if lower else "below the minimum"
            reasons.append(f"{metric} {candidate:.4f} is {bound} {gates.min_metric:g}")
    if champion_metrics is None:
        reasons.append("no champion yet")
        basis = "none"
    else:
        basis = champion_basis or "recorded_metrics"
        if champion is not None and candidate is not None:
            gain = champion - candidate if lower else candidate - champion
            needed_rel = gates.min_improvement_rel * abs(champion)
            if gain < gates.min_improvement_abs or gain < needed_rel:
                passed = False
                needed = max(gates.min_improvement_abs, needed_rel)
                reasons.append(
                    f"{metric} {candidate:.4f} does not beat the champion's {champion:.4f} "
                    f"(improvement {gain:+.4f}, required {needed:.4f})"
                )
            else:
                reasons.append(f"{metric} {candidate:.4f} beats the champion's {champion:.4f} by {gain:+.4f}")
        elif champion is None:
            reasons.append(f"the champion has no {metric}; champion/challenger skipped")
    return GateReport(
        passed=passed,
        metric=metric,
        candidate=candidate,
        champion=champion,
        champion_version=champion_version,
        champion_basis=basis,
        lower_is_better=lower,
        min_metric=gates.min_metric,
        min_improvement_abs=gates.min_improvement_abs,
        min_improvement_rel=gates.min_improvement_rel,
        reasons=reasons,
    )


def score_onnx(
    onnx_bytes: bytes, df: pd.DataFrame, signature: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run an ONNX model on a DataFrame: (predictions, probabilities or None)."""
    from lockgate.ml.onnx_export import run_onnx

    return run_onnx(onnx_bytes, df, signature)


def signature_fits(
    signature: dict[str, Any], holdout: pd.DataFrame, candidate_signature: dict[str, Any]
) -> str | None:
    """Why a champion cannot be scored on this holdout, or ``None`` when it can."""
    missing = [i["name"] for i in signature.get("inputs", []) if i["name"] not in holdout.columns]
    if missing:
        return f"the champion needs feature(s) the holdout lacks: {', '.join(missing)}"
    if signature.get("task") != candidate_signature.get("task"):
        return "the champion solves a different task"
    if signature.get("target") != candidate_signature.get("target"):
        return "the champion predicts a different target"
    if [str(c) for c in signature.get("classes") or []] != [
        str(c) for c in candidate_signature.get("classes") or []
    ]:
        return "the champion knows different classes"
    return None


# ---------------------------------------------------------------- the evaluate step


class ChampionSource(Protocol):
    """What evaluation needs from the registry (``lockgate.adapters.dynamodb.registry.DynamoDBModelRegistry``)."""

    def get_version_by_alias(self, model: str, alias: str) -> Any: ...


class ModelBytes(Protocol):
    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes: ...


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    gates: GateReport
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "champion_metrics": self.champion_metrics,
            "gates": self.gates.to_dict(),
            "notes": list(self.notes),
        }


def holdout_metrics(
    onnx_bytes: bytes, holdout: pd.DataFrame, signature: dict[str, Any], spec: ModelSpec
) -> dict[str, Any]:
    """Score an ONNX model on a holdout that carries the target column."""
    pred, proba = score_onnx(onnx_bytes, holdout, signature)
    return compute_metrics(
        spec.task,
        holdout[spec.target].to_numpy(),
        pred,
        proba,
        signature.get("classes"),
        positive_class=_positive(spec, signature),
    )


def _positive(spec: ModelSpec, signature: dict[str, Any]) -> Any:
    from lockgate.ml.training import positive_label

    classes = signature.get("classes")
    return positive_label(classes, spec.positive_class) if classes else None


def evaluate_candidate(
    *,
    spec: ModelSpec,
    candidate_onnx: bytes,
    signature: dict[str, Any],
    holdout: pd.DataFrame,
    artifacts: ModelBytes,
    registry: ChampionSource,
) -> Evaluation:
    """Candidate and champion on the same holdout, then the gates."""
    notes: list[str] = []
    metrics = holdout_metrics(candidate_onnx, holdout, signature, spec)
    try:
        champion = registry.get_version_by_alias(spec.model, "champion")
    except (AliasNotFoundError, ModelNotFoundError):
        champion = None
    champion_metrics: dict[str, Any] | None = None
    basis, version = None, None
    if champion is not None:
        version = int(champion.version)
        unfit = signature_fits(champion.signature, holdout, signature)
        if unfit is None:
            champion_onnx = artifacts.get_bytes("models", champion.model_artifact, ext="onnx")
            champion_metrics = holdout_metrics(champion_onnx, holdout, champion.signature, spec)
            basis = "same_holdout"
        else:
            champion_metrics = dict(champion.metrics)
            basis = "recorded_metrics"
            notes.append(f"champion v{version} judged on its recorded metrics: {unfit}")
    gates = evaluate_gates(spec, metrics, champion_metrics, champion_version=version, champion_basis=basis)
    return Evaluation(metrics=metrics, champion_metrics=champion_metrics, gates=gates, notes=notes)


def read_holdout(data: bytes) -> pd.DataFrame:
    import io

    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


class ArtifactReader(ModelBytes, Protocol):
    def get_json(self, kind: str, sha256: str) -> Any: ...


def evaluate_step(
    *,
    artifacts: ArtifactReader,
    runs: RunStore,
    registry: ChampionSource,
    publish: Callable[[str, dict[str, Any]], None],
    model: str,
    run_id: str,
    spec_id: str,
    training: dict[str, Any],
) -> Evaluation:
    """The state machine's evaluate task: gates on the run's holdout, outcome recorded on the run.

    A failed gate marks the run rejected with the numbers, announces ``Model Rejected`` and raises
    :class:`~lockgate.errors.ModelRejectedError` (the state machine ends in ``CandidateRejected``).
    """
    from lockgate.domain.events import MODEL_REJECTED
    from lockgate.domain.spec import parse_spec

    spec = parse_spec(artifacts.get_json("specs", spec_id))
    holdout = read_holdout(artifacts.get_bytes("holdouts", training["holdout_id"], ext="parquet"))
    candidate_onnx = artifacts.get_bytes("models", training["model_id"], ext="onnx")
    result = evaluate_candidate(
        spec=spec,
        candidate_onnx=candidate_onnx,
        signature=training["signature"],
        holdout=holdout,
        artifacts=artifacts,
        registry=registry,
    )
    gates = {**result.gates.to_dict(), "champion_metrics": result.champion_metrics, "notes": result.notes}
    runs.update(model, run_id, metrics=result.metrics, gates=gates)
    if not result.gates.passed:
        numbers = result.gates.numbers()
        runs.mark_rejected(model, run_id, result.gates.reason, **numbers)
        publish(MODEL_REJECTED, {"model": model, "run_id": run_id, "reason": result.gates.reason, **numbers})
        raise ModelRejectedError(
            f"candidate rejected: {result.gates.reason}", model=model, run_id=run_id, **numbers
        )
    return result
