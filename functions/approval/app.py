"""Training state machine ``.waitForTaskToken`` task: park the execution until a person decides.

Input: ``{"token": "$$.Task.Token", "model": m, "version": n}``. The token is stored on the version;
``lockgate approve|reject`` (CLI or API) resumes the execution through the registry. If the version
was already decided, the registry resumes it at once. The return value is not used.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.domain.training_state import ApprovalWait
from lockgate.services.promote import await_approval

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    wait = ApprovalWait.from_event(event)
    await_approval(wait, registry=wiring.model_registry())
    logger.info(
        "approval pending: run `lockgate approve %s %s` or `lockgate reject %s %s`",
        wait.model,
        wait.version,
        wait.model,
        wait.version,
        extra={"model": wait.model, "version": wait.version},
    )
    return wait.to_dict()
