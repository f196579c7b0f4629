"""Recording a failed training execution with in-memory ports: the run, the version, the event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes.lifecycle import InMemoryModelRegistry, InMemoryRunStore, RecordingPublisher
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, REJECTED, NewModelVersion
from lockgate.domain.run import FAILED
from lockgate.domain.training_state import FailedExecution, describe_failure
from lockgate.services.fail import record_training_failure

ROOT = Path(__file__).resolve().parents[3]


def failed_state(case: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((ROOT / "events/mark_failed" / f"{case}.json").read_text())
    return state


def version_of(state: dict[str, Any], status: str) -> NewModelVersion:
    return NewModelVersion(
        model=state["model"],
        status=status,
        run_id=state["run_id"],
        dataset_id=state["dataset"]["id"],
        model_artifact="d" * 64,
        baseline_id="e" * 64,
        holdout_id="f" * 64,
        spec_id="b" * 64,
        report_id="c" * 64,
        signature={},
        metrics={"roc_auc": 0.89},
        params={},
        seed=42,
        environment={},
        code_version="0.1.0",
        intent="",
    )


@pytest.fixture
def runs() -> InMemoryRunStore:
    return InMemoryRunStore()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def registry(runs: InMemoryRunStore, publisher: RecordingPublisher) -> InMemoryModelRegistry:
    return InMemoryModelRegistry(publisher=publisher, runs=runs)


def test_a_training_error_fails_the_run_and_is_announced_without_its_stack_trace(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    # GIVEN a running run whose training raised
    state = failed_state("training_error")
    runs.start("income", state["run_id"], dataset_id=state["dataset"]["id"], trigger="upload")
    # WHEN the failure is recorded
    recorded = record_training_failure(
        FailedExecution.from_state(state), registry=registry, runs=runs, publisher=publisher
    )
    # THEN the run failed with the one-line reason and the event says why, with no version involved
    run = runs.get("income", state["run_id"])
    assert run.status == FAILED
    assert run.reason == "TrainingError: estimator failed to converge: inputs contain NaN"
    (detail,) = publisher.of("Training Failed")
    assert detail == recorded.to_dict()
    assert detail["dataset_id"] == state["dataset"]["id"] and detail["rejected_version"] is None
    assert "stackTrace" not in detail["cause"]
    assert registry.list_models() == []


def test_a_failure_before_training_still_leaves_a_failed_run_on_record(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    state = failed_state("training_error")
    record_training_failure(
        FailedExecution.from_state(state), registry=registry, runs=runs, publisher=publisher
    )
    run = runs.get("income", state["run_id"])
    assert (run.status, run.trigger, run.dataset_id) == (FAILED, "upload", state["dataset"]["id"])


def test_a_timed_out_approval_rejects_the_pending_version(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    # GIVEN the run registered a version that waited for a reviewer until the timeout
    state = failed_state("approval_timeout")
    registry.create_model_version(version_of(state, PENDING))
    # WHEN the failure is recorded THEN the version is Rejected with the reason, and it is reported
    recorded = record_training_failure(
        FailedExecution.from_state(state), registry=registry, runs=runs, publisher=publisher
    )
    version = registry.get_model_version("income", 1)
    assert version.status == REJECTED
    assert version.approvals[-1]["comment"].startswith("training failed: States.Timeout")
    assert recorded.rejected_version == 1
    # AND rerunning the same run registers a fresh version
    assert registry.get_version_by_run("income", state["run_id"]) is None


def test_a_version_already_serving_is_left_alone(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    state = failed_state("approval_timeout")
    registry.create_model_version(version_of(state, APPROVED))
    registry.set_alias("income", CHAMPION, 1, actor="ci")
    recorded = record_training_failure(
        FailedExecution.from_state(state), registry=registry, runs=runs, publisher=publisher
    )
    assert registry.get_model_version("income", 1).status == APPROVED
    assert recorded.rejected_version is None


def test_the_event_goes_out_even_when_the_run_store_is_failing(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    state = failed_state("training_error")
    runs.broken = ConnectionError("the table is throttling")
    record_training_failure(
        FailedExecution.from_state(state), registry=registry, runs=runs, publisher=publisher
    )
    assert publisher.types() == ["Training Failed"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, ("UnknownError", "")),
        ({"Error": "States.Timeout", "Cause": "  waited too long \n"}, ("States.Timeout", "waited too long")),
        ({"Error": "E", "Cause": json.dumps({"message": "boom"})}, ("E", "boom")),
        ({"Error": "E", "Cause": json.dumps({"other": 1})}, ("E", '{"other": 1}')),
    ],
)
def test_describe_failure_reduces_a_cause_to_one_line(
    error: dict[str, Any] | None, expected: tuple[str, str]
) -> None:
    assert describe_failure(error) == expected
