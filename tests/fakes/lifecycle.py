"""In-memory fakes of the lifecycle ports: model registry, run store, task tokens, datasets.

They keep state and enforce the rules the DynamoDB adapters enforce (the rules themselves are
shared from ``lockgate.domain.model_version`` / ``lockgate.domain.run``): version numbers are
consecutive and idempotent on ``run_id``; only Approved versions take an alias; every alias move
bumps its revision and is logged; ``expected_revision`` is an optimistic lock; approve/reject
only from PendingManualApproval; a rejection closes the run; a decision resumes a parked token.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

from lockgate.domain import events
from lockgate.domain.artifacts import ArtifactRef, artifact_key, sha256_hex
from lockgate.domain.dataset import DatasetRecord
from lockgate.domain.model_version import (
    APPROVED,
    CHAMPION,
    PENDING,
    REJECTED,
    SYSTEM_ACTOR,
    Alias,
    AliasMove,
    ModelVersion,
    NewModelVersion,
    RegisteredModel,
    check_alias_target,
    event_detail,
    now_iso,
    rollback_target,
    task_outcome,
)
from lockgate.domain.run import FAILED, RUNNING, RunRecord, check_run_fields
from lockgate.domain.run import REJECTED as RUN_REJECTED
from lockgate.errors import (
    AliasNotFoundError,
    DatasetNotFoundError,
    IntegrityError,
    ModelNotFoundError,
    RunNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)
from lockgate.ports import Publisher, RunStore, TaskTokens


class RecordingPublisher:
    """A :class:`lockgate.ports.Publisher` that keeps every event it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, detail_type: str, detail: dict[str, Any], /) -> None:
        self.events.append((detail_type, json.loads(json.dumps(detail, default=str))))

    def types(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        return [detail for kind, detail in self.events if kind == detail_type]


class RecordingTaskTokens:
    """A :class:`lockgate.ports.TaskTokens` remembering how each token was resumed."""

    def __init__(self) -> None:
        self.succeeded: dict[str, dict[str, Any]] = {}
        self.failed: dict[str, tuple[str, str]] = {}

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.succeeded[token] = dict(output)

    def fail(self, token: str, *, error: str, cause: str) -> None:
        self.failed[token] = (error, cause)


class InMemoryRunStore:
    """A :class:`lockgate.ports.RunStore` in a dict; ``broken`` makes every write raise (a failing store)."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], RunRecord] = {}
        self.broken: Exception | None = None

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken

    def start(self, model: str, run_id: str, *, dataset_id: str, trigger: str) -> RunRecord:
        self._check()
        existing = self.runs.get((model, run_id))
        if existing is not None:
            return existing
        now = now_iso()
        record = RunRecord(model, run_id, RUNNING, dataset_id, trigger, now, now)
        self.runs[(model, run_id)] = record
        return record

    def get(self, model: str, run_id: str) -> RunRecord:
        try:
            return self.runs[(model, run_id)]
        except KeyError:
            raise RunNotFoundError(
                f"run {run_id} of model {model} does not exist", model=model, run_id=run_id
            ) from None

    def list_runs(self, model: str) -> list[RunRecord]:
        return sorted((r for (m, _), r in self.runs.items() if m == model), key=lambda r: r.created_at)

    def update(self, model: str, run_id: str, **fields: Any) -> RunRecord:
        check_run_fields(fields)
        self._check()
        current = self.get(model, run_id)
        updated = replace(current, **fields, updated_at=now_iso())
        self.runs[(model, run_id)] = updated
        return updated

    def note(self, model: str, run_id: str, **fields: Any) -> RunRecord | None:
        try:
            return self.update(model, run_id, **fields)
        except RunNotFoundError:
            return None

    def mark_failed(self, model: str, run_id: str, reason: str) -> RunRecord:
        return self.update(model, run_id, status=FAILED, reason=reason)

    def mark_rejected(self, model: str, run_id: str, reason: str, **numbers: Any) -> RunRecord:
        current = self.get(model, run_id)
        return self.update(
            model, run_id, status=RUN_REJECTED, reason=reason, gates={**current.gates, **numbers}
        )


class InMemoryModelRegistry:
    """A :class:`lockgate.ports.ModelRegistry` in memory, with the DynamoDB registry's rules and events.

    A lock stands in for DynamoDB's conditional writes, so concurrent callers in a test see the
    same guarantees (distinct consecutive versions, no lost alias move).
    """

    def __init__(
        self,
        *,
        publisher: Publisher | None = None,
        runs: RunStore | None = None,
        task_tokens: TaskTokens | None = None,
    ) -> None:
        self.publisher: Publisher = publisher or RecordingPublisher()
        self.runs: RunStore = runs or InMemoryRunStore()
        self.task_tokens: TaskTokens = task_tokens or RecordingTaskTokens()
        self._lock = threading.RLock()
        self._models: dict[str, dict[str, Any]] = {}
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        self._by_run: dict[tuple[str, str], int] = {}
        self._tokens: dict[tuple[str, int], str] = {}
        self._aliases: dict[tuple[str, str], Alias] = {}
        self._history: dict[tuple[str, str], list[AliasMove]] = {}

    # ------------------------------------------------------------ versions

    def create_model_version(self, new: NewModelVersion) -> ModelVersion:
        with self._lock:
            existing = self.get_version_by_run(new.model, new.run_id)
            if existing is not None:
                return existing
            now = now_iso()
            summary = self._models.setdefault(
                new.model, {"model": new.model, "created_at": now, "latest_version": 0}
            )
            number = int(summary["latest_version"]) + 1
            if (new.model, number) in self._versions:  # the condition DynamoDB checks on the Put
                raise VersionConflictError(f"version {number} of {new.model!r} already exists")
            created = ModelVersion.created(new, number, now)
            summary["latest_version"] = number
            self._versions[(new.model, number)] = created
            self._by_run[(new.model, new.run_id)] = number
        self.publisher(events.MODEL_REGISTERED, event_detail(created))
        if created.status == APPROVED:
            self.publisher(events.MODEL_APPROVED, event_detail(created, actor=SYSTEM_ACTOR))
        return created

    def _stored(self, model: str, version: int) -> ModelVersion:
        try:
            return self._versions[(model, version)]
        except KeyError:
            raise VersionNotFoundError(
                f"model {model!r} has no version {version}", model=model, version=version
            ) from None

    def _with_aliases(self, stored: ModelVersion) -> ModelVersion:
        names = [
            a.alias
            for (m, _), a in self._aliases.items()
            if m == stored.model and a.version == stored.version
        ]
        return replace(stored, aliases=sorted(names))

    def get_version_by_run(self, model: str, run_id: str) -> ModelVersion | None:
        number = self._by_run.get((model, run_id))
        return None if number is None else self.get_model_version(model, number)

    def get_model_version(self, model: str, version: int) -> ModelVersion:
        return self._with_aliases(self._stored(model, version))

    def list_model_versions(self, model: str) -> list[ModelVersion]:
        if model not in self._models:
            raise ModelNotFoundError(f"no model named {model!r}", model=model)
        numbers = sorted(v for (m, v) in self._versions if m == model)
        return [self.get_model_version(model, v) for v in numbers]

    def list_models(self) -> list[RegisteredModel]:
        return [
            RegisteredModel(
                model=name,
                created_at=str(self._models[name].get("created_at", "")),
                latest_version=int(self._models[name].get("latest_version", 0)),
            )
            for name in sorted(self._models)
        ]

    def set_model_card(self, model: str, version: int, card_id: str) -> ModelVersion:
        with self._lock:
            self._versions[(model, version)] = replace(self._stored(model, version), model_card_id=card_id)
        return self.get_model_version(model, version)

    def abandon_run(self, model: str, run_id: str, *, reason: str) -> ModelVersion | None:
        version = self.get_version_by_run(model, run_id)
        if version is None or version.status == REJECTED or version.aliases:
            return version
        if version.status == PENDING:
            try:
                rejected = self.reject(model, version.version, actor=SYSTEM_ACTOR, comment=reason)
            except VersionConflictError:
                return self.get_model_version(model, version.version)
            self._by_run.pop((model, run_id), None)
            return rejected
        with self._lock:
            stored = self._stored(model, version.version)
            if stored.status == APPROVED:
                now = now_iso()
                entry = {"actor": SYSTEM_ACTOR, "action": "reject", "comment": reason, "at": now}
                self._versions[(model, version.version)] = replace(
                    stored, status=REJECTED, updated_at=now, approvals=[*stored.approvals, entry]
                )
                self._by_run.pop((model, run_id), None)
        return self.get_model_version(model, version.version)

    # ------------------------------------------------------------ aliases

    def get_alias(self, model: str, alias: str) -> Alias:
        try:
            return self._aliases[(model, alias)]
        except KeyError:
            raise AliasNotFoundError(
                f"model {model!r} has no alias {alias!r}", model=model, alias=alias
            ) from None

    def get_version_by_alias(self, model: str, alias: str) -> ModelVersion:
        return self.get_model_version(model, self.get_alias(model, alias).version)

    def set_alias(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> Alias:
        check_alias_target(alias, version)
        return self._move(
            model, alias, version, actor=actor, reason=reason, expected=expected_revision, action="set"
        )

    def _move(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str,
        expected: int | None,
        action: str,
    ) -> Alias:
        with self._lock:
            current = self._aliases.get((model, alias))
            revision = current.revision if current else 0
            if expected is not None and revision != expected:
                raise VersionConflictError(
                    f"alias {alias!r} of {model!r} is no longer at revision {expected}: it is at revision "
                    f"{revision}; re-read and retry",
                    model=model,
                    alias=alias,
                    expected_revision=expected,
                    revision=revision,
                )
            target = self._stored(model, version)
            if current is not None and current.version == version and expected is None:
                return current
            if target.status != APPROVED:
                raise VersionConflictError(
                    f"version {version} of {model!r} is {target.status}; only Approved versions can take an alias",
                    model=model,
                    version=version,
                    status=target.status,
                )
            new = Alias(model, alias, version, revision + 1, now_iso(), current.version if current else None)
            self._aliases[(model, alias)] = new
            self._history.setdefault((model, alias), []).append(
                AliasMove.of(new, actor=actor, reason=reason, action=action)
            )
        self.publisher(
            events.MODEL_PROMOTED, {**new.to_dict(), "actor": actor, "reason": reason, "action": action}
        )
        return new

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasMove]:
        names = sorted(a for (m, a) in self._history if m == model and (alias is None or a == alias))
        return [move for name in names for move in self._history[(model, name)]]

    def rollback(self, model: str, *, to_version: int | None = None, actor: str) -> Alias:
        current = self.get_alias(model, CHAMPION)
        target = rollback_target(model, current, self.alias_history(model, CHAMPION), to_version)
        return self._move(
            model,
            CHAMPION,
            target,
            actor=actor,
            reason=f"rollback from {current.version}",
            expected=current.revision,
            action="rollback",
        )

    # ------------------------------------------------------------ approval

    def set_task_token(self, model: str, version: int, token: str) -> None:
        with self._lock:
            stored = self._stored(model, version)
            if stored.status == PENDING:
                self._tokens[(model, version)] = token
                return
        self._resume(token, stored)

    def approve(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        return self._decide(model, version, APPROVED, actor=actor, comment=comment)

    def reject(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        return self._decide(model, version, REJECTED, actor=actor, comment=comment)

    def _decide(self, model: str, version: int, status: str, *, actor: str, comment: str) -> ModelVersion:
        with self._lock:
            stored = self._stored(model, version)
            if stored.status != PENDING:
                raise VersionConflictError(
                    f"version {version} is already {stored.status}",
                    model=model,
                    version=version,
                    status=stored.status,
                )
            now = now_iso()
            action = "approve" if status == APPROVED else "reject"
            entry = {"actor": actor, "action": action, "comment": comment, "at": now}
            self._versions[(model, version)] = replace(
                stored, status=status, updated_at=now, approvals=[*stored.approvals, entry]
            )
            token = self._tokens.get((model, version))
        decided = self.get_model_version(model, version)
        if status == REJECTED:
            reason = f"rejected by {actor}" + (f": {comment}" if comment else "")
            self.runs.note(model, decided.run_id, status=RUN_REJECTED, reason=reason)
        if token:
            self._resume(token, decided)
        kind = events.MODEL_APPROVED if status == APPROVED else events.MODEL_REJECTED
        self.publisher(kind, event_detail(decided, actor=actor, comment=comment))
        return decided

    def _resume(self, token: str, version: ModelVersion) -> None:
        decided, output, cause = task_outcome(version)
        if not decided:
            return
        if output is not None:
            self.task_tokens.succeed(token, output)
        else:
            self.task_tokens.fail(token, error="ModelRejected", cause=cause)


class InMemoryDatasetLookup:
    """A :class:`lockgate.ports.DatasetLookup` over datasets added with :meth:`add`."""

    def __init__(self) -> None:
        self.datasets: dict[tuple[str, str], DatasetRecord] = {}

    def add(self, model: str, dataset_id: str, **fields: Any) -> DatasetRecord:
        """An accepted dataset record; ``fields`` override any other :class:`DatasetRecord` field."""
        values: dict[str, Any] = {
            "source_bucket": "data",
            "source_key": f"datasets/{model}/data.csv",
            "status": "accepted",
        }
        record = DatasetRecord(model=model, dataset_id=dataset_id, **{**values, **fields})
        self.datasets[(model, dataset_id)] = record
        return record

    def get(self, model: str, dataset_id: str) -> DatasetRecord:
        try:
            return self.datasets[(model, dataset_id)]
        except KeyError:
            raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model) from None


class InMemoryArtifacts:
    """A content-addressed :class:`lockgate.ports.ArtifactStore` in memory; reads verify the hash."""

    bucket = "memory"

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.reads = 0  # get_bytes calls (get_json included): lets a test prove a cache holds

    def put_bytes(
        self, kind: str, data: bytes, *, ext: str = "", content_type: str = "application/octet-stream"
    ) -> ArtifactRef:
        digest = sha256_hex(data)
        key = artifact_key(kind, digest, ext)
        self.blobs[(kind, key)] = data
        return ArtifactRef(kind=kind, sha256=digest, key=key, size=len(data))

    def put_json(self, kind: str, value: Any) -> ArtifactRef:
        data = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
        return self.put_bytes(kind, data, ext="json", content_type="application/json")

    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes:
        self.reads += 1
        key = artifact_key(kind, sha256, ext)
        data = self.blobs[(kind, key)]
        if sha256_hex(data) != sha256:
            raise IntegrityError(f"{key} does not match its content id")
        return data

    def get_json(self, kind: str, sha256: str) -> Any:
        return json.loads(self.get_bytes(kind, sha256, ext="json"))
