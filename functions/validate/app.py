"""Validate: first task of the training state machine. Gates the dataset; rejection escapes by name."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.training_state import TrainingRequest
from lockgate.errors import DatasetRejectedError
from lockgate.services.validate import validate_upload

logger = Logger()
metrics = Metrics()


@functools.cache
def _adapters() -> tuple[DynamoDBDatasetStore, S3ArtifactStore, EventBridgePublisher]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    return (
        DynamoDBDatasetStore(cfg.registry_table),
        S3ArtifactStore(cfg.artifact_bucket),
        EventBridgePublisher(cfg.event_bus_name),
    )


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store, artifacts, publisher = _adapters()
    request = TrainingRequest.from_event(event)
    cfg = settings()
    try:
        result = validate_upload(
            model=request.model,
            dataset_id=request.dataset.id,
            fmt=request.dataset.format,
            spec_id=request.spec_id,
            store=store,
            artifacts=artifacts,
            publisher=publisher,
            max_rows=cfg.max_rows,
            max_decompressed_bytes=cfg.max_decompressed_bytes,
        )
    except DatasetRejectedError as exc:
        metrics.add_metric(name="DatasetRejected", unit=MetricUnit.Count, value=1)
        logger.warning("dataset rejected", extra={"reasons": exc.details.get("reasons")})
        raise
    metrics.add_metric(name="DatasetAccepted", unit=MetricUnit.Count, value=1)
    return result.to_dict()
