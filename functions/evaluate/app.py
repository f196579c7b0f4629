"""Training state machine task: holdout metrics and model gates (floor + champion/challenger).

Reads ``$.training`` (the train task's output). A failed gate marks the run rejected, announces
``Model Rejected`` and raises ``ModelRejectedError`` for the state machine to catch by name.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import eventbridge
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.ml.evaluation import evaluate_step

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    result = evaluate_step(
        artifacts=S3ArtifactStore(cfg.artifact_bucket),
        runs=DynamoDBRunStore(cfg.registry_table),
        registry=DynamoDBModelRegistry(cfg.registry_table),
        publish=eventbridge.publish,
        model=event["model"],
        run_id=event["run_id"],
        spec_id=event["spec"]["id"],
        training=event["training"],
    )
    logger.info("candidate passed the gates", extra={"gates": result.gates.to_dict()})
    return result.to_dict()
