"""Drift check: woken by the schedule (checks every due model) or invoked directly for one model.

Schedule: an EventBridge ``Scheduled Event``; its ``time`` is the check time (not the wall clock).
Direct: ``{"model": "m", "now": "<iso>"?, "force": true?}`` (``lockgate drift <model> --now``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.domain.check import SCHEDULED_EVENT, DriftRequest
from lockgate.errors import LockgateError
from lockgate.services import monitor

logger = Logger()


@functools.cache
def _deps() -> monitor.MonitoringDeps:
    """The adapters, once per warm container, from the function's environment."""
    return monitor.MonitoringDeps(
        registry=wiring.model_registry(),
        datasets=wiring.dataset_store(),
        artifacts=wiring.artifact_store(),
        checks=wiring.check_store(),
        logs=wiring.logs(),
        drop=wiring.dataset_drop(),
        alerts=wiring.alerts(),
        publisher=wiring.publisher(),
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
