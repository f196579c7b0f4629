"""The DynamoDB model registry on moto: versions, approvals, aliases, rollback, concurrency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, REJECTED
from lockgate.errors import (
    AliasNotFoundError,
    InvalidRequestError,
    ModelNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)
from moto import mock_aws
from registry_support import Recorder, atomic_dynamodb, register
from support.resources import capture_events, create_platform, drain_events


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def registry(
    moto_platform: dict[str, str], monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> Iterator[DynamoDBModelRegistry]:
    with atomic_dynamodb(monkeypatch):
        yield DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"], publisher=recorder)


class FakeStepFunctions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_task_success(self, **kwargs: Any) -> None:
        self.calls.append(("success", kwargs))

    def send_task_failure(self, **kwargs: Any) -> None:
        self.calls.append(("failure", kwargs))


# ---------------------------------------------------------------- versions


def test_versions_are_numbered_from_one_and_read_back_with_floats_intact(
    registry: DynamoDBModelRegistry,
) -> None:
    # GIVEN a new model WHEN two runs register
    first = register(registry, run_id="r1", auc=0.8125)
    second = register(registry, run_id="r2")
    # THEN versions are 1 and 2, and what was stored reads back equal
    assert (first.version, second.version) == (1, 2)
    stored = registry.get_model_version("income", 1)
    assert stored.metrics["roc_auc"] == 0.8125
    assert stored == first
    assert [v.version for v in registry.list_model_versions("income")] == [1, 2]
    assert registry.list_models()[0].latest_version == 2


def test_a_retried_registration_of_the_same_run_returns_the_same_version(
    registry: DynamoDBModelRegistry,
) -> None:
    first = register(registry, run_id="r1")
    again = register(registry, run_id="r1")
    assert again.version == first.version
    assert len(registry.list_model_versions("income")) == 1


def test_twenty_concurrent_registrations_get_twenty_distinct_consecutive_versions(
    registry: DynamoDBModelRegistry, recorder: Recorder
) -> None:
    # GIVEN twenty training runs finishing at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        versions = list(pool.map(lambda i: register(registry, run_id=f"r{i}").version, range(20)))
    # THEN each got its own number, with no gap and no duplicate, and all are stored
    assert sorted(versions) == list(range(1, 21))
    assert [v.version for v in registry.list_model_versions("income")] == list(range(1, 21))
    assert {v.run_id for v in registry.list_model_versions("income")} == {f"r{i}" for i in range(20)}
    assert recorder.types().count("Model Registered") == 20


def test_missing_model_and_version_are_not_found(registry: DynamoDBModelRegistry) -> None:
    with pytest.raises(ModelNotFoundError):
        registry.list_model_versions("nope")
    register(registry, run_id="r1")
    with pytest.raises(VersionNotFoundError):
        registry.get_model_version("income", 7)


def test_to_dict_never_includes_the_task_token(registry: DynamoDBModelRegistry) -> None:
    version = register(registry, run_id="r1", status=PENDING)
    registry.set_task_token("income", version.version, "secret-token")
    wire = json.dumps(registry.get_model_version("income", 1).to_dict())
    assert "secret-token" not in wire


# ---------------------------------------------------------------- approvals


def test_approve_moves_pending_to_approved_records_who_and_resumes_the_execution(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    with mock_aws(), atomic_dynamodb(monkeypatch):
        names = create_platform(monkeypatch)
        sfn = FakeStepFunctions()
        registry = DynamoDBModelRegistry(
            names["REGISTRY_TABLE"], stepfunctions_client=sfn, publisher=recorder
        )
        # GIVEN a pending version whose execution waits on a token
        register(registry, run_id="r1", status=PENDING)
        registry.set_task_token("income", 1, "tok-1")
        # WHEN a reviewer approves it
        approved = registry.approve("income", 1, actor="alice", comment="looks good")
        # THEN it is Approved, the approval is recorded, and the execution resumes with the decision
        assert approved.status == APPROVED
        assert approved.approvals[-1]["actor"] == "alice"
        assert approved.approvals[-1]["comment"] == "looks good"
        kind, call = sfn.calls[0]
        assert kind == "success" and call["taskToken"] == "tok-1"
        assert json.loads(call["output"]) == {
            "approved": True,
            "version": 1,
            "actor": "alice",
            "comment": "looks good",
        }
        assert "Model Approved" in recorder.types()
        # AND a second decision is refused with the current state
        with pytest.raises(VersionConflictError, match="version 1 is already Approved"):
            registry.reject("income", 1, actor="bob")


def test_reject_fails_the_waiting_execution_with_model_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws(), atomic_dynamodb(monkeypatch):
        names = create_platform(monkeypatch)
        sfn = FakeStepFunctions()
        registry = DynamoDBModelRegistry(
            names["REGISTRY_TABLE"], stepfunctions_client=sfn, publisher=Recorder()
        )
        register(registry, run_id="r1", status=PENDING)
        registry.set_task_token("income", 1, "tok-1")
        rejected = registry.reject("income", 1, actor="bob", comment="bias on age")
        assert rejected.status == REJECTED
        kind, call = sfn.calls[0]
        assert kind == "failure" and call["error"] == "ModelRejected" and "bias on age" in call["cause"]


def test_a_decision_made_before_the_token_arrives_still_resumes_the_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mock_aws(), atomic_dynamodb(monkeypatch):
        names = create_platform(monkeypatch)
        sfn = FakeStepFunctions()
        registry = DynamoDBModelRegistry(
            names["REGISTRY_TABLE"], stepfunctions_client=sfn, publisher=Recorder()
        )
        # GIVEN a reviewer approved before the approval task stored its token
        register(registry, run_id="r1", status=PENDING)
        registry.approve("income", 1, actor="alice")
        assert sfn.calls == []
        # WHEN the token arrives THEN the execution is resumed at once
        registry.set_task_token("income", 1, "late-token")
        assert sfn.calls[0][0] == "success" and sfn.calls[0][1]["taskToken"] == "late-token"


def test_auto_approved_versions_cannot_be_approved_again(
    registry: DynamoDBModelRegistry, recorder: Recorder
) -> None:
    register(registry, run_id="r1", status=APPROVED)
    assert recorder.types() == ["Model Registered", "Model Approved"]
    with pytest.raises(VersionConflictError, match="already Approved"):
        registry.approve("income", 1, actor="alice")


# ---------------------------------------------------------------- aliases


def test_promotion_moves_champion_keeps_history_and_announces_it(
    registry: DynamoDBModelRegistry, recorder: Recorder
) -> None:
    for i in (1, 2):
        register(registry, run_id=f"r{i}")
    first = registry.set_alias("income", CHAMPION, 1, actor="ci")
    second = registry.set_alias("income", CHAMPION, 2, actor="ci", expected_revision=first.revision)
    assert (second.version, second.revision, second.previous_version) == (2, 2, 1)
    assert registry.get_version_by_alias("income", CHAMPION).version == 2
    assert registry.get_model_version("income", 2).aliases == [CHAMPION]
    assert registry.get_model_version("income", 1).aliases == []
    assert [(h.version, h.previous_version) for h in registry.alias_history("income", CHAMPION)] == [
        (1, None),
        (2, 1),
    ]
    assert recorder.types().count("Model Promoted") == 2


def test_a_stale_promotion_is_a_conflict_and_changes_nothing(registry: DynamoDBModelRegistry) -> None:
    for i in (1, 2, 3):
        register(registry, run_id=f"r{i}")
    seen = registry.set_alias("income", CHAMPION, 1, actor="ci")
    registry.set_alias("income", CHAMPION, 2, actor="alice", expected_revision=seen.revision)
    # WHEN bob promotes with the revision he read before alice's move
    with pytest.raises(VersionConflictError, match="no longer at revision 1"):
        registry.set_alias("income", CHAMPION, 3, actor="bob", expected_revision=seen.revision)
    # THEN alice's champion stands
    assert registry.get_alias("income", CHAMPION).version == 2


@pytest.mark.parametrize("status", [PENDING, REJECTED])
def test_only_approved_versions_can_be_champion(registry: DynamoDBModelRegistry, status: str) -> None:
    register(registry, run_id="r1", status=PENDING)
    if status == REJECTED:
        registry.reject("income", 1, actor="bob")
    with pytest.raises(VersionConflictError, match="only Approved"):
        registry.set_alias("income", CHAMPION, 1, actor="ci")
    with pytest.raises(AliasNotFoundError):
        registry.get_alias("income", CHAMPION)


def test_an_alias_can_never_point_at_a_missing_version(registry: DynamoDBModelRegistry) -> None:
    register(registry, run_id="r1")
    registry.set_alias("income", CHAMPION, 1, actor="ci")
    with pytest.raises(VersionNotFoundError):
        registry.set_alias("income", CHAMPION, 9, actor="ci")
    assert registry.get_alias("income", CHAMPION).version == 1


def test_rollback_walks_back_through_previous_champions(registry: DynamoDBModelRegistry) -> None:
    for i in (1, 2, 3):
        register(registry, run_id=f"r{i}")
        registry.set_alias("income", CHAMPION, i, actor="ci")
    # WHEN rolling back twice THEN the champion goes 3 → 2 → 1 (never back and forth)
    assert registry.rollback("income", actor="ops").version == 2
    assert registry.rollback("income", actor="ops").version == 1
    with pytest.raises(VersionConflictError, match="no earlier champion"):
        registry.rollback("income", actor="ops")
    # AND an explicit target works too, recorded as a rollback
    assert registry.rollback("income", to_version=3, actor="ops").version == 3
    assert registry.alias_history("income", CHAMPION)[-1].action == "rollback"


def test_rollback_without_a_champion_is_not_found(registry: DynamoDBModelRegistry) -> None:
    register(registry, run_id="r1")
    with pytest.raises(AliasNotFoundError):
        registry.rollback("income", actor="ops")


def test_concurrent_promotions_and_rollbacks_never_lose_a_move(registry: DynamoDBModelRegistry) -> None:
    # GIVEN ten approved versions
    for i in range(1, 11):
        register(registry, run_id=f"r{i}")
    registry.set_alias("income", CHAMPION, 1, actor="ci")

    def act(i: int) -> str:
        if i % 4 == 3:
            try:
                registry.rollback("income", actor=f"ops{i}")
            except VersionConflictError:
                return "conflict"
            return "rolled back"
        registry.set_alias("income", CHAMPION, 1 + i % 10, actor=f"ci{i}")
        return "set"

    # WHEN promotions and rollbacks race
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(act, range(32)))
    # THEN the revisions form one unbroken history and the champion is the last entry's version
    history = registry.alias_history("income", CHAMPION)
    assert [h.revision for h in history] == list(range(1, len(history) + 1))
    alias = registry.get_alias("income", CHAMPION)
    assert alias.revision == len(history) and alias.version == history[-1].version
    assert all(h.previous_version == prev.version for prev, h in zip(history, history[1:], strict=False))
    assert registry.get_model_version("income", alias.version).status == APPROVED
    assert outcomes.count("set") == 24


def test_events_go_to_the_bus_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        names = create_platform(monkeypatch)
        queue = capture_events(names["EVENT_BUS_NAME"])
        registry = DynamoDBModelRegistry(names["REGISTRY_TABLE"], dynamodb_client=boto3.client("dynamodb"))
        register(registry, run_id="r1")
        registry.set_alias("income", CHAMPION, 1, actor="ci")
        kinds = [e["detail-type"] for e in drain_events(queue)]
        assert sorted(kinds) == ["Model Approved", "Model Promoted", "Model Registered"]


@pytest.mark.parametrize(
    ("alias", "version"), [("été", 1), ("a/b", 1), ("x" * 65, 1), ("champion", 10**40), ("champion", 0)]
)
def test_set_alias_refuses_names_and_versions_it_could_not_serve(alias: str, version: int) -> None:
    with mock_aws():
        registry = DynamoDBModelRegistry("unused-table")
        with pytest.raises(InvalidRequestError):
            registry.set_alias("income", alias, version, actor="tester")


def test_a_reviewers_rejection_closes_the_run(registry: DynamoDBModelRegistry) -> None:
    runs = DynamoDBRunStore(registry.table_name)
    runs.start("income", "r9", dataset_id="a" * 64, trigger="upload")
    register(registry, run_id="r9", status=PENDING)
    registry.reject("income", 1, actor="bob", comment="bias on age")
    run = runs.get("income", "r9")
    assert run.status == "rejected" and run.reason == "rejected by bob: bias on age"
