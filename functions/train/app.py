"""Training state machine task: train, export to ONNX, check parity, store artifacts, record the run.

Input and output: docs/internals.md ("Training state machine"). Typed errors escape for ASL
Retry/Catch (``OnnxParity`` -> CandidateRejected, anything else -> MarkFailed).
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import wiring
from lockgate.config import settings
from lockgate.domain.training_state import TrainingRequest
from lockgate.ml.tabular import read_table
from lockgate.services.train import train_step

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    artifacts, runs, publisher = wiring.artifact_store(), wiring.run_store(), wiring.publisher()
    request = TrainingRequest.from_event(event)
    cfg = settings()

    def read(data: bytes) -> pd.DataFrame:
        return read_table(
            data,
            request.dataset.format,
            max_rows=cfg.max_rows,
            max_decompressed_bytes=cfg.max_decompressed_bytes,
        )

    started = time.perf_counter()
    candidate = train_step(
        artifacts=artifacts,
        runs=runs,
        publisher=publisher,
        read=read,
        model=request.model,
        run_id=request.run_id,
        dataset_id=request.dataset.id,
        spec_id=request.spec_id,
        code_version=cfg.code_version,
        trigger=request.trigger,
    )
    metrics.add_metric(name="TrainingSeconds", unit=MetricUnit.Seconds, value=time.perf_counter() - started)
    logger.info("candidate trained", extra={"model_id": candidate.model_id, "metrics": candidate.metrics})
    return candidate.to_dict()
