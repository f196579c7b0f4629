from __future__ import annotations

import json

import numpy as np
import pandas as pd
from lockgate.domain.spec import parse_spec
from lockgate.ml.profile import SAMPLE_SIZE, build_baseline, number_profile, string_profile

SPEC = parse_spec({"model": "m", "task": "classification", "target": "y", "seed": 4})


def features(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, n)
    age[:10] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "empty": np.full(n, np.nan),
            "city": np.array(["a", "b", "b", ""] * (n // 4), dtype=object),
        }
    )


def test_baseline_is_strict_json_with_profiles_for_every_feature() -> None:
    # GIVEN features with missing values and an all-missing column
    df = features()
    # WHEN the baseline is built
    baseline = build_baseline(df, ["yes", "no"] * 100, SPEC, {"roc_auc": 0.9, "r2": float("nan")})
    # THEN it serialises without NaN anywhere and describes each feature
    text = json.dumps(baseline, allow_nan=False)
    assert json.loads(text)["rows"] == 200
    age = baseline["features"]["age"]
    assert age["type"] == "number" and age["missing_fraction"] == 0.05
    assert 35 < age["mean"] < 45 and age["min"] < age["quantiles"]["0.5"] < age["max"]
    assert sum(age["histogram"]["counts"]) == 190 and len(age["histogram"]["edges"]) == 21
    assert baseline["features"]["empty"]["mean"] is None
    assert baseline["metrics"]["r2"] is None


def test_categories_are_counted_and_empty_string_is_missing() -> None:
    profile = string_profile(np.array(["a", "b", "b", "", None], dtype=object))
    assert profile["counts"] == {"b": 2, "a": 1}
    assert profile["missing_fraction"] == 0.4


def test_prediction_distribution_is_profiled_like_a_feature() -> None:
    baseline = build_baseline(features(), ["yes"] * 150 + ["no"] * 50, SPEC, {})
    assert baseline["prediction"]["counts"] == {"yes": 150, "no": 50}
    regression = parse_spec({"model": "m", "task": "regression", "target": "y"})
    assert build_baseline(features(), np.arange(200.0), regression, {})["prediction"]["max"] == 199.0


def test_sample_is_capped_and_seeded() -> None:
    values = np.random.default_rng(1).normal(size=SAMPLE_SIZE * 2)
    first, second = number_profile(values, seed=3), number_profile(values, seed=3)
    assert len(first["sample"]) == SAMPLE_SIZE
    assert first["sample"] == second["sample"]
    assert number_profile(values, seed=4)["sample"] != first["sample"]
