from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry
from lockgate.domain.gates import evaluate_gates
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, ModelVersion, NewModelVersion
from lockgate.domain.spec import parse_spec
from lockgate.ml.metrics import compute_metrics
from lockgate.ml.onnx_export import to_onnx
from lockgate.ml.training import train
from lockgate.services.evaluate import evaluate_candidate
from support.datasets import make_synthetic


def spec(task: str = "classification", **model_gates: Any):
    return parse_spec({"model": "m", "task": task, "target": "target", "gates": {"model": model_gates}})


def test_binary_metrics_score_the_positive_class() -> None:
    y = ["no", "yes", "yes", "no"]
    pred = ["no", "yes", "no", "no"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    metrics = compute_metrics("classification", y, pred, proba, ["no", "yes"], positive_class="yes")
    assert metrics["accuracy"] == 0.75
    assert metrics["roc_auc"] == 1.0
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["confusion_matrix"] == {"labels": ["no", "yes"], "matrix": [[2, 0], [1, 1]]}
    # scoring "no" as positive reads F1 from the other side
    assert compute_metrics("classification", y, pred, proba, ["no", "yes"], positive_class="no")["f1"] == 0.8


def test_multiclass_metrics_use_macro_averages() -> None:
    y = ["a", "b", "c", "a"]
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]])
    metrics = compute_metrics("classification", y, ["a", "b", "c", "b"], proba, ["a", "b", "c"])
    assert metrics["roc_auc"] == 1.0
    assert 0 < metrics["f1"] < 1 and metrics["log_loss"] > 0


def test_auc_is_none_when_the_holdout_has_one_class() -> None:
    metrics = compute_metrics(
        "classification", ["no", "no"], ["no", "no"], np.array([[0.9, 0.1]] * 2), ["no", "yes"]
    )
    assert metrics["roc_auc"] is None


