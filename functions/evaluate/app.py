"""Training state machine task: holdout metrics and model gates (floor + champion/challenger).

Reads ``$.training`` (the train task's output). A failed gate marks the run rejected, announces
``Model Rejected`` and raises ``ModelRejectedError`` for the state machine to catch by name.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import wiring
from lockgate.domain.training_state import EvaluationRequest
from lockgate.services.evaluate import evaluate_step

logger = Logger()


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = evaluate_step(
        EvaluationRequest.from_event(event),
        artifacts=wiring.artifact_store(),
        runs=wiring.run_store(),
        registry=wiring.model_registry(),
        publisher=wiring.publisher(),
    )
    logger.info("candidate passed the gates", extra={"gates": result.gates.to_dict()})
    return result.to_dict()
