"""Evaluate: the training state machine's evaluate task. Candidate and champion on the same holdout,
then the model gates (``lockgate.domain.gates``), the outcome recorded on the run.

A failed gate marks the run rejected with the numbers, announces ``Model Rejected`` and raises
:class:`~lockgate.errors.ModelRejectedError` (the state machine ends in ``CandidateRejected``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lockgate.domain import events
from lockgate.domain.gates import Evaluation, evaluate_gates
from lockgate.domain.spec import ModelSpec, parse_spec
from lockgate.domain.training_state import EvaluationRequest
from lockgate.errors import AliasNotFoundError, ModelNotFoundError, ModelRejectedError
from lockgate.ml.evaluation import holdout_metrics, read_holdout, signature_fits
from lockgate.ports import ArtifactReader, ChampionModel, ChampionSource, Publisher, RunStore

CHAMPION = "champion"


def evaluate_candidate(
    *,
    spec: ModelSpec,
    candidate_onnx: bytes,
    signature: dict[str, Any],
    holdout: pd.DataFrame,
    artifacts: ArtifactReader,
    registry: ChampionSource,
) -> Evaluation:
    """Candidate and champion on the same holdout, then the gates."""
    notes: list[str] = []
    metrics = holdout_metrics(candidate_onnx, holdout, signature, spec)
    champion: ChampionModel | None
    try:
        champion = registry.get_version_by_alias(spec.model, CHAMPION)
    except (AliasNotFoundError, ModelNotFoundError):
        champion = None
    champion_metrics: dict[str, Any] | None = None
    basis, version = None, None
    if champion is not None:
        version = int(champion.version)
        unfit = signature_fits(champion.signature, holdout, signature)
        if unfit is None:
            champion_onnx = artifacts.get_bytes("models", champion.model_artifact, ext="onnx")
            champion_metrics = holdout_metrics(champion_onnx, holdout, champion.signature, spec)
            basis = "same_holdout"
        else:
            champion_metrics = dict(champion.metrics)
            basis = "recorded_metrics"
            notes.append(f"champion v{version} judged on its recorded metrics: {unfit}")
    gates = evaluate_gates(spec, metrics, champion_metrics, champion_version=version, champion_basis=basis)
    return Evaluation(metrics=metrics, champion_metrics=champion_metrics, gates=gates, notes=notes)


def evaluate_step(
    request: EvaluationRequest,
    *,
    artifacts: ArtifactReader,
    runs: RunStore,
    registry: ChampionSource,
    publisher: Publisher,
) -> Evaluation:
    """The state machine's evaluate task: gates on the run's holdout, outcome recorded on the run."""
    model, run_id = request.model, request.run_id
    spec = parse_spec(artifacts.get_json("specs", request.spec_id))
    holdout = read_holdout(artifacts.get_bytes("holdouts", request.holdout_id, ext="parquet"))
    candidate_onnx = artifacts.get_bytes("models", request.model_id, ext="onnx")
    result = evaluate_candidate(
        spec=spec,
        candidate_onnx=candidate_onnx,
        signature=request.signature,
        holdout=holdout,
        artifacts=artifacts,
        registry=registry,
    )
    gates = {**result.gates.to_dict(), "champion_metrics": result.champion_metrics, "notes": result.notes}
    runs.update(model, run_id, metrics=result.metrics, gates=gates)
    if not result.gates.passed:
        numbers = result.gates.numbers()
        runs.mark_rejected(model, run_id, result.gates.reason, **numbers)
        publisher(
            events.MODEL_REJECTED,
            {"model": model, "run_id": run_id, "reason": result.gates.reason, **numbers},
        )
        raise ModelRejectedError(
            f"candidate rejected: {result.gates.reason}", model=model, run_id=run_id, **numbers
        )
    return result
