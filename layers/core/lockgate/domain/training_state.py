"""The training state machine's messages, parsed once into values.

The state (``docs/internals.md``) is a JSON document that grows as the execution runs:
``dataset``, ``spec``, ``validation``, ``training``, ``evaluation``, ``registration``, ``error``.
Ingest starts it with a :class:`TrainingRequest`; train returns a :class:`TrainedCandidate`; each
later task parses the part it needs here, so the services that do the work are typed on values
instead of reaching into nested dicts, and a malformed state fails at the border. Only pointers
travel (content ids, never data), so every task reads exactly the bytes ingest hashed;
``to_dict`` / ``from_event`` keep the shapes byte-for-byte.

>>> TrainingRequest.from_event({"model": "m", "run_id": "r", "dataset": {"id": "d"}, "spec": {"id": "s"}}).trigger
'upload'
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from lockgate.domain.model_version import APPROVED, PENDING, NewModelVersion
from lockgate.domain.spec import ModelSpec


@dataclass(frozen=True)
class DatasetPointer:
    """Where the content-addressed copy of a dataset is, and how to read it."""

    id: str
    bucket: str = ""
    key: str = ""
    format: str = "csv"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "bucket": self.bucket, "key": self.key, "format": self.format}


@dataclass(frozen=True)
class TrainingRequest:
    """The state machine's input (and what validate and train read from it)."""

    model: str
    run_id: str
    dataset: DatasetPointer
    spec_id: str
    trigger: str = "upload"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run_id": self.run_id,
            "trigger": self.trigger,
            "dataset": self.dataset.to_dict(),
            "spec": {"id": self.spec_id},
        }

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> TrainingRequest:
        dataset = event["dataset"]
        return cls(
            model=str(event["model"]),
            run_id=str(event["run_id"]),
            dataset=DatasetPointer(
                id=str(dataset["id"]),
                bucket=str(dataset.get("bucket", "")),
                key=str(dataset.get("key", "")),
                format=str(dataset.get("format") or "csv"),
            ),
            spec_id=str(event["spec"]["id"]),
            trigger=str(event.get("trigger") or "upload"),
        )


@dataclass(frozen=True)
class TrainedCandidate:
    """What the train step produced: content ids of every artifact, plus the small facts that travel."""

    model: str
    run_id: str
    dataset_id: str
    spec_id: str
    model_id: str
    baseline_id: str
    holdout_id: str
    manifest_id: str
    signature: dict[str, Any]
    metrics: dict[str, Any]
    parity: dict[str, Any]
    params: dict[str, Any]
    seed: int
    environment: dict[str, str]
    code_version: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def artifact_ids(self) -> dict[str, str]:
        """The run record's ``artifacts`` map."""
        return {
            "model": self.model_id,
            "baseline": self.baseline_id,
            "holdout": self.holdout_id,
            "manifest": self.manifest_id,
        }


@dataclass(frozen=True)
class EvaluationRequest:
    """The evaluate task's input: the run, its spec, and the train task's output (``$.training``)."""

    model: str
    run_id: str
    spec_id: str
    model_id: str
    holdout_id: str
    signature: dict[str, Any]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> EvaluationRequest:
        training = event["training"]
        return cls(
            model=str(event["model"]),
            run_id=str(event["run_id"]),
            spec_id=str(event["spec"]["id"]),
            model_id=str(training["model_id"]),
            holdout_id=str(training["holdout_id"]),
            signature=dict(training["signature"]),
        )


def _section(state: dict[str, Any], name: str) -> dict[str, Any]:
    value = state.get(name)
    return dict(value) if isinstance(value, dict) else {}


@dataclass(frozen=True)
class GateResult:
    """One model gate's verdict as the model card shows it: name, pass/fail, and why."""

    name: str
    passed: bool
    detail: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> GateResult:
        """From the evaluate task's gate report (``lockgate.ml.evaluation.GateReport.to_dict``)."""
        detail = "; ".join(report.get("reasons") or []) or {k: v for k, v in report.items() if k != "passed"}
        return cls(
            name=f"model gates ({report.get('metric', '?')})", passed=bool(report["passed"]), detail=detail
        )


