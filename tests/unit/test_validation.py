"""Each data gate: what a person sees in the report when their data trips it (and when it does not)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lockgate.domain.spec import ModelSpec, parse_spec
from lockgate.ml.checks import validate_dataset


def spec(**fields: Any) -> ModelSpec:
    return parse_spec({"model": "churn", "task": "classification", "target": "churned", **fields})


def healthy(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows).astype(float)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    spend = rng.gamma(2.0, 30.0, rows)
    noisy = 0.03 * age + (plan == "pro") + rng.normal(0, 1, rows)
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "age": age,
            "plan": plan,
            "spend": spend,
            "churned": np.where(noisy > np.median(noisy), "yes", "no"),
        }
    )


def check(report: Any, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


def test_a_healthy_dataset_is_accepted_with_one_entry_per_check() -> None:
    report = validate_dataset(healthy(), spec(ignore=["customer_id"]))
    assert report.status == "accepted", report.reasons
    body = report.to_dict()
    assert {c["name"] for c in body["checks"]} >= {
        "schema.target",
        "rows.min",
        "nulls.max_fraction",
        "duplicates.max_fraction",
        "columns.constant",
        "target.missing",
        "target.class_share",
        "leakage",
        "changes.schema",
        "changes.range",
        "changes.categories",
    }
    assert all(set(c) == {"name", "status", "observed", "threshold", "message"} for c in body["checks"])
    assert body["profile"]["features"]["age"]["type"] == "number"


def test_missing_target_is_named() -> None:
    report = validate_dataset(healthy().drop(columns=["churned"]), spec())
    assert report.status == "rejected"
    assert "target column 'churned' is missing" in report.reasons[0]


def test_declared_features_missing_and_wrong_types_fail() -> None:
    df = healthy().assign(age=lambda d: d["age"].astype(str) + " years")
    report = validate_dataset(df, spec(features={"age": "number", "plan": "string", "tenure": "number"}))
    assert "declared feature(s) missing: tenure" in check(report, "schema.columns").message
    assert check(report, "schema.types").status == "fail"
    assert "age (declared number" in check(report, "schema.types").message


def test_too_few_rows() -> None:
    report = validate_dataset(healthy(rows=30), spec())
    assert check(report, "rows.min").status == "fail"
    assert check(report, "rows.min").threshold == 50


def test_null_fraction_names_the_column() -> None:
    df = healthy()
    df.loc[df.index[:200], "spend"] = np.nan
    c = check(validate_dataset(df, spec()), "nulls.max_fraction")
    assert c.status == "fail" and "spend (50%)" in c.message


def test_duplicate_rows() -> None:
    df = healthy(rows=100)
    df = pd.concat([df] * 3, ignore_index=True)
    c = check(validate_dataset(df, spec()), "duplicates.max_fraction")
    assert c.status == "fail" and c.observed == pytest.approx(2 / 3)


def test_constant_column_is_a_warning_not_a_rejection() -> None:
    report = validate_dataset(healthy().assign(country="NL"), spec(ignore=["customer_id"]))
    c = check(report, "columns.constant")
    assert c.status == "warn" and "country" in c.message and report.status == "accepted"


def test_missing_labels_and_rare_class() -> None:
    df = healthy()
    df.loc[df.index[:3], "churned"] = None
    df.loc[df.index[3:5], "churned"] = "maybe"
    report = validate_dataset(df, spec(gates={"data": {"min_class_share": 0.05}}))
    assert "3 row(s) have no 'churned' label" in check(report, "target.missing").message
    assert "class 'maybe'" in check(report, "target.class_share").message


def test_regression_target_must_be_finite_numbers() -> None:
    df = healthy().assign(churned=lambda d: d["spend"].astype(object))
    df.loc[df.index[:4], "churned"] = "n/a?"
    report = validate_dataset(df, parse_spec({"model": "m", "task": "regression", "target": "churned"}))
    assert check(report, "target.finite").status == "fail" and check(report, "target.finite").observed == 4


@pytest.mark.parametrize("kind", ["copy_as_text", "numeric_threshold", "noisy_numeric"])
def test_target_leakage_is_rejected_naming_the_column(kind: str) -> None:
    df = healthy(rows=2000)
    rng = np.random.default_rng(5)
    if kind == "copy_as_text":
        df["outcome_code"] = df["churned"].map({"yes": "C1", "no": "C0"})
    elif kind == "numeric_threshold":
        df["outcome_code"] = np.where(
            df["churned"] == "yes", rng.uniform(1, 2, len(df)), rng.uniform(-2, -1, len(df))
        )
    else:
        df["outcome_code"] = (df["churned"] == "yes") * 10 + rng.normal(0, 0.5, len(df))
    report = validate_dataset(df, spec(ignore=["customer_id"]))
    c = check(report, "leakage")
    assert c.status == "fail" and "outcome_code" in c.message and "spend" not in c.message


def test_ids_and_imbalanced_targets_do_not_look_like_leakage() -> None:
    df = healthy(rows=3000)
    df["churned"] = np.where(np.random.default_rng(2).random(len(df)) < 0.995, "no", "yes")
    c = check(validate_dataset(df, spec(gates={"data": {"min_class_share": 0.001}})), "leakage")
    assert c.status == "pass", c.message


def test_regression_leakage_uses_r2() -> None:
    df = healthy(rows=2000).assign(churned=lambda d: d["spend"] * 3 + 1, spend_copy=lambda d: d["spend"] * 3)
    df = df.drop(columns=["spend"])
    c = check(
        validate_dataset(df, parse_spec({"model": "m", "task": "regression", "target": "churned"})), "leakage"
    )
    assert c.status == "fail" and "spend_copy" in c.message and "R²" in c.message


def test_changes_against_the_last_accepted_dataset() -> None:
    # GIVEN the profile of an accepted dataset
    previous = validate_dataset(healthy(seed=1), spec()).profile
    # WHEN the next upload has far larger spend, a new plan everywhere, and age as text
    df = healthy(seed=2).assign(
        spend=lambda d: d["spend"] * 100, plan="enterprise", age=lambda d: d["age"].astype(str) + "y"
    )
    report = validate_dataset(df, spec(), previous=previous)
    # THEN each change is a failed check naming the column
    assert "age (number -> string)" in check(report, "changes.schema").message
    assert "spend" in check(report, "changes.range").message
    assert "plan (100%)" in check(report, "changes.categories").message


def test_a_similar_next_dataset_passes_the_change_checks() -> None:
    previous = validate_dataset(healthy(seed=1), spec()).profile
    report = validate_dataset(healthy(seed=2), spec(), previous=previous)
    assert all(
        check(report, n).status == "pass" for n in ("changes.schema", "changes.range", "changes.categories")
    )


def test_high_cardinality_text_column_is_refused() -> None:
    df = healthy().assign(email=lambda d: [f"user{i}@example.com" for i in range(len(d))])
    c = check(validate_dataset(df, spec()), "categories.max_count")
    assert c.status == "fail" and "email (400)" in c.message
