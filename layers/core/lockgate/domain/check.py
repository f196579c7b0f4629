"""Drift checks as values: what a check is asked to do, what it read, and what it concluded.

A check is asked by the schedule (check every model that is due at the schedule's ``time``) or
directly for one model (``lockgate drift <model> --now``); :class:`DriftRequest` is both, parsed
once from the function's event. :class:`CheckResult` is the verdict the ``DRIFT#`` record, the
events and the CLI carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lockgate.domain.time import iso, parse_time
from lockgate.errors import InvalidRequestError

LogKind = Literal["captures", "labels"]
SCHEDULED_EVENT = "Scheduled Event"


@dataclass(frozen=True)
class DriftRequest:
    """The schedule's wake-up (``model`` None: every due model) or a check of one model.

    ``force`` ends the window at ``now`` itself instead of at ``now`` floored to the cadence.
    """

    now: datetime
    model: str | None = None
    force: bool = False

    @property
    def scheduled(self) -> bool:
        return self.model is None

    @classmethod
    def from_event(cls, event: Mapping[str, Any], *, received_at: datetime) -> DriftRequest:
        """EventBridge ``Scheduled Event`` (its ``time``) or ``{"model", "now"?, "force"?}``.

        ``received_at`` stands in for a direct request without ``now``; a scheduled one always
        uses the schedule's time, so a late or replayed wake checks the window it was meant for.
        """
        if event.get("detail-type") == SCHEDULED_EVENT:
            if not event.get("time"):
                raise InvalidRequestError("a Scheduled Event without a time")
            return cls(now=parse_time(str(event["time"])))
        model = event.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError('expected a Scheduled Event or {"model": "<name>", "now": "<iso>"}')
        now = parse_time(str(event["now"])) if event.get("now") else parse_time(received_at)
        return cls(now=now, model=model, force=bool(event.get("force", False)))


def records_in_window(
    records: Iterable[Mapping[str, Any] | None], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The log records with ``start < timestamp <= end``; no timestamp or a broken one: skipped."""
    out: list[dict[str, Any]] = []
    for record in records:
        if record is None or not record.get("timestamp"):
            continue
        try:
            ts = parse_time(str(record["timestamp"]))
        except InvalidRequestError:
            continue
        if start < ts <= end:
            out.append(dict(record))
    return out


@dataclass(frozen=True)
class LogRead:
    """Records of a log (captures or labels) inside a window, and the objects they came from."""

    records: list[dict[str, Any]]
    keys: list[str]


@dataclass(frozen=True)
class CheckResult:
    """What a check did: the report ids, verdicts and (when started) the retraining."""

    model: str
    version: int
    window_end: str
    report_id: str
    html_report_id: str
    drifted: bool
    performance_degraded: bool
    drifted_features: dict[str, list[str]]
    duplicate: bool = False
    retraining: dict[str, Any] | None = None
    report: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        body = {
            "model": self.model,
            "version": self.version,
            "window_end": self.window_end,
            "report_id": self.report_id,
            "report_key": f"reports/drift/{self.report_id}.json",
            "html_report_key": f"reports/drift/{self.html_report_id}.html",
            "drifted": self.drifted,
            "performance_degraded": self.performance_degraded,
            "drifted_features": self.drifted_features,
            "duplicate": self.duplicate,
            "retraining": self.retraining,
        }
        if self.report is not None:
            body["report"] = self.report
        return body


@dataclass(frozen=True)
class SkippedCheck:
    """A model the schedule could not check (no champion yet, missing baseline): that model only."""

    model: str
    error: dict[str, Any]  # the LockgateError's to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "skipped": True, **self.error}


@dataclass(frozen=True)
class ScheduledChecks:
    """One wake of the schedule: its time and each model's check (or why it was skipped)."""

    now: datetime
    checks: tuple[CheckResult | SkippedCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"now": iso(self.now), "checks": [c.to_dict() for c in self.checks]}


def retraining_dataset_key(model: str, window_end: datetime) -> str:
    """Where a retraining dataset lands in the data bucket: the ingest trigger's ``datasets/<model>/``."""
    return f"datasets/{model}/retrain-{window_end.strftime('%Y%m%dT%H%M%SZ')}.csv"
