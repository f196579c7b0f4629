"""Training: a spec and a table in, a fitted scikit-learn pipeline and its record out.

The pipeline is one object with preprocessing inside (a ``ColumnTransformer`` then the estimator),
so exporting it to ONNX carries the preprocessing to serving and the two cannot disagree.

Feature values are normalised the same way here and in the ONNX feed (:func:`prepare_features`):
numbers become float64 (NaN = missing), categories become Python ``str`` with ``""`` for missing,
so a category column holding ``1, 2, 3`` in pandas is ``"1", "2", "3"`` in training and serving.
"""

from __future__ import annotations

import io
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_numeric_dtype
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lockgate.domain.spec import ModelSpec
from lockgate.errors import SpecInvalidError, TrainingError
from lockgate.ml.metrics import positive_label

ESTIMATOR_STEP = "model"
LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "onnx", "skl2onnx", "onnxruntime")

# A random forest's ONNX graph grows with trees x nodes: 100 unbounded trees on a few thousand rows
# is a ~60 MB file that takes ~1 s to load in serving. 100 trees capped at depth 12 keep the file a
# few MB with no measurable loss on tabular data of the sizes Lockgate targets; spec.params override.
RANDOM_FOREST_DEFAULTS: dict[str, Any] = {"n_estimators": 100, "max_depth": 12, "n_jobs": 1}
LOGISTIC_DEFAULTS: dict[str, Any] = {"max_iter": 1000}

_SCORING = {
    "accuracy": "accuracy",
    "log_loss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """A fitted pipeline, the split it was judged on, and what is needed to reproduce it."""

    pipeline: Pipeline
    feature_types: dict[str, str]
    x_train: pd.DataFrame
    y_train: pd.Series
    x_holdout: pd.DataFrame
    y_holdout: pd.Series
    params: dict[str, Any]
    seed: int
    environment: dict[str, str]
    signature: dict[str, Any]
    search: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "seed": self.seed,
            "environment": self.environment,
            "signature": self.signature,
            "search": self.search,
            "notes": list(self.notes),
            "rows": {"train": len(self.x_train), "holdout": len(self.x_holdout)},
        }


def environment() -> dict[str, str]:
    """The Python and library versions a run used (for lineage and reproduce)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - the training layer has them all
            versions[name] = "absent"
    return versions


def infer_feature_types(df: pd.DataFrame, spec: ModelSpec) -> dict[str, str]:
    """Feature name -> ``number``/``string``, in column order.

    With ``spec.features`` declared, exactly those columns are features, typed as declared.
    Otherwise every column but the target and ``spec.ignore`` is a feature; numeric (and boolean)
    dtypes are numbers, anything else is a string.
    """
    if spec.features:
        missing = [name for name in spec.features if name not in df.columns]
        if missing:
            raise TrainingError(
                f"declared feature(s) {', '.join(missing)} are not in the dataset", missing=missing
            )
        return dict(spec.features)
    excluded = {spec.target, *spec.ignore}
    types = {
        str(c): ("number" if is_numeric_dtype(df[c]) else "string") for c in df.columns if c not in excluded
    }
    if not types:
        raise TrainingError("the dataset has no feature columns besides the target and ignored columns")
    return types


def prepare_features(df: pd.DataFrame, feature_types: dict[str, str]) -> pd.DataFrame:
    """The feature columns, normalised exactly as the ONNX feed normalises them."""
    out = {}
    for name, kind in feature_types.items():
        column = df[name]
        if kind == "number":
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            values = column.astype(object).where(column.notna(), "")
            out[name] = pd.Series(
                np.array([str(v) for v in values], dtype=object), index=df.index, dtype=object
            )
    return pd.DataFrame(out, index=df.index)


def prepare_target(series: pd.Series, task: str) -> pd.Series:
    """Regression: float. Classification: integers stay integers, anything else becomes ``str``."""
    if task == "regression":
        return series.astype("float64")
    if is_integer_dtype(series) and not is_bool_dtype(series):
        return series.astype("int64")
    if is_float_dtype(series) and bool((series == series.round()).all()):
        return series.astype("int64")
    return series.astype(str).astype(object)


def make_estimator(spec: ModelSpec) -> Any:
    """The scikit-learn estimator the spec names, with ``random_state=spec.seed`` where it has one."""
    classification = spec.task == "classification"
    choices: dict[str, tuple[Any, dict[str, Any]]] = {
        "logistic_regression": (LogisticRegression, LOGISTIC_DEFAULTS),
        "linear_regression": (Ridge, {}),
        "random_forest": (
            RandomForestClassifier if classification else RandomForestRegressor,
            RANDOM_FOREST_DEFAULTS,
        ),
        "gradient_boosting": (
            HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor,
            {},
        ),
    }
    cls, defaults = choices[spec.estimator]
    params = {**defaults, **spec.params}
    if "random_state" in cls().get_params():
        params["random_state"] = spec.seed
    try:
        return cls(**params)
    except TypeError as exc:
        raise SpecInvalidError(f"params: {exc}", field="params") from exc


def build_pipeline(spec: ModelSpec, feature_types: dict[str, str]) -> Pipeline:
    """``ColumnTransformer`` (numbers: impute + scale; strings: one-hot, unknowns ignored) + estimator.

    Gradient boosting gets its numbers raw: it handles NaN natively, and a median imputer in front of
    it breaks ONNX parity (float32 split thresholds land on the imputed value). Trees do not need
    scaling, so random forests only impute. Missing strings arrive as ``""`` (see
    :func:`prepare_features`) and are one category like any other.
    """
    numbers = [n for n, t in feature_types.items() if t == "number"]
    strings = [n for n, t in feature_types.items() if t == "string"]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numbers:
        steps: list[tuple[str, Any]] = []
        if spec.estimator != "gradient_boosting":
            steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
        if spec.estimator in ("logistic_regression", "linear_regression"):
            steps.append(("scale", StandardScaler()))
        transformers.append(("numbers", Pipeline(steps) if steps else "passthrough", numbers))
    if strings:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype="float64")
        transformers.append(("strings", encoder, strings))
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", preprocess), (ESTIMATOR_STEP, make_estimator(spec))])


