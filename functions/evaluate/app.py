"""Training state machine task: holdout metrics and model gates (floor + champion/challenger).

Reads ``$.training`` (the train task's output). A failed gate marks the run rejected, announces
``Model Rejected`` and raises ``ModelRejectedError`` for the state machine to catch by name.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.training_state import EvaluationRequest
from lockgate.services.evaluate import evaluate_step

logger = Logger()


@functools.cache
def _adapters() -> tuple[S3ArtifactStore, DynamoDBRunStore, DynamoDBModelRegistry, EventBridgePublisher]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    return (
        S3ArtifactStore(cfg.artifact_bucket),
        DynamoDBRunStore(cfg.registry_table),
        DynamoDBModelRegistry(cfg.registry_table),
        EventBridgePublisher(cfg.event_bus_name),
    )


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    artifacts, runs, registry, publisher = _adapters()
    result = evaluate_step(
        EvaluationRequest.from_event(event),
        artifacts=artifacts,
        runs=runs,
        registry=registry,
        publisher=publisher,
    )
    logger.info("candidate passed the gates", extra={"gates": result.gates.to_dict()})
    return result.to_dict()
