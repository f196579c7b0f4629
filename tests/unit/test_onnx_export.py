from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
import pytest
from lockgate.domain.spec import parse_spec
from lockgate.errors import OnnxParityError
from lockgate.ml.onnx_export import check_parity, run_onnx, to_onnx
from lockgate.ml.training import train
from support.datasets import make_synthetic

FAST = {
    "logistic_regression": {},
    "linear_regression": {},
    "random_forest": {"n_estimators": 15},
    "gradient_boosting": {"max_iter": 25},
}


def trained(task: str, algorithm: str, seed: int = 5):
    df = make_synthetic(300, seed=seed, task=task, missing_fraction=0.08)  # type: ignore[arg-type]
    spec = parse_spec(
        {"model": "m", "task": task, "target": "target", "algorithm": algorithm, "params": FAST[algorithm]}
    )
    return train(df, spec)


def hostile_holdout(holdout: pd.DataFrame) -> pd.DataFrame:
    """NaN in numbers, missing and never-seen categories."""
    out = holdout.copy()
    out.iloc[0, out.columns.get_loc("num_03")] = np.nan
    out.iloc[1, out.columns.get_loc("cat_0")] = "never-seen"
    out.iloc[2, out.columns.get_loc("cat_2")] = ""
    return out


CASES = [
    ("classification", "logistic_regression"),
    ("classification", "random_forest"),
    ("classification", "gradient_boosting"),
    ("regression", "linear_regression"),
    ("regression", "random_forest"),
    ("regression", "gradient_boosting"),
]


@pytest.mark.parametrize(("task", "algorithm"), CASES)
def test_onnx_matches_scikit_learn_on_a_hostile_holdout(task: str, algorithm: str) -> None:
    # GIVEN a fitted pipeline and its ONNX export
    result = trained(task, algorithm)
    model = to_onnx(result.pipeline, result.signature)
    # WHEN both score a holdout with NaNs, missing and unseen categories
    report = check_parity(
        result.pipeline, model, hostile_holdout(result.x_holdout), 1e-4, signature=result.signature
    )
    # THEN they agree within tolerance and on every label that is not a tie
    assert report.passed and report.max_abs_diff < 1e-4 and report.label_mismatches == 0
    assert report.rows == len(result.x_holdout)


@pytest.mark.parametrize(("task", "algorithm"), [CASES[1], CASES[5]])
def test_export_is_byte_for_byte_deterministic(task: str, algorithm: str) -> None:
    first, second = trained(task, algorithm), trained(task, algorithm)
    assert to_onnx(first.pipeline, first.signature) == to_onnx(second.pipeline, second.signature)


def test_graph_has_one_typed_input_per_feature_and_named_outputs() -> None:
    result = trained("classification", "logistic_regression")
    graph = onnx.load_from_string(to_onnx(result.pipeline, result.signature)).graph
    inputs = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    assert inputs["num_00"] == onnx.TensorProto.FLOAT
    assert inputs["cat_0"] == onnx.TensorProto.STRING
    assert len(inputs) == 25
    assert [o.name for o in graph.output] == ["label", "probabilities"]


def test_regressor_outputs_variable() -> None:
    result = trained("regression", "linear_regression")
    graph = onnx.load_from_string(to_onnx(result.pipeline, result.signature)).graph
    assert [o.name for o in graph.output] == ["variable"]


def test_onnx_returns_labels_and_probability_columns_in_class_order() -> None:
    result = trained("classification", "gradient_boosting")
    labels, proba = run_onnx(to_onnx(result.pipeline, result.signature), result.x_holdout, result.signature)
    assert proba is not None and proba.shape == (len(result.x_holdout), 2)
    assert set(labels.tolist()) <= {"no", "yes"}
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_a_graph_that_disagrees_is_refused_with_the_numbers() -> None:
    # GIVEN the ONNX of a different model than the pipeline being checked
    result = trained("classification", "logistic_regression")
    other = trained("classification", "logistic_regression", seed=99)
    wrong = to_onnx(other.pipeline, other.signature)
    # WHEN parity is checked THEN it fails closed with the measured difference
    with pytest.raises(OnnxParityError) as caught:
        check_parity(result.pipeline, wrong, result.x_holdout, 1e-4, signature=result.signature)
    assert caught.value.details["max_abs_diff"] > 1e-4
    assert caught.value.details["passed"] is False