def _scoring(spec: ModelSpec, classes: list[Any], positive: Any) -> Any:
    metric = spec.primary_metric
    if metric == "roc_auc":
        return "roc_auc" if len(classes) == 2 else "roc_auc_ovr"
    if metric == "f1":
        if len(classes) == 2:
            return make_scorer(f1_score, pos_label=positive)
        return "f1_macro"
    return _SCORING[metric]


def signature_for(
    spec: ModelSpec, feature_types: dict[str, str], classes: list[Any] | None
) -> dict[str, Any]:
    """The model signature (docs/internals.md): inputs, classes in probability-column order, label type."""
    if spec.task == "classification":
        assert classes is not None
        label_type = "integer" if all(isinstance(c, int) for c in classes) else "string"
    else:
        label_type = "number"
    return {
        "task": spec.task,
        "target": spec.target,
        "inputs": [{"name": n, "type": t} for n, t in feature_types.items()],
        "classes": classes,
        "label_type": label_type,
    }


def _split(
    x: pd.DataFrame, y: pd.Series, spec: ModelSpec
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, list[str]]:
    notes: list[str] = []
    stratify = None
    if spec.task == "classification":
        if int(y.value_counts().min()) >= 2:
            stratify = y
        else:
            notes.append("a class has a single row, so the holdout split is not stratified")
    x_train, x_hold, y_train, y_hold = train_test_split(
        x, y, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
    )
    return x_train, x_hold, y_train, y_hold, notes


def _search(
    pipeline: Pipeline, spec: ModelSpec, x: pd.DataFrame, y: pd.Series
) -> tuple[Pipeline, dict[str, Any]]:
    assert spec.search is not None
    grid = {f"{ESTIMATOR_STEP}__{k}": v for k, v in spec.search.grid.items()}
    candidates = len(ParameterGrid(grid))
    if candidates > spec.search.max_candidates:
        raise SpecInvalidError(
            f"search.grid has {candidates} combinations, more than search.max_candidates "
            f"({spec.search.max_candidates})",
            field="search.grid",
        )
    splitter_cls = StratifiedKFold if spec.task == "classification" else KFold
    cv = splitter_cls(n_splits=spec.search.cv, shuffle=True, random_state=spec.seed)
    classes = sorted(y.unique().tolist()) if spec.task == "classification" else []
    scoring = _scoring(spec, classes, positive_label(classes, spec.positive_class))
    search = GridSearchCV(pipeline, grid, scoring=scoring, cv=cv, n_jobs=1, refit=True, error_score="raise")
    try:
        search.fit(x, y)
    except ValueError as exc:
        raise SpecInvalidError(f"search.grid: {exc}", field="search.grid") from exc
    best = {k.removeprefix(f"{ESTIMATOR_STEP}__"): v for k, v in search.best_params_.items()}
    summary = {
        "best_params": best,
        "best_score": float(search.best_score_),
        "scoring": str(scoring),
        "candidates": candidates,
    }
    return search.best_estimator_, summary


def jsonable(value: Any) -> Any:
    """Plain JSON-able values (numpy scalars unwrapped, anything else as text) for manifests and records."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def train(df: pd.DataFrame, spec: ModelSpec) -> TrainingResult:
    """Split, (optionally search,) fit, and describe one model.

    Examples
    --------
    >>> result = train(frame, parse_spec({"model": "m", "task": "classification", "target": "y"}))
    >>> result.pipeline.predict_proba(result.x_holdout)  # doctest: +SKIP
    """
    if spec.target not in df.columns:
        raise TrainingError(f"the target column {spec.target!r} is not in the dataset", target=spec.target)
    df = df[df[spec.target].notna()]
    feature_types = infer_feature_types(df, spec)
    x = prepare_features(df, feature_types)
    y = prepare_target(df[spec.target], spec.task)
    if spec.task == "classification" and y.nunique() < 2:
        raise TrainingError(f"the target {spec.target!r} has a single class; there is nothing to learn")
    x_train, x_hold, y_train, y_hold, notes = _split(x, y, spec)
    pipeline = build_pipeline(spec, feature_types)
    search_summary = None
    if spec.search is not None:
        pipeline, search_summary = _search(pipeline, spec, x_train, y_train)
    else:
        pipeline.fit(x_train, y_train)
    estimator = pipeline.named_steps[ESTIMATOR_STEP]
    classes = [jsonable(c) for c in estimator.classes_] if spec.task == "classification" else None
    if classes is not None:
        positive_label(classes, spec.positive_class)  # fail early on a positive class that is not there
    params = jsonable(estimator.get_params(deep=False))
    return TrainingResult(
        pipeline=pipeline,
        feature_types=feature_types,
        x_train=x_train,
        y_train=y_train,
        x_holdout=x_hold,
        y_holdout=y_hold,
        params={"estimator": spec.estimator, **params},
        seed=spec.seed,
        environment=environment(),
        signature=signature_for(spec, feature_types, classes),
        search=search_summary,
        notes=notes,
    )


def holdout_bytes(result: TrainingResult, target: str) -> bytes:
    """The holdout rows with their target as Parquet: what evaluate scores candidate and champion on."""
    frame = result.x_holdout.copy()
    frame[target] = result.y_holdout
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    return buffer.getvalue()
