"""Training state machine Catch target: record why the execution failed and clean up after it.

Input: the execution state plus ``$.error`` (``{"Error": name, "Cause": json-or-text}``). The run
becomes ``failed`` with the reason, a version the run registered but that was never approved is
``Rejected`` ("training failed: ..."), and ``Training Failed`` is emitted with model, run id,
dataset id, error and cause. Returns that event detail.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.config import settings
from lockgate.domain.training_state import FailedExecution
from lockgate.services.fail import record_training_failure

logger = Logger()


@functools.cache
def _publisher() -> EventBridgePublisher:
    return EventBridgePublisher()


@functools.cache
def _registry() -> DynamoDBModelRegistry:
    cfg = settings()
    cfg.require("registry_table")
    return DynamoDBModelRegistry(cfg.registry_table, publisher=_publisher())


@functools.cache
def _runs() -> DynamoDBRunStore:
    cfg = settings()
    cfg.require("registry_table")
    return DynamoDBRunStore(cfg.registry_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failure = FailedExecution.from_state(event)
    detail = record_training_failure(
        failure, registry=_registry(), runs=_runs(), publisher=_publisher()
    ).to_dict()
    logger.warning("training failed", extra=detail)
    return detail
