"""Validate: first task of the training state machine. Gates the dataset; rejection escapes by name."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from lockgate.adapters import wiring
from lockgate.config import settings
from lockgate.domain.training_state import TrainingRequest
from lockgate.errors import DatasetRejectedError
from lockgate.services.validate import validate_upload

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store, artifacts, publisher = wiring.dataset_store(), wiring.artifact_store(), wiring.publisher()
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
