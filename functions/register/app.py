"""Training state machine task: register the candidate that passed the gates, with its model card.

Input: the execution state (``docs/internals.md``). Output (under ``$.registration``):
``{"version": n, "status": "Approved" | "PendingManualApproval", "model_card_id": sha}``.
Idempotent on ``run_id``: a retried task returns the version it already created.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.config import settings
from lockgate.domain.training_state import Candidate
from lockgate.services.register import register_candidate

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    candidate = Candidate.from_state(event)
    registration = register_candidate(
        candidate,
        registry=wiring.model_registry(),
        artifacts=wiring.artifact_store(),
        runs=wiring.run_store(),
        code_version=settings().code_version,
    )
    logger.info(
        "registered",
        extra={"model": candidate.model, "version": registration.version, "status": registration.status},
    )
    return registration.to_dict()
