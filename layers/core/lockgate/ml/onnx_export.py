"""Export a fitted pipeline, preprocessing included, to ONNX, and prove the export is faithful.

The graph has one input per feature, named after the column, shape ``[None, 1]``: ``float`` for
numbers (NaN = missing) and ``string`` for categories (``""`` = missing). Classifiers output
``label`` and ``probabilities`` (no ZipMap); regressors output ``variable``.

Export is deterministic: the same fitted pipeline gives the same bytes (fixed graph name, fixed
opsets, no timestamps), so ``reproduce`` can compare hashes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.pipeline import Pipeline

from lockgate.errors import OnnxParityError, TrainingError

# Pinned so that a library upgrade cannot silently change the bytes (and the hash) of a model.
TARGET_OPSET: dict[str, int] = {"": 18, "ai.onnx.ml": 3}
GRAPH_NAME = "lockgate"


def to_onnx(pipeline: Pipeline, signature: dict[str, Any]) -> bytes:
    """Serialise the whole pipeline; raises :class:`TrainingError` when skl2onnx cannot convert it."""
    # skl2onnx costs ~0.8 s to import and only the train step converts; evaluate only scores.
    from skl2onnx import convert_sklearn  # noqa: PLC0415 - heavy import boundary
    from skl2onnx.common.data_types import (  # noqa: PLC0415 - heavy import boundary
        FloatTensorType,
        StringTensorType,
    )

    initial_types = [
        (
            spec["name"],
            FloatTensorType([None, 1]) if spec["type"] == "number" else StringTensorType([None, 1]),
        )
        for spec in signature["inputs"]
    ]
    options: dict[Any, Any] = {}
    if signature["task"] == "classification":
        options = {id(pipeline.steps[-1][1]): {"zipmap": False}}
    try:
        with warnings.catch_warnings():
            # skl2onnx's tree converters pass booleans as ints; protobuf < 7 accepts them (and we pin it).
            warnings.filterwarnings(
                "ignore", message=".*Expected an int, got a boolean.*", category=DeprecationWarning
            )
            onx = convert_sklearn(
                pipeline,
                name=GRAPH_NAME,
                initial_types=initial_types,
                options=options,
                target_opset=TARGET_OPSET,
            )
    except Exception as exc:  # skl2onnx raises many unrelated types; the reason is in the message
        raise TrainingError(f"the pipeline could not be exported to ONNX: {exc}") from exc
    onx.doc_string = ""
    data: bytes = onx.SerializeToString(deterministic=True)
    return data


def onnx_feed(df: pd.DataFrame, inputs: list[dict[str, str]]) -> dict[str, np.ndarray]:
    """Column vectors for onnxruntime: float32 (NaN = missing) and str objects ("" = missing)."""

    feed: dict[str, np.ndarray] = {}
    for spec in inputs:
        column = df[spec["name"]]
        if spec["type"] == "number":
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            feed[spec["name"]] = values.astype(np.float32).reshape(-1, 1)
        else:
            cells = column.astype(object).where(column.notna(), "")
            feed[spec["name"]] = np.array([str(v) for v in cells], dtype=object).reshape(-1, 1)
    return feed


def session(onnx_bytes: bytes) -> Any:

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])


def run_onnx(
    onnx_bytes: bytes, df: pd.DataFrame, signature: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None]:
    """(predictions, probabilities or None) from the ONNX graph on a DataFrame."""

    sess = session(onnx_bytes)
    feed = onnx_feed(df, signature["inputs"])
    # Graph inputs follow the signature's order; skl2onnx makes non-identifier names identifiers.
    graph_names = [i.name for i in sess.get_inputs()]
    by_graph = {g: feed[spec["name"]] for g, spec in zip(graph_names, signature["inputs"], strict=True)}
    outputs = sess.run(None, by_graph)
    names = [o.name for o in sess.get_outputs()]
    by_name = dict(zip(names, outputs, strict=True))
    if signature["task"] == "classification":
        return np.asarray(by_name["label"]).ravel(), np.asarray(by_name["probabilities"], dtype="float64")
    return np.asarray(by_name["variable"], dtype="float64").ravel(), None


@dataclass(frozen=True)
class ParityReport:
    """How closely the ONNX graph reproduces scikit-learn on the holdout."""

    rows: int
    tolerance: float
    max_abs_diff: float
    label_mismatches: int
    ties: int
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "tolerance": self.tolerance,
            "max_abs_diff": self.max_abs_diff,
            "label_mismatches": self.label_mismatches,
            "ties": self.ties,
            "passed": self.passed,
        }


def _tied(proba: np.ndarray, tolerance: float) -> np.ndarray:
    """Rows whose two best classes are within tolerance: argmax there is a coin toss, not a defect."""

    if proba.shape[1] < 2:
        return np.zeros(proba.shape[0], dtype=bool)
    top2 = np.sort(proba, axis=1)[:, -2:]
    result: np.ndarray = (top2[:, 1] - top2[:, 0]) <= tolerance
    return result


def check_parity(
    pipeline: Pipeline,
    onnx_bytes: bytes,
    holdout: pd.DataFrame,
    tolerance: float,
    *,
    signature: dict[str, Any],
) -> ParityReport:
    """Compare ONNX with scikit-learn on ``holdout`` (already prepared features).

    Classification: max |p_onnx - p_sklearn| over every probability, and labels must agree except on
    rows where the top two probabilities tie (random-forest 50/50 votes). Regression: max
    |y_onnx - y_sklearn| / max(1, |y_sklearn|) — relative for large targets, since the graph computes
    in float32 and a price of 250000 cannot agree to 1e-4 in absolute terms. Raises
    :class:`OnnxParityError` with the numbers when outside tolerance.
    """

    onnx_pred, onnx_proba = run_onnx(onnx_bytes, holdout, signature)
    if signature["task"] == "classification":
        assert onnx_proba is not None
        sk_proba = np.asarray(pipeline.predict_proba(holdout), dtype="float64")
        sk_pred = np.asarray(pipeline.predict(holdout))
        diff = float(np.max(np.abs(sk_proba - onnx_proba))) if len(holdout) else 0.0
        ties = _tied(sk_proba, tolerance)
        mismatched = np.asarray(
            [str(a) != str(b) for a, b in zip(sk_pred, onnx_pred, strict=True)], dtype=bool
        )
        label_mismatches = int(np.sum(mismatched & ~ties))
        tie_count = int(np.sum(ties))
    else:
        sk_pred = np.asarray(pipeline.predict(holdout), dtype="float64").ravel()
        scale = np.maximum(1.0, np.abs(sk_pred))
        diff = float(np.max(np.abs(sk_pred - onnx_pred) / scale)) if len(holdout) else 0.0
        label_mismatches, tie_count = 0, 0
    passed = bool(np.isfinite(diff)) and diff <= tolerance and label_mismatches == 0
    report = ParityReport(
        rows=len(holdout),
        tolerance=tolerance,
        max_abs_diff=diff,
        label_mismatches=label_mismatches,
        ties=tie_count,
        passed=passed,
    )
    if not passed:
        raise OnnxParityError(
            f"the ONNX export disagrees with scikit-learn on the holdout: max |diff| {diff:.3g} "
            f"(tolerance {tolerance:g}), {label_mismatches} label mismatch(es) outside ties",
            **report.to_dict(),
        )
    return report
