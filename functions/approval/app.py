"""Training state machine ``.waitForTaskToken`` task: park the execution until a person decides.

Input: ``{"token": "$$.Task.Token", "model": m, "version": n}``. The token is stored on the version;
``lockgate approve|reject`` (CLI or API) resumes the execution through the registry. If the version
was already decided, the registry resumes it at once. The return value is not used.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.config import settings

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = settings()
    cfg.require("registry_table")
    model, version = str(event["model"]), int(event["version"])
    DynamoDBModelRegistry(cfg.registry_table).set_task_token(model, version, str(event["token"]))
    logger.info(
        "approval pending: run `lockgate approve %s %s` or `lockgate reject %s %s`",
        model,
        version,
        model,
        version,
        extra={"model": model, "version": version},
    )
    return {"model": model, "version": version, "waiting": True}
