"""Validate: first task of the training state machine. Gates the dataset; rejection escapes by name."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.errors import DatasetRejectedError
from lockgate.ml.checks import validate_upload

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    dataset = event["dataset"]
    try:
        result = validate_upload(
            model=event["model"],
            dataset_id=dataset["id"],
            fmt=dataset.get("format", "csv"),
            spec_id=event["spec"]["id"],
            store=DynamoDBDatasetStore(cfg.registry_table),
            artifacts=S3ArtifactStore(cfg.artifact_bucket),
            max_rows=cfg.max_rows,
            max_decompressed_bytes=cfg.max_decompressed_bytes,
            bus_name=cfg.event_bus_name,
        )
    except DatasetRejectedError as exc:
        metrics.add_metric(name="DatasetRejected", unit=MetricUnit.Count, value=1)
        logger.warning("dataset rejected", extra={"reasons": exc.details.get("reasons")})
        raise
    metrics.add_metric(name="DatasetAccepted", unit=MetricUnit.Count, value=1)
    return result.to_dict()
