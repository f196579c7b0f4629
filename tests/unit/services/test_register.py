"""The register use case with in-memory ports: status from the spec, a model card, idempotency."""

from __future__ import annotations

import copy
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry, InMemoryRunStore, RecordingPublisher
from lockgate.domain.model_version import APPROVED, PENDING
from lockgate.domain.training_state import Candidate, GateResult
from lockgate.services.register import register_candidate

ROOT = Path(__file__).resolve().parents[3]


def candidate_state(artifacts: InMemoryArtifacts, *, approval: str, **spec: Any) -> dict[str, Any]:
    """The register task's real input event, with a spec stored in the fake artifact store."""
    state: dict[str, Any] = json.loads((ROOT / "events/register/candidate.json").read_text())
    body = {"model": "income", "task": "classification", "target": "income", "approval": approval, **spec}
    state["spec"] = {"id": artifacts.put_json("specs", body).sha256}
    return state


@pytest.fixture
def ports() -> tuple[InMemoryModelRegistry, InMemoryArtifacts, InMemoryRunStore, RecordingPublisher]:
    publisher, runs = RecordingPublisher(), InMemoryRunStore()
    return InMemoryModelRegistry(publisher=publisher, runs=runs), InMemoryArtifacts(), runs, publisher


@pytest.mark.parametrize(("approval", "status"), [("auto", APPROVED), ("manual", PENDING)])
def test_the_spec_decides_whether_a_candidate_needs_a_reviewer(
    ports: tuple[InMemoryModelRegistry, InMemoryArtifacts, InMemoryRunStore, RecordingPublisher],
    approval: str,
    status: str,
) -> None:
    registry, artifacts, runs, publisher = ports
    # GIVEN a candidate whose training run is on record, under an auto or manual spec
    state = candidate_state(artifacts, approval=approval, description="Flag high earners.")
    runs.start("income", state["run_id"], dataset_id=state["dataset"]["id"], trigger="upload")
    # WHEN it is registered
    registration = register_candidate(
        Candidate.from_state(state), registry=registry, artifacts=artifacts, runs=runs, code_version="dev"
    )
    # THEN version 1 has the status the spec asks for, the run's numbers and the spec's intent
    version = registry.get_model_version("income", 1)
    assert (registration.version, registration.status) == (1, status)
    assert version.metrics == {"accuracy": 0.84, "roc_auc": 0.89, "f1": 0.61, "log_loss": 0.35}
    assert version.intent == "Flag high earners."
    assert version.model_artifact == state["training"]["model_artifact"]
    assert version.code_version == "0.1.0"
    # AND its card is in the artifact store under the id the registry keeps
    assert registration.model_card_id == version.model_card_id
    card = artifacts.get_bytes("cards", str(registration.model_card_id), ext="md").decode()
    assert card.startswith("# Model card: income v1")
    # AND the run knows its version, and only an auto-approved version is announced as approved
    assert runs.get("income", state["run_id"]).version == 1
    assert ("Model Approved" in publisher.types()) is (status == APPROVED)


def test_a_retried_registration_returns_the_same_version_and_card(
    ports: tuple[InMemoryModelRegistry, InMemoryArtifacts, InMemoryRunStore, RecordingPublisher],
) -> None:
    registry, artifacts, runs, publisher = ports
    state = candidate_state(artifacts, approval="auto")
    candidate = Candidate.from_state(state)
    first = register_candidate(
        candidate, registry=registry, artifacts=artifacts, runs=runs, code_version="dev"
    )
    second = register_candidate(
        candidate, registry=registry, artifacts=artifacts, runs=runs, code_version="dev"
    )
    assert first == second
    assert [v.version for v in registry.list_model_versions("income")] == [1]
    assert publisher.types().count("Model Registered") == 1


def test_a_run_without_a_code_version_or_seed_takes_the_platform_and_spec_defaults(
    ports: tuple[InMemoryModelRegistry, InMemoryArtifacts, InMemoryRunStore, RecordingPublisher],
) -> None:
    registry, artifacts, runs, _ = ports
    state = candidate_state(artifacts, approval="auto", seed=7)
    del state["training"]["code_version"], state["training"]["seed"]
    register_candidate(
        Candidate.from_state(state), registry=registry, artifacts=artifacts, runs=runs, code_version="9.9"
    )
    version = registry.get_model_version("income", 1)
    assert (version.code_version, version.seed) == ("9.9", 7)


def test_the_gate_report_appears_on_the_card_once_parsed() -> None:
    # GIVEN the evaluate task's gate report in the state
    state: dict[str, Any] = json.loads((ROOT / "events/promote/approved.json").read_text())
    # WHEN the candidate is parsed THEN the report is one named gate with its reasons
    assert Candidate.from_state(state).gates == (
        GateResult(name="model gates (roc_auc)", passed=True, detail="no champion yet"),
    )
    # AND without reasons the numbers are the detail; without a report there are no gates
    quiet = copy.deepcopy(state)
    quiet["evaluation"]["gates"]["reasons"] = []
    (gate,) = Candidate.from_state(quiet).gates
    assert gate.detail == {"metric": "roc_auc", "candidate": 0.89, "champion": None, "reasons": []}
    del quiet["evaluation"]
    assert Candidate.from_state(quiet).gates == ()


def test_concurrent_registrations_share_no_number_and_skip_none(
    ports: tuple[InMemoryModelRegistry, InMemoryArtifacts, InMemoryRunStore, RecordingPublisher],
) -> None:
    # GIVEN twelve candidates of distinct runs, each registered three times at once (retries)
    registry, artifacts, runs, _ = ports
    base = candidate_state(artifacts, approval="manual")
    candidates = [Candidate.from_state({**base, "run_id": f"r{i}"}) for i in range(12)]
    order = [c for c in candidates for _ in range(3)]
    random.Random(3).shuffle(order)
    # WHEN they race
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda c: register_candidate(
                    c, registry=registry, artifacts=artifacts, runs=runs, code_version="t"
                ),
                order,
            )
        )
    # THEN versions are 1..12, one per run, and every retry got its run's version
    by_run = {c.run_id: r.version for c, r in zip(order, results, strict=True)}
    assert sorted(by_run.values()) == list(range(1, 13))
    assert all(by_run[c.run_id] == r.version for c, r in zip(order, results, strict=True))
