"""Training state machine Catch target: record why the execution failed and clean up after it.

Input: the execution state plus ``$.error`` (``{"Error": name, "Cause": json-or-text}``). The run
becomes ``failed`` with the reason, a version the run registered but that was never approved is
``Rejected`` ("training failed: ..."), and ``Training Failed`` is emitted with model, run id,
dataset id, error and cause. Returns that event detail.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry, record_training_failure
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.config import settings

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = settings()
    cfg.require("registry_table")
    detail = record_training_failure(
        registry=DynamoDBModelRegistry(cfg.registry_table),
        runs=DynamoDBRunStore(cfg.registry_table),
        state=event,
    )
    logger.warning("training failed", extra=detail)
    return detail
