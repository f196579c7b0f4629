"""The baseline profile stored at training time (``baselines/<sha>.json``), the reference drift
monitoring compares live traffic with. Format: docs/internals.md. Plain JSON: no NaN or infinity
(they become ``null``), so any JSON reader, and S3ArtifactStore.put_json, accepts it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from lockgate.domain.spec import ModelSpec

SAMPLE_SIZE = 5000
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20


def _num(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def number_profile(values: Any, *, seed: int) -> dict[str, Any]:
    """Distribution summary of a numeric column (missing = NaN)."""
    array = np.asarray(values, dtype="float64")
    total = len(array)
    present = array[np.isfinite(array)]
    profile: dict[str, Any] = {
        "type": "number",
        "missing_fraction": (total - len(present)) / total if total else 0.0,
        "count": len(present),
    }
    if len(present) == 0:
        return {
            **profile,
            "min": None,
            "max": None,
            "mean": None,
            "std": None,
            "quantiles": {},
            "histogram": {"edges": [], "counts": []},
            "sample": [],
        }
    counts, edges = np.histogram(present, bins=HISTOGRAM_BINS)
    rng = np.random.default_rng(seed)
    sample = present if len(present) <= SAMPLE_SIZE else rng.choice(present, size=SAMPLE_SIZE, replace=False)
    return {
        **profile,
        "min": _num(present.min()),
        "max": _num(present.max()),
        "mean": _num(present.mean()),
        "std": _num(present.std()),
        "quantiles": {
            str(q): _num(v) for q, v in zip(QUANTILES, np.quantile(present, QUANTILES), strict=True)
        },
        "histogram": {"edges": [_num(e) for e in edges], "counts": [int(c) for c in counts]},
        "sample": [_num(v) for v in sample],
    }


def string_profile(values: Any) -> dict[str, Any]:
    """Category counts of a string column (missing = None, NaN or ``""``), most frequent first."""
    series = pd.Series(values, dtype=object)
    missing = series.isna() | (series.astype(str) == "")
    present = series[~missing].astype(str)
    counts = present.value_counts(sort=True)
    ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    return {
        "type": "string",
        "missing_fraction": float(missing.mean()) if len(series) else 0.0,
        "count": len(present),
        "counts": {str(k): int(v) for k, v in ordered},
    }


def _clean(value: Any) -> Any:
    """Recursively replace NaN/inf with None and numpy scalars with Python ones."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)
    return _clean(item()) if callable(item) else str(value)


def build_baseline(
    df_features: pd.DataFrame,
    predictions: Any,
    spec: ModelSpec,
    metrics: dict[str, Any],
    *,
    feature_types: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Profile every feature, the predictions, and record the holdout metrics.

    ``df_features`` holds the prepared feature columns (numbers float, strings str with ``""`` for
    missing). Types come from ``feature_types`` or, when omitted, from each column's dtype.
    """
    features: dict[str, Any] = {}
    for position, name in enumerate(df_features.columns):
        column = df_features[name]
        kind = (feature_types or {}).get(str(name)) or ("number" if is_numeric_dtype(column) else "string")
        if kind == "number":
            features[str(name)] = number_profile(
                column.to_numpy(dtype="float64", na_value=float("nan")), seed=spec.seed + position
            )
        else:
            features[str(name)] = string_profile(column.to_numpy(dtype=object))
    if spec.task == "classification":
        prediction = string_profile([str(p) for p in predictions])
    else:
        prediction = number_profile(predictions, seed=spec.seed)
    baseline = {"rows": len(df_features), "features": features, "prediction": prediction, "metrics": metrics}
    cleaned: dict[str, Any] = _clean(baseline)
    return cleaned
