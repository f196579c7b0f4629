from __future__ import annotations

from typing import Any

import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.domain.model_version import NewModelVersion
from lockgate.errors import ModelRejectedError
from support.datasets import make_synthetic
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events
from test_train import SPEC, stage


@pytest.fixture
def evaluate_platform(moto_platform: dict[str, str]) -> dict[str, str]:
    """The moto platform with every lockgate event captured on a queue (names["queue"])."""
    return {**moto_platform, "queue": capture_events(moto_platform["EVENT_BUS_NAME"])}


def trained(names: dict[str, str], spec: dict[str, Any], seed: int, run_id: str) -> dict[str, Any]:
    event = stage(names, spec, make_synthetic(300, seed=seed))
    event["run_id"] = run_id
    event["training"] = load_function("train").handler(event, FakeContext("train"))
    return event


def crown(names: dict[str, str], event: dict[str, Any]) -> int:
    t = event["training"]
    registry = DynamoDBModelRegistry(names["REGISTRY_TABLE"])
    version = registry.create_model_version(
        NewModelVersion(
            model="churn",
            status="Approved",
            run_id=event["run_id"],
            dataset_id=t["dataset_id"],
            model_artifact=t["model_id"],
            baseline_id=t["baseline_id"],
            holdout_id=t["holdout_id"],
            spec_id=t["spec_id"],
            report_id="r",
            signature=t["signature"],
            metrics=t["metrics"],
            params=t["params"],
            seed=t["seed"],
            environment=t["environment"],
            code_version="dev",
            intent="test",
        )
    )
    registry.set_alias("churn", "champion", version.version, actor="test")
    return version.version


def test_first_candidate_passes_without_a_champion(evaluate_platform: dict[str, str]) -> None:
    event = trained(evaluate_platform, SPEC, seed=1, run_id="r-1")
    out = load_function("evaluate").handler(event, FakeContext("evaluate"))
    assert out["gates"]["passed"] and out["gates"]["reasons"] == ["no champion yet"]
    run = DynamoDBRunStore(evaluate_platform["REGISTRY_TABLE"]).get("churn", "r-1")
    assert run.gates["passed"] is True and run.metrics["roc_auc"] > 0.7


def test_candidate_not_beating_the_champion_is_rejected_with_the_numbers(
    evaluate_platform: dict[str, str],
) -> None:
    # GIVEN a champion, and a challenger that must beat it by 0.05 AUC on the challenger's holdout
    champion = trained(evaluate_platform, SPEC, seed=1, run_id="r-1")
    version = crown(evaluate_platform, champion)
    strict = {**SPEC, "gates": {"model": {"min_improvement_abs": 0.05}}}
    challenger = trained(evaluate_platform, strict, seed=1, run_id="r-2")
    # WHEN it is evaluated
    with pytest.raises(ModelRejectedError) as caught:
        load_function("evaluate").handler(challenger, FakeContext("evaluate"))
    # THEN the run is rejected with both scores on the same holdout, and Model Rejected is announced
    assert caught.value.details["champion_version"] == version
    run = DynamoDBRunStore(evaluate_platform["REGISTRY_TABLE"]).get("churn", "r-2")
    assert run.status == "rejected" and "does not beat the champion" in (run.reason or "")
    assert run.gates["champion_basis"] == "same_holdout"
    assert run.gates["candidate"] == pytest.approx(run.gates["champion"])
    events = [e for e in drain_events(evaluate_platform["queue"]) if e["detail-type"] == "Model Rejected"]
    assert len(events) == 1 and events[0]["detail"]["run_id"] == "r-2"
    assert events[0]["detail"]["min_improvement_abs"] == 0.05


def test_sample_event_parses() -> None:
    event = load_event("evaluate", "candidate")
    assert {"model_id", "holdout_id", "signature"} <= set(event["training"])
