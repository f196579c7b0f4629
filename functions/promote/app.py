"""Training state machine task: move ``champion`` to the newly registered, approved version.

Input: the execution state with ``$.registration.version``. Output: ``{"champion": n, "previous": m|None}``.
The move is one DynamoDB transaction (alias + history entry, conditional on the version being
Approved); the registry emits ``Model Promoted``. A retry after success changes nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.config import settings
from lockgate.domain.training_state import PromoteRequest
from lockgate.services.promote import promote_candidate

logger = Logger()


@functools.cache
def _registry() -> DynamoDBModelRegistry:
    cfg = settings()
    cfg.require("registry_table")
    return DynamoDBModelRegistry(cfg.registry_table, publisher=EventBridgePublisher())


@functools.cache
def _runs() -> DynamoDBRunStore:
    cfg = settings()
    cfg.require("registry_table")
    return DynamoDBRunStore(cfg.registry_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = PromoteRequest.from_state(event)
    promotion = promote_candidate(request, registry=_registry(), runs=_runs())
    logger.info(
        "promoted",
        extra={"model": request.model, "champion": promotion.champion, "previous": promotion.previous},
    )
    return promotion.to_dict()
