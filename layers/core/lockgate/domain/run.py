"""Training runs: one record per run, created when training starts, carrying its outcome.

``running`` -> ``succeeded`` | ``rejected`` (a gate or a reviewer said no, with the numbers) |
``failed`` (something broke, with the reason).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

RUNNING = "running"
SUCCEEDED = "succeeded"
REJECTED = "rejected"
FAILED = "failed"


@dataclass(frozen=True)
class RunRecord:
    model: str
    run_id: str
    status: str
    dataset_id: str
    trigger: str
    created_at: str
    updated_at: str
    spec_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    gates: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """From stored fields; fields a record does not know (keys, older extras) are ignored."""
        return cls(**{k: v for k, v in data.items() if k in RUN_FIELDS})


RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRecord))
# What an update may set: everything but the identity and the timestamps the store keeps.
UPDATABLE_RUN_FIELDS = RUN_FIELDS - {"model", "run_id", "created_at", "updated_at"}


def check_run_fields(fields: dict[str, Any]) -> None:
    """Refuse an update naming a field a run does not have (a typo would be silently stored)."""
    unknown = set(fields) - UPDATABLE_RUN_FIELDS
    if unknown:
        raise ValueError(f"unknown run field(s): {', '.join(sorted(unknown))}")
