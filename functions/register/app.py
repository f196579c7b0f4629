"""Training state machine task: register the candidate that passed the gates, with its model card.

Input: the execution state (``docs/internals.md``). Output (under ``$.registration``):
``{"version": n, "status": "Approved" | "PendingManualApproval", "model_card_id": sha}``.
Idempotent on ``run_id``: a retried task returns the version it already created.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.training_state import Candidate
from lockgate.services.register import register_candidate

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


@functools.cache
def _artifacts() -> S3ArtifactStore:
    cfg = settings()
    cfg.require("artifact_bucket")
    return S3ArtifactStore(cfg.artifact_bucket)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    candidate = Candidate.from_state(event)
    registration = register_candidate(
        candidate,
        registry=_registry(),
        artifacts=_artifacts(),
        runs=_runs(),
        code_version=settings().code_version,
    )
    logger.info(
        "registered",
        extra={"model": candidate.model, "version": registration.version, "status": registration.status},
    )
    return registration.to_dict()
