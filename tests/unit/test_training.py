from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lockgate.domain.spec import parse_spec
from lockgate.errors import SpecInvalidError, TrainingError
from lockgate.ml.training import build_pipeline, infer_feature_types, prepare_features, train
from support.datasets import breast_cancer, make_synthetic


def spec_for(task: str = "classification", **extra: object):
    return parse_spec({"model": "m", "task": task, "target": "target", **extra})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_synthetic(400, seed=7)


def test_feature_types_are_inferred_from_dtypes_without_target_or_ignored(frame: pd.DataFrame) -> None:
    # GIVEN a spec that ignores one numeric column
    spec = spec_for(ignore=["num_19"])
    # WHEN types are inferred
    types = infer_feature_types(frame, spec)
    # THEN numbers and strings are told apart and target/ignored columns are not features
    assert types["num_00"] == "number" and types["cat_0"] == "string"
    assert "target" not in types and "num_19" not in types
    assert len(types) == 24


def test_declared_features_are_exactly_the_features(frame: pd.DataFrame) -> None:
    spec = spec_for(features={"num_01": "number", "num_02": "string"})
    result = train(frame, spec)
    assert [i["name"] for i in result.signature["inputs"]] == ["num_01", "num_02"]
    assert result.signature["inputs"][1]["type"] == "string"


def test_declared_feature_missing_from_data_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(TrainingError, match="nope"):
        train(frame, spec_for(features={"nope": "number"}))


def test_numeric_categories_become_the_same_strings_everywhere() -> None:
    # GIVEN a category column pandas reads as integers, with a missing value
    df = pd.DataFrame({"zone": [1.0, 2.0, None], "x": [0.5, None, 2.0]})
    # WHEN the features are prepared
    out = prepare_features(df, {"zone": "string", "x": "number"})
    # THEN categories are Python strings with "" for missing; numbers keep NaN
    assert out["zone"].tolist() == ["1.0", "2.0", ""]
    assert np.isnan(out["x"].iloc[1])


def test_gradient_boosting_takes_nan_natively_and_linear_models_impute_and_scale(frame: pd.DataFrame) -> None:
    types = infer_feature_types(frame, spec_for())
    boosted = build_pipeline(spec_for(algorithm="gradient_boosting"), types)
    linear = build_pipeline(spec_for(algorithm="logistic_regression"), types)
    assert boosted.named_steps["preprocess"].transformers[0][1] == "passthrough"
    steps = [name for name, _ in linear.named_steps["preprocess"].transformers[0][1].steps]
    assert steps == ["impute", "scale"]


@pytest.mark.parametrize("algorithm", ["logistic_regression", "random_forest", "gradient_boosting"])
def test_estimators_are_seeded_from_the_spec(algorithm: str, frame: pd.DataFrame) -> None:
    spec = spec_for(
        algorithm=algorithm, seed=123, params={"n_estimators": 5} if algorithm == "random_forest" else {}
    )
    pipeline = build_pipeline(spec, infer_feature_types(frame, spec))
    assert pipeline.named_steps["model"].random_state == 123


def test_unknown_param_is_a_spec_error(frame: pd.DataFrame) -> None:
    with pytest.raises(SpecInvalidError, match="params"):
        train(frame, spec_for(algorithm="random_forest", params={"n_trees": 3}))


def test_holdout_is_stratified_seeded_and_sized_by_the_spec(frame: pd.DataFrame) -> None:
    # GIVEN the same data and spec twice
    spec = spec_for(algorithm="logistic_regression", test_size=0.25, seed=3)
    first, second = train(frame, spec), train(frame, spec)
    # THEN the holdout is the same rows, a quarter of the data, with the class balance of the whole
    assert first.x_holdout.index.equals(second.x_holdout.index)
    assert len(first.x_holdout) == 100
    whole = (frame["target"] == "yes").mean()
    assert abs((first.y_holdout == "yes").mean() - whole) < 0.02
    # AND the fitted models agree exactly
    np.testing.assert_array_equal(
        first.pipeline.predict_proba(first.x_holdout), second.pipeline.predict_proba(second.x_holdout)
    )


def test_result_records_params_seed_environment_and_signature(frame: pd.DataFrame) -> None:
    result = train(frame, spec_for(algorithm="random_forest", params={"n_estimators": 7}))
    record = result.to_dict()
    assert record["params"]["estimator"] == "random_forest"
    assert record["params"]["n_estimators"] == 7
    assert record["seed"] == 42
    assert {"python", "scikit-learn", "numpy", "pandas", "onnx", "skl2onnx", "onnxruntime"} <= set(
        record["environment"]
    )
    assert record["signature"]["classes"] == ["no", "yes"]
    assert record["signature"]["label_type"] == "string"
    assert record["signature"]["target"] == "target"


def test_integer_labels_keep_their_type() -> None:
    df = make_synthetic(200, seed=1)
    df["target"] = (df["target"] == "yes").astype(int)
    result = train(df, spec_for(algorithm="logistic_regression", positive_class=1))
    assert result.signature["classes"] == [0, 1]
    assert result.signature["label_type"] == "integer"


def test_positive_class_not_among_classes_is_a_spec_error(frame: pd.DataFrame) -> None:
    with pytest.raises(SpecInvalidError, match="positive_class"):
        train(frame, spec_for(algorithm="logistic_regression", positive_class="maybe"))


def test_grid_search_picks_and_records_the_best_params(frame: pd.DataFrame) -> None:
    spec = spec_for(algorithm="logistic_regression", search={"grid": {"C": [0.001, 1.0]}, "cv": 3})
    result = train(frame, spec)
    assert result.search is not None
    assert result.search["best_params"]["C"] in (0.001, 1.0)
    assert result.params["C"] == result.search["best_params"]["C"]
    assert result.search["candidates"] == 2


def test_grid_larger_than_allowed_is_refused(frame: pd.DataFrame) -> None:
    spec = spec_for(search={"grid": {"max_iter": [10, 20, 30], "max_depth": [2, 3]}, "max_candidates": 4})
    with pytest.raises(SpecInvalidError, match="6 combinations"):
        train(frame, spec)


def test_single_class_target_is_refused() -> None:
    df = make_synthetic(100, seed=2)
    df["target"] = "yes"
    with pytest.raises(TrainingError, match="single class"):
        train(df, spec_for())


def test_regression_on_a_real_dataset_learns_something() -> None:
    df = breast_cancer().drop(columns=["diagnosis"])
    spec = parse_spec(
        {"model": "m", "task": "regression", "target": "mean_area", "algorithm": "linear_regression"}
    )
    result = train(df, spec)
    assert result.pipeline.score(result.x_holdout, result.y_holdout) > 0.9
    assert result.signature["classes"] is None and result.signature["label_type"] == "number"