@dataclass(frozen=True)
class Candidate:
    """The candidate a training execution produced, as the register task reads it from the state."""

    model: str
    run_id: str
    spec_id: str
    dataset_id: str
    dataset_source: str | None
    dataset_description: str
    dataset_rows: int | None
    report_id: str
    model_artifact: str
    baseline_id: str
    holdout_id: str
    signature: dict[str, Any]
    metrics: dict[str, Any]
    params: dict[str, Any]
    seed: int | None
    environment: dict[str, Any]
    code_version: str
    gates: tuple[GateResult, ...] = ()
    champion_metrics: dict[str, Any] | None = None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Candidate:
        training = _section(state, "training")
        evaluation = _section(state, "evaluation")
        validation = _section(state, "validation")
        dataset = _section(state, "dataset")
        report = evaluation.get("gates")
        seed = training.get("seed")
        return cls(
            model=str(state["model"]),
            run_id=str(state["run_id"]),
            spec_id=str(_section(state, "spec").get("id", "")),
            dataset_id=str(dataset.get("id", "")),
            dataset_source=dataset.get("source_key") or dataset.get("key"),
            dataset_description=str(dataset.get("description", "")),
            dataset_rows=validation.get("rows"),
            report_id=str(validation.get("report_id", "")),
            model_artifact=str(training.get("model_artifact") or training["model_id"]),
            baseline_id=str(training.get("baseline_id", "")),
            holdout_id=str(training.get("holdout_id", "")),
            signature=dict(training.get("signature") or {}),
            metrics=dict(evaluation.get("metrics") or training.get("metrics") or {}),
            params=dict(training.get("params") or {}),
            seed=None if seed is None else int(seed),
            environment=dict(training.get("environment") or {}),
            code_version=str(training.get("code_version") or ""),
            gates=(GateResult.from_report(report),) if isinstance(report, dict) else (),
            champion_metrics=evaluation.get("champion_metrics"),
        )

    def new_version(self, spec: ModelSpec, *, code_version: str) -> NewModelVersion:
        """The version to register: Approved when the spec says ``approval: auto`` (the gates
        already passed), else PendingManualApproval. ``code_version`` fills in for a run that did
        not record its own."""
        return NewModelVersion(
            model=self.model,
            status=APPROVED if spec.approval == "auto" else PENDING,
            run_id=self.run_id,
            dataset_id=self.dataset_id,
            model_artifact=self.model_artifact,
            baseline_id=self.baseline_id,
            holdout_id=self.holdout_id,
            spec_id=self.spec_id,
            report_id=self.report_id,
            signature=self.signature,
            metrics=self.metrics,
            params=self.params,
            seed=spec.seed if self.seed is None else self.seed,
            environment=self.environment,
            code_version=self.code_version or code_version,
            intent=spec.description or self.dataset_description,
        )


@dataclass(frozen=True)
class Registration:
    """The register task's output (``$.registration``)."""

    version: int
    status: str
    model_card_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "status": self.status, "model_card_id": self.model_card_id}


@dataclass(frozen=True)
class PromoteRequest:
    """The promote task's input: the run's registered version is to become the champion."""

    model: str
    version: int
    run_id: str | None

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PromoteRequest:
        run_id = state.get("run_id")
        return cls(
            model=str(state["model"]),
            version=int(state["registration"]["version"]),
            run_id=None if run_id is None else str(run_id),
        )


@dataclass(frozen=True)
class Promotion:
    """The promote task's output: the new champion and the one it replaced."""

    champion: int
    previous: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"champion": self.champion, "previous": self.previous}


@dataclass(frozen=True)
class ApprovalWait:
    """The ``.waitForTaskToken`` approval task's input: whose decision the execution waits for."""

    model: str
    version: int
    token: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ApprovalWait:
        return cls(model=str(event["model"]), version=int(event["version"]), token=str(event["token"]))

    def to_dict(self) -> dict[str, Any]:
        """The task's (unused) output; never the token."""
        return {"model": self.model, "version": self.version, "waiting": True}


def describe_failure(error: dict[str, Any] | None) -> tuple[str, str]:
    """Step Functions' ``{"Error", "Cause"}`` → (error name, a one-line cause without stack trace)."""
    error = error or {}
    name = str(error.get("Error") or "UnknownError")
    cause: Any = error.get("Cause") or ""
    if isinstance(cause, str):
        try:
            cause = json.loads(cause)
        except ValueError:
            return name, cause.strip()[:2000]
    if isinstance(cause, dict):
        cause = cause.get("errorMessage") or cause.get("message") or json.dumps(cause, default=str)
    return name, str(cause).strip()[:2000]


@dataclass(frozen=True)
class FailedExecution:
    """The MarkFailed task's input: the state of an execution that failed, and why."""

    model: str
    run_id: str
    dataset_id: str | None
    trigger: str
    error: str
    cause: str

    @property
    def reason(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else self.error

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FailedExecution:
        error, cause = describe_failure(state.get("error"))
        dataset_id = _section(state, "dataset").get("id")
        return cls(
            model=str(state["model"]),
            run_id=str(state["run_id"]),
            dataset_id=None if dataset_id is None else str(dataset_id),
            trigger=str(state.get("trigger", "upload")),
            error=error,
            cause=cause,
        )


@dataclass(frozen=True)
class TrainingFailure:
    """What MarkFailed recorded; ``to_dict`` is the ``Training Failed`` event detail."""

    model: str
    run_id: str
    dataset_id: str | None
    error: str
    cause: str
    rejected_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run_id": self.run_id,
            "dataset_id": self.dataset_id,
            "error": self.error,
            "cause": self.cause,
            "rejected_version": self.rejected_version,
        }
