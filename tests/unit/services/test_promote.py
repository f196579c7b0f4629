"""Promotion, approval and rollback with in-memory ports: the rules a reviewer or an operator meets."""

from __future__ import annotations

import random

import pytest
from fakes.lifecycle import InMemoryModelRegistry, InMemoryRunStore, RecordingPublisher, RecordingTaskTokens
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, REJECTED, NewModelVersion
from lockgate.domain.run import SUCCEEDED
from lockgate.domain.training_state import ApprovalWait, PromoteRequest
from lockgate.errors import InvalidRequestError, VersionConflictError, VersionNotFoundError
from lockgate.services.promote import await_approval, promote_candidate


def new(run_id: str, status: str = APPROVED, model: str = "income") -> NewModelVersion:
    return NewModelVersion(
        model=model,
        status=status,
        run_id=run_id,
        dataset_id="a" * 64,
        model_artifact="d" * 64,
        baseline_id="e" * 64,
        holdout_id="f" * 64,
        spec_id="b" * 64,
        report_id="c" * 64,
        signature={"task": "classification"},
        metrics={"roc_auc": 0.8},
        params={},
        seed=42,
        environment={},
        code_version="0.1.0",
        intent="predict y",
    )


@pytest.fixture
def runs() -> InMemoryRunStore:
    return InMemoryRunStore()


@pytest.fixture
def tokens() -> RecordingTaskTokens:
    return RecordingTaskTokens()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def registry(
    runs: InMemoryRunStore, tokens: RecordingTaskTokens, publisher: RecordingPublisher
) -> InMemoryModelRegistry:
    return InMemoryModelRegistry(publisher=publisher, runs=runs, task_tokens=tokens)


def test_promotion_makes_the_runs_version_champion_and_the_run_succeeded(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, publisher: RecordingPublisher
) -> None:
    # GIVEN a champion and a newer approved version from a recorded run
    registry.create_model_version(new("r1"))
    promote_candidate(PromoteRequest("income", 1, "r1"), registry=registry, runs=runs)
    runs.start("income", "r2", dataset_id="a" * 64, trigger="upload")
    registry.create_model_version(new("r2"))
    # WHEN the promote task runs for it
    promotion = promote_candidate(PromoteRequest("income", 2, "r2"), registry=registry, runs=runs)
    # THEN it is champion, the previous one is reported, and the run succeeded with that version
    assert promotion.to_dict() == {"champion": 2, "previous": 1}
    assert registry.get_version_by_alias("income", CHAMPION).version == 2
    run = runs.get("income", "r2")
    assert (run.status, run.version) == (SUCCEEDED, 2)
    promoted = publisher.of("Model Promoted")
    assert [p["version"] for p in promoted] == [1, 2]
    assert promoted[-1]["reason"] == "run r2 passed its gates" and promoted[-1]["actor"] == "lockgate"


def test_a_retried_promotion_changes_nothing(registry: InMemoryModelRegistry, runs: InMemoryRunStore) -> None:
    registry.create_model_version(new("r1"))
    request = PromoteRequest.from_state({"model": "income", "run_id": "r1", "registration": {"version": 1}})
    first = promote_candidate(request, registry=registry, runs=runs)
    again = promote_candidate(request, registry=registry, runs=runs)
    assert first == again
    assert len(registry.alias_history("income", CHAMPION)) == 1


def test_a_pending_version_cannot_be_promoted(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore
) -> None:
    registry.create_model_version(new("r1", PENDING))
    with pytest.raises(VersionConflictError, match="only Approved"):
        promote_candidate(PromoteRequest("income", 1, "r1"), registry=registry, runs=runs)


