"""Training state machine task: move ``champion`` to the newly registered, approved version.

Input: the execution state with ``$.registration.version``. Output: ``{"champion": n, "previous": m|None}``.
The move is one DynamoDB transaction (alias + history entry, conditional on the version being
Approved); the registry emits ``Model Promoted``. A retry after success changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import CHAMPION, DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import SUCCEEDED, DynamoDBRunStore
from lockgate.config import settings

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = settings()
    cfg.require("registry_table")
    model, version = str(event["model"]), int(event["registration"]["version"])
    alias = DynamoDBModelRegistry(cfg.registry_table).set_alias(
        model, CHAMPION, version, actor="lockgate", reason=f"run {event.get('run_id', '?')} passed its gates"
    )
    if event.get("run_id"):
        DynamoDBRunStore(cfg.registry_table).note(model, event["run_id"], status=SUCCEEDED, version=version)
    logger.info(
        "promoted", extra={"model": model, "champion": alias.version, "previous": alias.previous_version}
    )
    return {"champion": alias.version, "previous": alias.previous_version}
