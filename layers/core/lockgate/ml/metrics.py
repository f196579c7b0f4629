"""Holdout metrics, computed the same way for a candidate, its champion and a reproduction.

Classification labels are compared as text so integer and string classes score alike; binary
metrics score the spec's positive class (:func:`positive_label`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn import metrics as skm

from lockgate.errors import SpecInvalidError


def positive_label(classes: list[Any], positive_class: str | int | None) -> Any:
    """The class binary metrics score: the declared one (matched by value or text), else ``classes[1]``."""
    if len(classes) != 2:
        return None
    if positive_class is None:
        return classes[1]
    for cls in classes:
        if cls == positive_class or str(cls) == str(positive_class):
            return cls
    raise SpecInvalidError(
        f"positive_class {positive_class!r} is not one of the classes {classes}", field="positive_class"
    )


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
        "roc_auc": roc_auc(truth_s, clipped, labels, positive),
        "f1": float(f1),
        "log_loss": float(skm.log_loss(truth_s, clipped, labels=labels)),
        "confusion_matrix": {
            "labels": labels,
            "matrix": skm.confusion_matrix(truth_s, pred_s, labels=labels).tolist(),
        },
        "rows": len(truth_s),
    }


def roc_auc(truth: np.ndarray, proba: np.ndarray, labels: list[str], positive: str) -> float | None:
    """Binary AUC of ``positive``, or one-vs-rest macro AUC; ``None`` when undefined on these rows."""
    present = set(truth.tolist())
    if len(present) < 2:
        return None
    if len(labels) == 2:
        column = labels.index(positive)
        return float(skm.roc_auc_score(truth == positive, proba[:, column]))
    if present != set(labels):
        return None  # ovr AUC needs every class on the holdout
    return float(skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=labels))