def test_a_parked_execution_resumes_when_the_reviewer_approves(
    registry: InMemoryModelRegistry, tokens: RecordingTaskTokens
) -> None:
    # GIVEN a pending version whose execution waits on a token
    registry.create_model_version(new("r1", PENDING))
    wait = ApprovalWait.from_event({"token": "tok-1", "model": "income", "version": 1})
    await_approval(wait, registry=registry)
    assert tokens.succeeded == {} and wait.to_dict() == {"model": "income", "version": 1, "waiting": True}
    # WHEN a reviewer approves THEN the execution resumes with the decision
    registry.approve("income", 1, actor="alice", comment="ok")
    assert tokens.succeeded["tok-1"] == {"approved": True, "version": 1, "actor": "alice", "comment": "ok"}
    # AND a second decision is refused
    with pytest.raises(VersionConflictError, match="already Approved"):
        registry.reject("income", 1, actor="bob")


def test_a_decision_before_the_token_arrives_still_resumes_the_execution(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, tokens: RecordingTaskTokens
) -> None:
    runs.start("income", "r1", dataset_id="a" * 64, trigger="upload")
    registry.create_model_version(new("r1", PENDING))
    registry.reject("income", 1, actor="bob", comment="bias on age")
    await_approval(ApprovalWait("income", 1, "late"), registry=registry)
    error, cause = tokens.failed["late"]
    assert error == "ModelRejected" and "bias on age" in cause
    # AND the rejection closed the run
    run = runs.get("income", "r1")
    assert (run.status, run.reason) == ("rejected", "rejected by bob: bias on age")
    assert registry.get_model_version("income", 1).status == REJECTED


def test_rollback_walks_back_through_previous_champions(registry: InMemoryModelRegistry) -> None:
    for i in (1, 2, 3):
        registry.create_model_version(new(f"r{i}"))
        registry.set_alias("income", CHAMPION, i, actor="ci")
    assert registry.rollback("income", actor="ops").version == 2
    assert registry.rollback("income", actor="ops").version == 1
    with pytest.raises(VersionConflictError, match="no earlier champion"):
        registry.rollback("income", actor="ops")
    assert registry.rollback("income", to_version=3, actor="ops").version == 3
    assert registry.alias_history("income", CHAMPION)[-1].action == "rollback"


def test_a_stale_move_is_refused_and_alias_names_are_checked(registry: InMemoryModelRegistry) -> None:
    for i in (1, 2, 3):
        registry.create_model_version(new(f"r{i}"))
    seen = registry.set_alias("income", CHAMPION, 1, actor="ci")
    registry.set_alias("income", CHAMPION, 2, actor="alice", expected_revision=seen.revision)
    with pytest.raises(VersionConflictError, match="no longer at revision 1"):
        registry.set_alias("income", CHAMPION, 3, actor="bob", expected_revision=seen.revision)
    with pytest.raises(VersionNotFoundError):
        registry.set_alias("income", CHAMPION, 9, actor="ci")
    with pytest.raises(InvalidRequestError):
        registry.set_alias("income", "a/b", 1, actor="ci")
    assert registry.get_alias("income", CHAMPION).version == 2


def test_random_moves_leave_one_unbroken_alias_history(registry: InMemoryModelRegistry) -> None:
    # GIVEN ten approved versions and a seeded sequence of promotions and rollbacks
    rng = random.Random(12)
    for i in range(1, 11):
        registry.create_model_version(new(f"r{i}"))
    registry.set_alias("income", CHAMPION, 1, actor="ci")
    for _ in range(40):
        if rng.random() < 0.3:
            try:
                registry.rollback("income", actor="ops")
            except VersionConflictError:
                pass
        else:
            registry.set_alias("income", CHAMPION, rng.randint(1, 10), actor="ci")
    # THEN revisions are consecutive, each move starts where the last ended, the alias is the last
    history = registry.alias_history("income", CHAMPION)
    assert [h.revision for h in history] == list(range(1, len(history) + 1))
    assert all(h.previous_version == prev.version for prev, h in zip(history, history[1:], strict=False))
    assert registry.get_alias("income", CHAMPION).version == history[-1].version
