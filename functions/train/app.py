"""Training state machine task: train, export to ONNX, check parity, store artifacts, record the run.

Input and output: docs/internals.md ("Training state machine"). Typed errors escape for ASL
Retry/Catch (``OnnxParity`` -> CandidateRejected, anything else -> MarkFailed).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import eventbridge
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.ml.tabular import read_table
from lockgate.ml.training import train_step

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    dataset = event["dataset"]

    def read(data: bytes) -> Any:
        fmt = dataset.get("format", "csv")
        return read_table(data, fmt, max_rows=cfg.max_rows, max_decompressed_bytes=cfg.max_decompressed_bytes)

    started = time.perf_counter()
    candidate = train_step(
        artifacts=S3ArtifactStore(cfg.artifact_bucket),
        runs=DynamoDBRunStore(cfg.registry_table),
        publish=eventbridge.publish,
        read=read,
        model=event["model"],
        run_id=event["run_id"],
        dataset_id=dataset["id"],
        spec_id=event["spec"]["id"],
        code_version=cfg.code_version,
        trigger=event.get("trigger", "upload"),
    )
    metrics.add_metric(name="TrainingSeconds", unit=MetricUnit.Seconds, value=time.perf_counter() - started)
    logger.info("candidate trained", extra={"model_id": candidate.model_id, "metrics": candidate.metrics})
    return candidate.to_dict()