def test_regression_metrics() -> None:
    metrics = compute_metrics("regression", [1.0, 2.0, 3.0], [1.0, 2.0, 5.0], None, None)
    assert metrics["mae"] == pytest.approx(2 / 3)
    assert metrics["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert metrics["r2"] == pytest.approx(-1.0)


def test_no_champion_passes_with_the_reason() -> None:
    report = evaluate_gates(spec(), {"roc_auc": 0.7}, None)
    assert report.passed and report.reasons == ["no champion yet"] and report.champion_basis == "none"


def test_floor_rejects_a_weak_candidate_even_without_champion() -> None:
    report = evaluate_gates(spec(min_metric=0.8), {"roc_auc": 0.7}, None)
    assert not report.passed and "below the minimum 0.8" in report.reason


def test_loss_metric_floor_is_a_ceiling() -> None:
    regression = spec("regression", min_metric=5.0)
    assert evaluate_gates(regression, {"rmse": 4.0}, None).passed
    assert not evaluate_gates(regression, {"rmse": 6.0}, None).passed


def test_challenger_must_beat_champion_by_the_absolute_margin() -> None:
    gated = spec(min_improvement_abs=0.01)
    assert evaluate_gates(gated, {"roc_auc": 0.92}, {"roc_auc": 0.90}).passed
    worse = evaluate_gates(gated, {"roc_auc": 0.905}, {"roc_auc": 0.90})
    assert not worse.passed and "does not beat the champion's 0.9000" in worse.reason
    assert worse.numbers()["champion"] == 0.90 and worse.numbers()["candidate"] == 0.905


def test_challenger_must_also_meet_the_relative_margin() -> None:
    gated = spec(min_improvement_abs=0.001, min_improvement_rel=0.05)  # 5% of 0.8 = 0.04
    assert not evaluate_gates(gated, {"roc_auc": 0.83}, {"roc_auc": 0.80}).passed
    assert evaluate_gates(gated, {"roc_auc": 0.85}, {"roc_auc": 0.80}).passed


def test_lower_is_better_metrics_improve_downwards() -> None:
    gated = spec("regression", min_improvement_abs=0.5)
    assert evaluate_gates(gated, {"rmse": 9.0}, {"rmse": 10.0}).passed
    assert not evaluate_gates(gated, {"rmse": 9.8}, {"rmse": 10.0}).passed
    assert not evaluate_gates(gated, {"rmse": 11.0}, {"rmse": 10.0}).passed


def test_with_zero_margins_a_tie_passes_and_a_worse_model_fails() -> None:
    assert evaluate_gates(spec(), {"roc_auc": 0.9}, {"roc_auc": 0.9}).passed
    assert not evaluate_gates(spec(), {"roc_auc": 0.89}, {"roc_auc": 0.9}).passed


# ------------------------------------------------ champion on the candidate's holdout


def crown(
    registry: InMemoryModelRegistry,
    *,
    version: int,
    model_artifact: str,
    signature: dict[str, Any],
    metrics: dict[str, Any],
) -> ModelVersion:
    """Make ``version`` of model "m" its champion; earlier numbers go to Pending predecessors."""
    for number in range(1, version + 1):
        registered = registry.create_model_version(
            NewModelVersion(
                model="m",
                status=APPROVED if number == version else PENDING,
                run_id=f"run-{number}",
                dataset_id="d" * 64,
                model_artifact=model_artifact if number == version else "0" * 64,
                baseline_id="b" * 64,
                holdout_id="h" * 64,
                spec_id="s" * 64,
                report_id="r" * 64,
                signature=signature,
                metrics=metrics,
                params={},
                seed=0,
                environment={},
                code_version="test",
                intent="test",
            )
        )
    assert registered.version == version
    registry.set_alias("m", CHAMPION, version, actor="test")
    return registered


@pytest.fixture(scope="module")
def candidate():
    df = make_synthetic(300, seed=11)
    model_spec = parse_spec(
        {"model": "m", "task": "classification", "target": "target", "algorithm": "logistic_regression"}
    )
    result = train(df, model_spec)
    holdout = result.x_holdout.copy()
    holdout["target"] = result.y_holdout
    return model_spec, result, to_onnx(result.pipeline, result.signature), holdout


def test_champion_is_scored_on_the_candidates_holdout(candidate) -> None:
    model_spec, result, onnx_bytes, holdout = candidate
    # GIVEN the champion is the very same model
    artifacts, registry = InMemoryArtifacts(), InMemoryModelRegistry()
    stored = artifacts.put_bytes("models", onnx_bytes, ext="onnx")
    crown(
        registry,
        version=3,
        model_artifact=stored.sha256,
        signature=result.signature,
        metrics={"roc_auc": 0.1},
    )
    evaluation = evaluate_candidate(
        spec=model_spec,
        candidate_onnx=onnx_bytes,
        signature=result.signature,
        holdout=holdout,
        artifacts=artifacts,
        registry=registry,
    )
    # THEN both got the same holdout score (not the champion's recorded 0.1) and a tie passes
    assert evaluation.gates.champion_basis == "same_holdout"
    assert evaluation.champion_metrics is not None
    assert evaluation.champion_metrics["roc_auc"] == evaluation.metrics["roc_auc"]
    assert evaluation.gates.passed and evaluation.gates.champion_version == 3


def test_champion_with_other_features_falls_back_to_recorded_metrics(candidate) -> None:
    model_spec, result, onnx_bytes, holdout = candidate
    signature = {**result.signature, "inputs": [{"name": "income", "type": "number"}]}
    registry = InMemoryModelRegistry()
    crown(registry, version=2, model_artifact="unused", signature=signature, metrics={"roc_auc": 0.999})
    evaluation = evaluate_candidate(
        spec=model_spec,
        candidate_onnx=onnx_bytes,
        signature=result.signature,
        holdout=holdout,
        artifacts=InMemoryArtifacts(),
        registry=registry,
    )
    assert evaluation.gates.champion_basis == "recorded_metrics"
    assert "income" in evaluation.notes[0]
    assert not evaluation.gates.passed


def test_no_champion_in_registry_means_no_champion(candidate) -> None:
    model_spec, result, onnx_bytes, holdout = candidate
    evaluation = evaluate_candidate(
        spec=model_spec,
        candidate_onnx=onnx_bytes,
        signature=result.signature,
        holdout=holdout,
        artifacts=InMemoryArtifacts(),
        registry=InMemoryModelRegistry(),
    )
    assert evaluation.gates.passed and evaluation.champion_metrics is None
    assert evaluation.metrics["roc_auc"] > 0.8
