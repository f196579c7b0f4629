"""Drift check: woken by the schedule (checks every due model) or invoked directly for one model.

Schedule: an EventBridge ``Scheduled Event``; its ``time`` is the check time (not the wall clock).
Direct: ``{"model": "m", "now": "<iso>"?, "force": true?}`` (``lockgate drift <model> --now``).
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from lockgate.errors import LockgateError
from lockgate.services import monitor as monitoring

logger = Logger()


@functools.cache
def _deps() -> monitoring.MonitoringDeps:
    return monitoring.default_deps()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        result = monitoring.handle_event(event, _deps())
    except LockgateError as exc:
        if event.get("detail-type") == "Scheduled Event":
            raise
        logger.warning("drift check refused", extra={"error": exc.code, "reason": exc.message})
        return {"ok": False, **exc.to_dict()}
    logger.info("drift check done", extra={k: v for k, v in result.items() if k != "report"})
    return {"ok": True, **result}
