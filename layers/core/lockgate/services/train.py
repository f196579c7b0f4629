"""Train: the training state machine's train task, around :func:`train_candidate`.

Train, export to ONNX, prove parity, score the exported graph (what serving will run) on the
holdout, profile the training data for drift monitoring, and store every artifact content-addressed.
The run record carries the outcome; reproduce runs (``trigger == "reproduce"``) leave it alone.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from lockgate.domain import events
from lockgate.domain.spec import parse_spec
from lockgate.domain.training_state import TrainedCandidate
from lockgate.errors import OnnxParityError, TrainingError
from lockgate.ml.metrics import compute_metrics, positive_label
from lockgate.ml.onnx_export import check_parity, run_onnx, to_onnx
from lockgate.ml.profile import build_baseline
from lockgate.ml.training import holdout_bytes, jsonable, train
from lockgate.ports import ArtifactStore, Publisher, RunStore

TableReader = Callable[[bytes], pd.DataFrame]
"""Parses a stored dataset's bytes (``lockgate.ml.tabular.read_table`` with the function's limits)."""


def train_candidate(
    *,
    artifacts: ArtifactStore,
    read: TableReader,
    model: str,
    run_id: str,
    dataset_id: str,
    spec_id: str,
    code_version: str,
    trigger: str = "upload",
) -> TrainedCandidate:
    """Train, export, check parity, profile, and store every artifact content-addressed.

    Raises :class:`~lockgate.errors.OnnxParityError` (nothing about the model is stored then) and
    :class:`~lockgate.errors.TrainingError`; the caller records the run's outcome.
    """
    spec = parse_spec(artifacts.get_json("specs", spec_id))
    if spec.model != model:
        raise TrainingError(f"spec {spec_id} is for model {spec.model!r}, not {model!r}")
    frame = read(artifacts.get_bytes("datasets", dataset_id))
    result = train(frame, spec)
    onnx_bytes = to_onnx(result.pipeline, result.signature)
    parity = check_parity(
        result.pipeline,
        onnx_bytes,
        result.x_holdout,
        spec.gates.model.parity_tolerance,
        signature=result.signature,
    )
    # Judge the artifact that will be served: metrics come from the ONNX graph, not from scikit-learn.
    pred, proba = run_onnx(onnx_bytes, result.x_holdout, result.signature)
    classes = result.signature["classes"]
    metrics = compute_metrics(
        spec.task,
        result.y_holdout.to_numpy(),
        pred,
        proba,
        classes,
        positive_class=positive_label(classes, spec.positive_class) if classes else None,
    )
    train_pred, _ = run_onnx(onnx_bytes, result.x_train, result.signature)
    baseline = build_baseline(result.x_train, train_pred, spec, metrics, feature_types=result.feature_types)

    model_ref = artifacts.put_bytes("models", onnx_bytes, ext="onnx", content_type="application/octet-stream")
    baseline_ref = artifacts.put_json("baselines", baseline)
    holdout_ref = artifacts.put_bytes("holdouts", holdout_bytes(result, spec.target), ext="parquet")
    ids = {"model": model_ref.sha256, "baseline": baseline_ref.sha256, "holdout": holdout_ref.sha256}
    manifest = {
        "model": model,
        "run_id": run_id,
        "trigger": trigger,
        "dataset_id": dataset_id,
        "spec_id": spec_id,
        "code_version": code_version,
        **result.to_dict(),
        "metrics": metrics,
        "parity": parity.to_dict(),
        "artifacts": ids,
    }
    manifest_ref = artifacts.put_json("runs", jsonable(manifest))
    return TrainedCandidate(
        model=model,
        run_id=run_id,
        dataset_id=dataset_id,
        spec_id=spec_id,
        model_id=model_ref.sha256,
        baseline_id=baseline_ref.sha256,
        holdout_id=holdout_ref.sha256,
        manifest_id=manifest_ref.sha256,
        signature=result.signature,
        metrics=jsonable(metrics),
        parity=parity.to_dict(),
        params=result.params,
        seed=result.seed,
        environment=result.environment,
        code_version=code_version,
    )


def train_step(
    *,
    artifacts: ArtifactStore,
    runs: RunStore,
    publisher: Publisher,
    read: TableReader,
    model: str,
    run_id: str,
    dataset_id: str,
    spec_id: str,
    code_version: str,
    trigger: str,
) -> TrainedCandidate:
    """The state machine's train task: the run record around :func:`train_candidate`.

    ``trigger == "reproduce"`` leaves the run records alone (the caller compares the returned ids
    with the recorded version). A parity failure marks the run rejected with its numbers, announces
    ``Model Rejected`` and re-raises :class:`~lockgate.errors.OnnxParityError`.
    """
    record = trigger != "reproduce"
    if record:
        runs.start(model, run_id, dataset_id=dataset_id, trigger=trigger)
    try:
        candidate = train_candidate(
            artifacts=artifacts,
            read=read,
            model=model,
            run_id=run_id,
            dataset_id=dataset_id,
            spec_id=spec_id,
            code_version=code_version,
            trigger=trigger,
        )
    except OnnxParityError as exc:
        if record:
            runs.mark_rejected(model, run_id, exc.message, parity=exc.details)
            publisher(
                events.MODEL_REJECTED,
                {"model": model, "run_id": run_id, "reason": exc.message, "parity": exc.details},
            )
        raise
    if record:
        runs.update(
            model,
            run_id,
            spec_id=spec_id,
            params=candidate.params,
            seed=candidate.seed,
            environment=candidate.environment,
            code_version=code_version,
            metrics=candidate.metrics,
            parity=candidate.parity,
            artifacts=candidate.artifact_ids(),
        )
    return candidate
