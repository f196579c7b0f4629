"""The train use case on in-memory ports: every artifact stored by content, the run record filled in,
reproduce runs leave records alone, and a parity failure is recorded, announced and raised."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryRunStore, RecordingPublisher
from lockgate.domain.training_state import TrainedCandidate
from lockgate.errors import OnnxParityError, RunNotFoundError, TrainingError
from lockgate.ml.tabular import read_table
from lockgate.services.train import train_step
from support.datasets import breast_cancer

SPEC: dict[str, Any] = {
    "model": "cancer",
    "task": "classification",
    "target": "diagnosis",
    "algorithm": "logistic_regression",
    "positive_class": "malignant",
    "seed": 7,
}


def read(data: bytes) -> pd.DataFrame:
    return read_table(data, "csv", max_rows=100_000, max_decompressed_bytes=10_000_000)


@dataclass
class World:
    artifacts: InMemoryArtifacts
    runs: InMemoryRunStore
    publisher: RecordingPublisher
    dataset_id: str

    def train(
        self, spec: dict[str, Any] = SPEC, *, run_id: str = "r-1", trigger: str = "upload"
    ) -> TrainedCandidate:
        return train_step(
            artifacts=self.artifacts,
            runs=self.runs,
            publisher=self.publisher,
            read=read,
            model="cancer",
            run_id=run_id,
            dataset_id=self.dataset_id,
            spec_id=self.artifacts.put_json("specs", spec).sha256,
            code_version="test",
            trigger=trigger,
        )


@pytest.fixture(scope="module")
def data() -> bytes:
    return str(breast_cancer().to_csv(index=False)).encode()


@pytest.fixture
def world(data: bytes) -> World:
    artifacts = InMemoryArtifacts()
    return World(
        artifacts, InMemoryRunStore(), RecordingPublisher(), artifacts.put_bytes("datasets", data).sha256
    )


def test_a_run_stores_every_artifact_and_records_its_outcome(world: World) -> None:
    # WHEN the train task runs on the breast-cancer data
    candidate = world.train()
    # THEN the model, baseline, holdout and manifest are stored under their content ids
    assert world.artifacts.get_bytes("models", candidate.model_id, ext="onnx")
    baseline = world.artifacts.get_json("baselines", candidate.baseline_id)
    assert baseline["metrics"] == candidate.metrics
    holdout = pd.read_parquet(
        io.BytesIO(world.artifacts.get_bytes("holdouts", candidate.holdout_id, ext="parquet"))
    )
    assert "diagnosis" in holdout.columns and len(holdout) == round(569 * 0.2)
    manifest = world.artifacts.get_json("runs", candidate.manifest_id)
    assert manifest["dataset_id"] == world.dataset_id and manifest["seed"] == 7
    assert manifest["artifacts"]["model"] == candidate.model_id
    # AND the model is good, scored on the exported graph, for the declared positive class
    assert candidate.signature["classes"] == ["benign", "malignant"]
    assert candidate.metrics["roc_auc"] > 0.95 and candidate.parity["passed"]
    # AND the run record carries what a person needs to trust and reproduce it
    run = world.runs.get("cancer", "r-1")
    assert run.status == "running" and run.seed == 7 and run.code_version == "test"
    assert run.artifacts == candidate.artifact_ids()
    assert world.publisher.events == []


def test_the_same_inputs_give_the_same_model_bytes_and_reproduce_records_nothing(world: World) -> None:
    first = world.train()
    again = world.train(run_id="repro-r-1", trigger="reproduce")
    assert (again.model_id, again.metrics) == (first.model_id, first.metrics)
    with pytest.raises(RunNotFoundError):
        world.runs.get("cancer", "repro-r-1")


def test_a_parity_failure_rejects_the_run_with_its_numbers(world: World) -> None:
    strict = {**SPEC, "gates": {"model": {"parity_tolerance": 1e-15}}}
    with pytest.raises(OnnxParityError) as caught:
        world.train(strict)
    run = world.runs.get("cancer", "r-1")
    assert run.status == "rejected" and "disagrees with scikit-learn" in (run.reason or "")
    ((kind, detail),) = world.publisher.events
    assert kind == "Model Rejected" and detail["parity"]["tolerance"] == 1e-15
    assert detail["parity"]["max_abs_diff"] == caught.value.details["max_abs_diff"]
    assert {kind for kind, _ in world.artifacts.blobs} == {"datasets", "specs"}  # no model stored


def test_a_spec_for_another_model_is_refused(world: World) -> None:
    with pytest.raises(TrainingError, match="not 'cancer'"):
        world.train({**SPEC, "model": "churn"})
