"""Training state machine task: register the candidate that passed the gates, with its model card.

Input: the execution state (``docs/internals.md``). Output (under ``$.registration``):
``{"version": n, "status": "Approved" | "PendingManualApproval", "model_card_id": sha}``.
Idempotent on ``run_id``: a retried task returns the version it already created.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry, register_candidate
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.spec import parse_spec

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    store = S3ArtifactStore(cfg.artifact_bucket)
    spec = parse_spec(store.get_json("specs", event["spec"]["id"]))
    version = register_candidate(
        registry=DynamoDBModelRegistry(cfg.registry_table),
        store=store,
        state=event,
        spec=spec,
        code_version=cfg.code_version,
    )
    DynamoDBRunStore(cfg.registry_table).note(version.model, event["run_id"], version=version.version)
    logger.info(
        "registered", extra={"model": version.model, "version": version.version, "status": version.status}
    )
    return {"version": version.version, "status": version.status, "model_card_id": version.model_card_id}
