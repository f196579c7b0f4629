"""Small real ONNX models for serving tests, trained with scikit-learn + skl2onnx (seeded).

Tests only: this module imports scikit-learn, which the serving path never does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

CLASSIFIER_SIGNATURE: dict[str, Any] = {
    "task": "classification",
    "target": "income",
    "inputs": [
        {"name": "age", "type": "number"},
        {"name": "hours", "type": "number"},
        {"name": "workclass", "type": "string"},
    ],
    "classes": ["<=50K", ">50K"],
    "label_type": "string",
}
REGRESSOR_SIGNATURE: dict[str, Any] = {
    "task": "regression",
    "target": "price",
    "inputs": [{"name": "size", "type": "number"}, {"name": "area", "type": "string"}],
    "classes": [],
    "label_type": "number",
}


@dataclass(frozen=True)
class TrainedModel:
    onnx: bytes
    signature: dict[str, Any]
    pipeline: Any
    rows: list[dict[str, Any]]


def _pipeline(numbers: list[str], strings: list[str], estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            ("cat", OneHotEncoder(handle_unknown="ignore"), strings),
        ]
    )
    return Pipeline([("pre", pre), ("model", estimator)])


def _convert(pipeline: Any, signature: dict[str, Any]) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [
        (f["name"], FloatTensorType([None, 1]) if f["type"] == "number" else StringTensorType([None, 1]))
        for f in signature["inputs"]
    ]
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}} if signature["task"] == "classification" else {}
    onx = convert_sklearn(
        pipeline, initial_types=types, options=options, target_opset={"": 18, "ai.onnx.ml": 3}
    )
    return bytes(onx.SerializeToString())


@functools.cache
def classifier() -> TrainedModel:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(),
            "hours": rng.normal(40, 8, n).round(),
            "workclass": rng.choice(["Private", "Self", "Gov"], n),
        }
    )
    score = (frame["age"] - 40) / 10 + (frame["hours"] - 40) / 8 + (frame["workclass"] == "Self") * 1.0
    frame["income"] = np.where(score + rng.normal(0, 0.5, n) > 0.5, ">50K", "<=50K")
    pipeline = _pipeline(["age", "hours"], ["workclass"], LogisticRegression(random_state=0))
    features = frame[["age", "hours", "workclass"]]
    pipeline.fit(features, frame["income"])
    assert list(pipeline.classes_) == CLASSIFIER_SIGNATURE["classes"]
    rows = features.head(20).to_dict(orient="records")
    return TrainedModel(_convert(pipeline, CLASSIFIER_SIGNATURE), CLASSIFIER_SIGNATURE, pipeline, rows)


@functools.cache
def regressor() -> TrainedModel:
    import pandas as pd
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(11)
    n = 200
    frame = pd.DataFrame({"size": rng.uniform(20, 200, n), "area": rng.choice(["1", "2", "3"], n)})
    frame["price"] = frame["size"] * 3.0 + frame["area"].astype(int) * 50 + rng.normal(0, 5, n)
    pipeline = _pipeline(["size"], ["area"], Ridge(random_state=0))
    pipeline.fit(frame[["size", "area"]], frame["price"])
    rows = frame[["size", "area"]].head(10).to_dict(orient="records")
    return TrainedModel(_convert(pipeline, REGRESSOR_SIGNATURE), REGRESSOR_SIGNATURE, pipeline, rows)
