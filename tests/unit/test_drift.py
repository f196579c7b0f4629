"""The drift engine: agreement with scipy, the test-choice rules, and seeded drift detection."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from lockgate.ml.drift import (
    DriftConfig,
    chisquare_test,
    detect_drift,
    jensenshannon_distance,
    ks_test,
    normalized_wasserstein,
    psi,
    wasserstein_distance,
    z_test,
)
from scipy import stats
from scipy.spatial import distance

COLOURS = np.array(["red", "green", "blue"], dtype=object)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def test_statistics_agree_with_scipy(rng: np.random.Generator) -> None:
    # GIVEN two samples with ties and unequal sizes, and two frequency vectors
    a = np.round(rng.normal(0, 1, 3000), 2)
    b = np.round(rng.normal(0.2, 1.1, 1700), 2)
    ref, cur = np.array([50.0, 30.0, 20.0]), np.array([40.0, 30.0, 35.0])
    # THEN each statistic equals scipy's on the same data
    assert wasserstein_distance(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    assert normalized_wasserstein(a, b) == pytest.approx(
        stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9
    )
    assert ks_test(a, b) == pytest.approx(stats.ks_2samp(a, b).pvalue)
    assert chisquare_test(ref, cur) == pytest.approx(stats.chi2_contingency(np.vstack([ref, cur])).pvalue)
    assert jensenshannon_distance(ref, cur) == pytest.approx(
        distance.jensenshannon(ref / ref.sum(), cur / cur.sum())
    )
    expected_psi = np.sum((cur / cur.sum() - ref / ref.sum()) * np.log((cur / cur.sum()) / (ref / ref.sum())))
    assert psi(ref, cur) == pytest.approx(expected_psi)


def test_z_test_matches_the_two_proportion_formula() -> None:
    # GIVEN 60/100 versus 45/100 of the first value
    p = z_test(np.array([60.0, 40.0]), np.array([45.0, 55.0]))
    pooled = 105 / 200
    z = (0.6 - 0.45) / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    # THEN the p-value is the two-sided normal tail
    assert p == pytest.approx(2 * stats.norm.sf(z))


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "kind", "expected"),
    [
        (500, 500, "number", "ks"),
        (5000, 5000, "number", "wasserstein"),
        (5000, 300, "number", "ks"),  # a short window against a large baseline stays a p-value test
        (500, 500, "three", "chisquare"),
        (500, 500, "binary", "z"),
        (5000, 5000, "three", "jensenshannon"),
        (500, 500, "few-numbers", "chisquare"),
    ],
)
def test_each_test_choice_rule(
    rng: np.random.Generator, n_ref: int, n_cur: int, kind: str, expected: str
) -> None:
    def column(n: int) -> Any:
        if kind == "number":
            return rng.normal(0, 1, n)
        if kind == "few-numbers":
            return rng.integers(0, 4, n).astype(float)
        values = COLOURS if kind == "three" else COLOURS[:2]
        return rng.choice(values, n).tolist()

    result = detect_drift(reference={"f": column(n_ref)}, current={"f": column(n_cur)})
    assert result.features[0].test == expected


def test_forced_test_and_threshold_come_from_config(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    result = detect_drift(
        reference={"f": ref}, current={"f": cur}, config=DriftConfig(stattest="psi", threshold=0.2)
    )
    assert (result.features[0].test, result.features[0].threshold) == ("psi", 0.2)
    with pytest.raises(ValueError, match="unknown drift test"):
        DriftConfig(stattest="t-test")


@pytest.mark.parametrize("n", [600, 20_000])
def test_shifted_features_are_flagged_and_others_not(rng: np.random.Generator, n: int) -> None:
    # GIVEN a numeric shift of 0.5 std in x1 and a category frequency change in colour
    def data(shift: float, p: list[float]) -> dict[str, Any]:
        return {
            "x1": rng.normal(shift, 1, n),
            "x2": rng.normal(3, 2, n),
            "x3": rng.exponential(1, n),
            "colour": rng.choice(COLOURS, n, p=p).tolist(),
            "shape": rng.choice(COLOURS, n).tolist(),
        }

    reference, current = data(0, [0.5, 0.3, 0.2]), data(0.5, [0.2, 0.3, 0.5])
    # WHEN drift is detected
    result = detect_drift(reference=reference, current=current)
    # THEN exactly the changed features drift, and 2/5 stays under the default dataset share
    assert result.drifted_features == ["x1", "colour"]
    assert result.drift_share == pytest.approx(0.4) and not result.dataset_drift


def test_baseline_profile_reference_with_prediction_and_data_quality(rng: np.random.Generator) -> None:
    # GIVEN a baseline profile and serving data with missing values, out-of-range numbers and a new category
    sample = rng.normal(40, 10, 800)
    profile = {
        "rows": 800,
        "features": {
            "age": {
                "type": "number",
                "missing_fraction": 0.0,
                "min": float(sample.min()),
                "max": float(sample.max()),
                "sample": sample.tolist(),
            },
            "plan": {"type": "string", "missing_fraction": 0.0, "counts": {"basic": 500, "pro": 300}},
        },
        "prediction": {"type": "string", "missing_fraction": 0.0, "counts": {"no": 600, "yes": 200}},
    }
    age = rng.normal(40, 10, 300).tolist()
    age[:60] = [None] * 60
    age[60:90] = [500.0] * 30
    plan = ["basic"] * 150 + ["pro"] * 100 + ["enterprise"] * 50
    # WHEN drift is detected, with predictions swinging to "yes"
    result = detect_drift(
        reference=profile,
        current={"age": age, "plan": plan},
        current_predictions=["yes"] * 200 + ["no"] * 100,
    )
    quality = {q.feature: q for q in result.quality}
    # THEN the quality problems are named and the prediction drift is caught
    assert quality["age"].missing_fraction == pytest.approx(0.2) and quality[
        "age"
    ].out_of_range_fraction == pytest.approx(30 / 240, abs=0.01)
    assert len(quality["age"].issues) == 2
    assert quality["plan"].unseen_categories == ("enterprise",) and quality[
        "plan"
    ].unseen_fraction == pytest.approx(1 / 6, abs=1e-5)
    assert result.prediction is not None and result.prediction.test == "z" and result.prediction.drifted
    assert result.drifted and result.to_dict()["quality_issues"] == 3


def test_missing_current_column_counts_as_missing(rng: np.random.Generator) -> None:
    result = detect_drift(
        reference={"a": rng.normal(0, 1, 100), "b": rng.normal(0, 1, 100)},
        current={"a": rng.normal(0, 1, 50)},
    )
    assert result.quality[1].missing_fraction == 1.0 and result.n_current == 50
