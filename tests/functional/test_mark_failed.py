"""The MarkFailed Catch target: run failed with its reason, nothing half-registered, event out."""

from __future__ import annotations

from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.domain.model_version import APPROVED, PENDING, REJECTED
from registry_support import register
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events


def test_a_training_error_marks_the_run_failed_and_emits_training_failed(
    moto_platform: dict[str, str],
) -> None:
    # GIVEN a running run whose training task raised
    runs = DynamoDBRunStore(moto_platform["REGISTRY_TABLE"])
    event = load_event("mark_failed", "training_error")
    runs.start("income", event["run_id"], dataset_id=event["dataset"]["id"], trigger="upload")
    queue = capture_events(moto_platform["EVENT_BUS_NAME"])
    # WHEN the Catch target runs
    load_function("mark_failed").handler(event, FakeContext("mark_failed"))
    # THEN the run is failed with a reason a person can read (no stack trace)
    run = runs.get("income", event["run_id"])
    assert run.status == "failed"
    assert run.reason == "TrainingError: estimator failed to converge: inputs contain NaN"
    # AND Training Failed carries model, run, dataset, error and cause
    (failed,) = [e for e in drain_events(queue) if e["detail-type"] == "Training Failed"]
    assert failed["detail"]["model"] == "income"
    assert failed["detail"]["run_id"] == event["run_id"]
    assert failed["detail"]["dataset_id"] == event["dataset"]["id"]
    assert failed["detail"]["error"] == "TrainingError"
    assert "stackTrace" not in failed["detail"]["cause"]
    # AND no version was registered
    assert DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"]).list_models() == []


def test_a_pending_version_of_the_failed_run_is_rejected(moto_platform: dict[str, str]) -> None:
    registry = DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"])
    event = load_event("mark_failed", "approval_timeout")
    register(registry, run_id=event["run_id"], status=PENDING)
    result = load_function("mark_failed").handler(event, FakeContext("mark_failed"))
    version = registry.get_model_version("income", 1)
    assert version.status == REJECTED
    assert version.approvals[-1]["comment"].startswith("training failed: States.Timeout")
    assert result["rejected_version"] == 1


def test_an_approved_version_that_serves_is_left_alone(moto_platform: dict[str, str]) -> None:
    registry = DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"])
    event = load_event("mark_failed", "approval_timeout")
    register(registry, run_id=event["run_id"], status=APPROVED)
    registry.set_alias("income", "champion", 1, actor="tester")
    load_function("mark_failed").handler(event, FakeContext("mark_failed"))
    assert registry.get_model_version("income", 1).status == APPROVED


def test_an_approved_version_of_a_failed_run_that_never_served_is_rejected(
    moto_platform: dict[str, str],
) -> None:
    # e.g. the model card could not be written after registration: the version must not stay
    # servable by ?version=N without its card
    registry = DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"])
    event = load_event("mark_failed", "approval_timeout")
    register(registry, run_id=event["run_id"], status=APPROVED)
    load_function("mark_failed").handler(event, FakeContext("mark_failed"))
    version = registry.get_model_version("income", 1)
    assert version.status == "Rejected" and "training failed" in version.approvals[-1]["comment"]
