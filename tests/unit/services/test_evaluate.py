"""The evaluate use case on in-memory ports: candidate and champion judged on the same holdout,
the verdict recorded on the run, and a rejection recorded, announced and raised with its numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry, InMemoryRunStore, RecordingPublisher
from lockgate.domain.model_version import APPROVED, CHAMPION, NewModelVersion
from lockgate.domain.training_state import EvaluationRequest, TrainedCandidate
from lockgate.errors import ModelRejectedError
from lockgate.ml.tabular import read_table
from lockgate.services.evaluate import evaluate_step
from lockgate.services.train import train_candidate
from support.datasets import make_synthetic

SPEC: dict[str, Any] = {
    "model": "churn",
    "task": "classification",
    "target": "target",
    "algorithm": "gradient_boosting",
    "params": {"max_iter": 20},
}


@dataclass
class World:
    artifacts: InMemoryArtifacts
    runs: InMemoryRunStore
    registry: InMemoryModelRegistry
    publisher: RecordingPublisher

    def trained(
        self, spec: dict[str, Any], *, seed: int, run_id: str
    ) -> tuple[EvaluationRequest, TrainedCandidate]:
        """A candidate as the train task leaves it, and the evaluate task's input for it."""
        data = make_synthetic(300, seed=seed).to_csv(index=False).encode()
        spec_id = self.artifacts.put_json("specs", spec).sha256
        self.runs.start("churn", run_id, dataset_id="d", trigger="upload")
        candidate = train_candidate(
            artifacts=self.artifacts,
            read=lambda b: read_table(b, "csv", max_rows=10_000, max_decompressed_bytes=10_000_000),
            model="churn",
            run_id=run_id,
            dataset_id=self.artifacts.put_bytes("datasets", data).sha256,
            spec_id=spec_id,
            code_version="test",
        )
        event = {"model": "churn", "run_id": run_id, "spec": {"id": spec_id}, "training": candidate.to_dict()}
        return EvaluationRequest.from_event(event), candidate

    def crown(
        self,
        candidate: TrainedCandidate,
        *,
        signature: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> int:
        version = self.registry.create_model_version(
            NewModelVersion(
                model="churn",
                status=APPROVED,
                run_id=candidate.run_id,
                dataset_id=candidate.dataset_id,
                model_artifact=candidate.model_id,
                baseline_id=candidate.baseline_id,
                holdout_id=candidate.holdout_id,
                spec_id=candidate.spec_id,
                report_id="report",
                signature=signature or candidate.signature,
                metrics=metrics or candidate.metrics,
                params=candidate.params,
                seed=candidate.seed,
                environment=candidate.environment,
                code_version="test",
                intent="test",
            )
        ).version
        self.registry.set_alias("churn", CHAMPION, version, actor="test")
        return version

    def evaluate(self, request: EvaluationRequest) -> Any:
        return evaluate_step(
            request,
            artifacts=self.artifacts,
            runs=self.runs,
            registry=self.registry,
            publisher=self.publisher,
        )


@pytest.fixture
def world() -> World:
    runs = InMemoryRunStore()
    return World(InMemoryArtifacts(), runs, InMemoryModelRegistry(runs=runs), RecordingPublisher())


def test_the_first_candidate_passes_without_a_champion(world: World) -> None:
    request, _ = world.trained(SPEC, seed=1, run_id="r-1")
    out = world.evaluate(request).to_dict()
    assert out["gates"]["passed"] and out["gates"]["reasons"] == ["no champion yet"]
    run = world.runs.get("churn", "r-1")
    assert run.gates["passed"] is True and run.gates["champion_basis"] == "none"
    assert run.metrics["roc_auc"] == out["metrics"]["roc_auc"] > 0.7
    assert world.publisher.events == []


def test_a_candidate_not_beating_the_champion_by_the_margin_is_rejected_with_the_numbers(
    world: World,
) -> None:
    # GIVEN a champion, and a challenger trained the same way that must beat it by 0.05 AUC
    _, champion = world.trained(SPEC, seed=1, run_id="r-1")
    version = world.crown(champion)
    strict = {**SPEC, "gates": {"model": {"min_improvement_abs": 0.05}}}
    request, _ = world.trained(strict, seed=1, run_id="r-2")
    # WHEN it is evaluated
    with pytest.raises(ModelRejectedError) as caught:
        world.evaluate(request)
    # THEN both were scored on the challenger's holdout, the run says why, and it is announced
    assert caught.value.details["champion_version"] == version
    run = world.runs.get("churn", "r-2")
    assert run.status == "rejected" and "does not beat the champion" in (run.reason or "")
    assert run.gates["champion_basis"] == "same_holdout"
    assert run.gates["candidate"] == pytest.approx(run.gates["champion"])
    ((kind, detail),) = world.publisher.events
    assert kind == "Model Rejected" and detail["run_id"] == "r-2" and detail["min_improvement_abs"] == 0.05


def test_a_champion_that_cannot_read_the_holdout_is_judged_on_its_recorded_metrics(world: World) -> None:
    _, champion = world.trained(SPEC, seed=1, run_id="r-1")
    other = {**champion.signature, "inputs": [{"name": "income", "type": "number"}]}
    world.crown(champion, signature=other, metrics={"roc_auc": 0.999})
    request, _ = world.trained(SPEC, seed=2, run_id="r-2")
    with pytest.raises(ModelRejectedError, match="does not beat the champion's 0.9990"):
        world.evaluate(request)
    run = world.runs.get("churn", "r-2")
    assert run.gates["champion_basis"] == "recorded_metrics" and run.gates["champion"] == 0.999
    assert "needs feature(s) the holdout lacks: income" in run.gates["notes"][0]
