"""The MarkFailed task's use case: record why a training execution failed and clean up after it.

The run becomes ``failed`` with the reason (created first if the execution failed before
training made it), a version the run registered but that no alias serves is ``Rejected``
("training failed: ..."), and ``Training Failed`` is announced. Nothing half-done stays
registered, and the event goes out even when the run store itself is what is failing.
"""

from __future__ import annotations

import logging

from lockgate.domain import events
from lockgate.domain.model_version import REJECTED
from lockgate.domain.training_state import FailedExecution, TrainingFailure
from lockgate.errors import RunNotFoundError
from lockgate.ports import ModelRegistry, Publisher, RunStore

logger = logging.getLogger(__name__)


def _fail_run(runs: RunStore, failure: FailedExecution) -> None:
    try:
        runs.mark_failed(failure.model, failure.run_id, failure.reason)
    except RunNotFoundError:
        # It failed before training created the record (validation, a bad spec): create it so
        # the failure and its reason are on record, not only in an event.
        runs.start(
            failure.model, failure.run_id, dataset_id=failure.dataset_id or "", trigger=failure.trigger
        )
        runs.mark_failed(failure.model, failure.run_id, failure.reason)


def record_training_failure(
    failure: FailedExecution,
    *,
    registry: ModelRegistry,
    runs: RunStore,
    publisher: Publisher,
) -> TrainingFailure:
    """Record ``failure`` on the run and the registry, announce it, and return what was recorded."""
    try:
        _fail_run(runs, failure)
    except Exception:  # noqa: BLE001 - whatever the store raised, the failure must still be announced
        logger.exception(
            "could not record the failure of run %s of %s on its run record", failure.run_id, failure.model
        )
    version = registry.abandon_run(failure.model, failure.run_id, reason=f"training failed: {failure.reason}")
    recorded = TrainingFailure(
        model=failure.model,
        run_id=failure.run_id,
        dataset_id=failure.dataset_id,
        error=failure.error,
        cause=failure.cause,
        rejected_version=version.version if version and version.status == REJECTED else None,
    )
    publisher(events.TRAINING_FAILED, recorded.to_dict())
    return recorded
