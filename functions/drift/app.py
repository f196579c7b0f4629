"""Drift check: woken by the schedule (checks every due model) or invoked directly for one model.

Schedule: an EventBridge ``Scheduled Event``; its ``time`` is the check time (not the wall clock).
Direct: ``{"model": "m", "now": "<iso>"?, "force": true?}`` (``lockgate drift <model> --now``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters.dynamodb.checks import DynamoDBCheckStore
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.adapters.s3_logs import S3DatasetDrop, S3Logs
from lockgate.adapters.sns import SnsAlerts
from lockgate.config import settings
from lockgate.domain.check import SCHEDULED_EVENT, DriftRequest
from lockgate.errors import LockgateError
from lockgate.services import monitor

logger = Logger()


@functools.cache
def _deps() -> monitor.MonitoringDeps:
    """The adapters, once per warm container, from the function's environment."""
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table", "data_bucket")
    return monitor.MonitoringDeps(
        registry=DynamoDBModelRegistry(cfg.registry_table),
        datasets=DynamoDBDatasetStore(cfg.registry_table),
        artifacts=S3ArtifactStore(cfg.artifact_bucket),
        checks=DynamoDBCheckStore(cfg.registry_table),
        logs=S3Logs(cfg.artifact_bucket),
        drop=S3DatasetDrop(cfg.data_bucket),
        alerts=SnsAlerts(cfg.alerts_topic_arn),
        publisher=EventBridgePublisher(),
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = DriftRequest.from_event(event, received_at=datetime.now(UTC))
        result = monitor.handle(request, _deps()).to_dict()
    except LockgateError as exc:
        if event.get("detail-type") == SCHEDULED_EVENT:
            raise
        logger.warning("drift check refused", extra={"error": exc.code, "reason": exc.message})
        return {"ok": False, **exc.to_dict()}
    logger.info("drift check done", extra={k: v for k, v in result.items() if k != "report"})
    return {"ok": True, **result}
