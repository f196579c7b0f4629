"""Scoring a model's ONNX graph on a holdout: what the evaluate step compares candidate and champion on.

The champion is judged on the candidate's holdout by running its own ONNX graph (what serving
runs), so both models face the same rows. :func:`signature_fits` says when that is impossible
(different features, task or classes); the gates then fall back to the champion's recorded metrics
(``lockgate.services.evaluate``). The gate rules themselves are ``lockgate.domain.gates``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from lockgate.domain.spec import ModelSpec
from lockgate.ml.metrics import compute_metrics, positive_label
from lockgate.ml.onnx_export import run_onnx


def score_onnx(
    onnx_bytes: bytes, df: pd.DataFrame, signature: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run an ONNX model on a DataFrame: (predictions, probabilities or None)."""
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


def holdout_metrics(
    onnx_bytes: bytes, holdout: pd.DataFrame, signature: dict[str, Any], spec: ModelSpec
) -> dict[str, Any]:
    """Score an ONNX model on a holdout that carries the target column."""
    pred, proba = score_onnx(onnx_bytes, holdout, signature)
    classes = signature.get("classes")
    return compute_metrics(
        spec.task,
        holdout[spec.target].to_numpy(),
        pred,
        proba,
        classes,
        positive_class=positive_label(classes, spec.positive_class) if classes else None,
    )


def read_holdout(data: bytes) -> pd.DataFrame:
    """The holdout the train step stored (Parquet: column types survive the round trip)."""
    return pd.read_parquet(io.BytesIO(data))
