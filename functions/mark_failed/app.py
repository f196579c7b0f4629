"""Training state machine Catch target: record why the execution failed and clean up after it.

Input: the execution state plus ``$.error`` (``{"Error": name, "Cause": json-or-text}``). The run
becomes ``failed`` with the reason, a version the run registered but that was never approved is
``Rejected`` ("training failed: ..."), and ``Training Failed`` is emitted with model, run id,
dataset id, error and cause. Returns that event detail.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.domain.training_state import FailedExecution
from lockgate.services.fail import record_training_failure

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failure = FailedExecution.from_state(event)
    detail = record_training_failure(
        failure, registry=wiring.model_registry(), runs=wiring.run_store(), publisher=wiring.publisher()
    ).to_dict()
    logger.warning("training failed", extra=detail)
    return detail
