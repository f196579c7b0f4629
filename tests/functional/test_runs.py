from __future__ import annotations

import pytest
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.errors import RunNotFoundError


@pytest.fixture
def runs(moto_platform: dict[str, str]) -> DynamoDBRunStore:
    return DynamoDBRunStore(moto_platform["REGISTRY_TABLE"])


def test_a_run_moves_from_running_to_its_outcome_with_floats_intact(runs: DynamoDBRunStore) -> None:
    started = runs.start("m", "r-1", dataset_id="abc", trigger="upload")
    assert started.status == "running"
    runs.update("m", "r-1", metrics={"roc_auc": 0.9123, "log_loss": float("nan")}, seed=7)
    rejected = runs.mark_rejected("m", "r-1", "too weak", metric="roc_auc", candidate=0.9123, champion=0.95)
    assert rejected.status == "rejected" and rejected.reason == "too weak"
    assert rejected.metrics == {"roc_auc": 0.9123, "log_loss": None}
    assert rejected.gates["champion"] == 0.95 and rejected.seed == 7
    assert runs.get("m", "r-1").to_dict() == rejected.to_dict()


def test_redelivered_start_keeps_the_existing_run(runs: DynamoDBRunStore) -> None:
    runs.start("m", "r-1", dataset_id="abc", trigger="upload")
    runs.mark_failed("m", "r-1", "boom")
    again = runs.start("m", "r-1", dataset_id="abc", trigger="upload")
    assert again.status == "failed" and again.reason == "boom"


def test_unknown_runs_and_fields_are_refused(runs: DynamoDBRunStore) -> None:
    with pytest.raises(RunNotFoundError):
        runs.get("m", "nope")
    with pytest.raises(RunNotFoundError):
        runs.update("m", "nope", seed=1)
    runs.start("m", "r-1", dataset_id="abc", trigger="upload")
    with pytest.raises(ValueError, match="colour"):
        runs.update("m", "r-1", colour="red")


def test_list_runs_returns_every_run_of_the_model_oldest_first(runs: DynamoDBRunStore) -> None:
    runs.start("m", "r1", dataset_id="a", trigger="upload")
    runs.start("m", "r2", dataset_id="b", trigger="drift")
    runs.start("other", "r3", dataset_id="c", trigger="upload")
    assert [r.run_id for r in runs.list_runs("m")] == ["r1", "r2"]
    assert runs.list_runs("nobody") == []
