"""Real-world performance: ground-truth labels joined to captured predictions, against holdout.

Labels arrive late (hours or days after the prediction), so a check measures the champion on the
predictions whose labels have come in, and compares with what the version scored on its holdout
when it was trained. numpy/scipy only (no pandas, no scikit-learn: the drift function stays small).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import rankdata

from lockgate.domain.spec import LOWER_IS_BETTER, ModelSpec


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
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def regression_metrics(labels: list[float], predicted: list[float]) -> dict[str, float]:
    """rmse and mae, and r2 when the labels vary at all."""
    y = np.asarray(labels, dtype=np.float64)
    yhat = np.asarray(predicted, dtype=np.float64)
    err = y - yhat
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out = {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
    if ss_tot > 0:
        out["r2"] = 1 - float(np.sum(err**2)) / ss_tot
    return out


def holdout_metrics(baseline: Mapping[str, Any], version_metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """The holdout scores to compare with: the baseline's, else the version's (nested or flat)."""
    metrics = baseline.get("metrics") or version_metrics or {}
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
