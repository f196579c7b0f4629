"""The promote and approval tasks' use cases: make a run's version the champion, or park the
execution until a person decides.

Promotion is one registry alias move (conditional on the version being Approved; the registry
announces ``Model Promoted``); a retry after success changes nothing. The approval task stores the
execution's task token on the version; if a reviewer already decided, the registry resumes the
execution at once.
"""

from __future__ import annotations

from lockgate.domain.model_version import CHAMPION, SYSTEM_ACTOR
from lockgate.domain.run import SUCCEEDED
from lockgate.domain.training_state import ApprovalWait, PromoteRequest, Promotion
from lockgate.ports import ModelRegistry, RunStore


def promote_candidate(request: PromoteRequest, *, registry: ModelRegistry, runs: RunStore) -> Promotion:
    """Move ``champion`` to the run's version and mark the run ``succeeded``."""
    run = request.run_id if request.run_id is not None else "?"
    alias = registry.set_alias(
        request.model, CHAMPION, request.version, actor=SYSTEM_ACTOR, reason=f"run {run} passed its gates"
    )
    if request.run_id:
        runs.note(request.model, request.run_id, status=SUCCEEDED, version=request.version)
    return Promotion(champion=alias.version, previous=alias.previous_version)


def await_approval(wait: ApprovalWait, *, registry: ModelRegistry) -> None:
    """Park the execution on ``wait.token`` until ``lockgate approve|reject`` decides the version."""
    registry.set_task_token(wait.model, wait.version, wait.token)
