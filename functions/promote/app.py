"""Training state machine task: move ``champion`` to the newly registered, approved version.

Input: the execution state with ``$.registration.version``. Output: ``{"champion": n, "previous": m|None}``.
The move is one DynamoDB transaction (alias + history entry, conditional on the version being
Approved); the registry emits ``Model Promoted``. A retry after success changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.domain.training_state import PromoteRequest
from lockgate.services.promote import promote_candidate

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = PromoteRequest.from_state(event)
    promotion = promote_candidate(request, registry=wiring.model_registry(), runs=wiring.run_store())
    logger.info(
        "promoted",
        extra={"model": request.model, "champion": promotion.champion, "previous": promotion.previous},
    )
    return promotion.to_dict()
