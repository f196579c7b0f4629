"""Model versions and aliases: the registry's values and rules, without any storage.

Vocabulary after MLflow (``create_model_version``, ``set_alias``, the ``champion`` alias) and
SageMaker's approval states (``PendingManualApproval``, ``Approved``, ``Rejected``). The rules
live here so that the DynamoDB registry and the in-memory fake enforce the same ones: a new
version is Pending or Approved, an alias name is URL-safe, a version number is 1..99,999,999,
and rollbacks replay alias history as a stack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lockgate.errors import InvalidRequestError, VersionConflictError

# Aliases are path segments and query values (``?alias=``): keep them URL-safe. Versions are
# zero-padded to eight digits in sort keys, hence the ceiling.
ALIAS_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_VERSION = 99_999_999

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
CHAMPION = "champion"
SYSTEM_ACTOR = "lockgate"


def now_iso() -> str:
    """The registry's timestamp format: UTC, milliseconds, ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class NewModelVersion:
    """Everything a caller supplies to register a version; the registry adds number and times.

    Constructing one checks the two rules of a new version (Pending or Approved, a run id for
    idempotency), so every registry implementation receives only valid requests.
    """

    model: str
    status: str
    run_id: str
    dataset_id: str
    model_artifact: str
    baseline_id: str
    holdout_id: str
    spec_id: str
    report_id: str
    signature: dict[str, Any]
    metrics: dict[str, Any]
    params: dict[str, Any]
    seed: int
    environment: dict[str, Any]
    code_version: str
    intent: str

    def __post_init__(self) -> None:
        if self.status not in (PENDING, APPROVED):
            raise ValueError(f"a new version is {PENDING} or {APPROVED}, not {self.status!r}")
        if not self.run_id:
            raise ValueError("run_id is required: it makes registration idempotent")

    def initial_approvals(self, now: str) -> list[dict[str, Any]]:
        """An auto-approved version records who approved it (the platform) and why."""
        if self.status != APPROVED:
            return []
        return [{"actor": SYSTEM_ACTOR, "action": "auto-approve", "comment": "gates passed", "at": now}]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version. ``to_dict`` is the wire shape (never the task token)."""

    model: str
    version: int
    status: str
    run_id: str
    dataset_id: str
    model_artifact: str
    baseline_id: str
    holdout_id: str
    spec_id: str
    report_id: str
    signature: dict[str, Any]
    metrics: dict[str, Any]
    params: dict[str, Any]
    seed: int
    environment: dict[str, Any]
    code_version: str
    intent: str
    model_card_id: str | None
    created_at: str
    updated_at: str
    approvals: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Every field, deep-copied, so a caller cannot change the value through it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, item: dict[str, Any], aliases: Sequence[str] | None = None) -> ModelVersion:
        """From stored fields (missing optional ones become empty); ``aliases`` come sorted."""
        return cls(
            model=str(item["model"]),
            version=int(item["version"]),
            status=str(item["status"]),
            run_id=str(item.get("run_id", "")),
            dataset_id=str(item.get("dataset_id", "")),
            model_artifact=str(item.get("model_artifact", "")),
            baseline_id=str(item.get("baseline_id", "")),
            holdout_id=str(item.get("holdout_id", "")),
            spec_id=str(item.get("spec_id", "")),
            report_id=str(item.get("report_id", "")),
            signature=dict(item.get("signature") or {}),
            metrics=dict(item.get("metrics") or {}),
            params=dict(item.get("params") or {}),
            seed=int(item.get("seed", 0)),
            environment=dict(item.get("environment") or {}),
            code_version=str(item.get("code_version", "")),
            intent=str(item.get("intent", "")),
            model_card_id=item.get("model_card_id") or None,
            created_at=str(item.get("created_at", "")),
            updated_at=str(item.get("updated_at", "")),
            approvals=list(item.get("approvals") or []),
            aliases=sorted(aliases or []),
        )

    @classmethod
    def created(cls, new: NewModelVersion, version: int, now: str) -> ModelVersion:
        """The version a registry just allocated for ``new``."""
        return cls.from_dict(
            {
                **new.to_dict(),
                "version": version,
                "created_at": now,
                "updated_at": now,
                "approvals": new.initial_approvals(now),
            }
        )


@dataclass(frozen=True)
class RegisteredModel:
    """A model in the registry (MLflow's ``RegisteredModel``): its name and newest version number."""

    model: str
    created_at: str
    latest_version: int

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "created_at": self.created_at, "latest_version": self.latest_version}


@dataclass(frozen=True)
class Alias:
    """Where an alias points. ``revision`` grows by one with every move (optimistic lock)."""

    model: str
    alias: str
    version: int
    revision: int
    updated_at: str
    previous_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "revision": self.revision,
            "updated_at": self.updated_at,
            "previous_version": self.previous_version,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Alias:
        previous = item.get("previous_version")
        return cls(
            model=str(item["model"]),
            alias=str(item["alias"]),
            version=int(item["version"]),
            revision=int(item["revision"]),
            updated_at=str(item.get("updated_at", "")),
            previous_version=None if previous is None else int(previous),
        )


@dataclass(frozen=True)
class AliasMove:
    """One entry of an alias's history: who moved it where, when and why (``set`` or ``rollback``)."""

    model: str
    alias: str
    version: int
    previous_version: int | None
    revision: int
    actor: str
    reason: str
    action: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "previous_version": self.previous_version,
            "revision": self.revision,
            "actor": self.actor,
            "reason": self.reason,
            "action": self.action,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> AliasMove:
        previous = item.get("previous_version")
        return cls(
            model=str(item.get("model", "")),
            alias=str(item.get("alias", "")),
            version=int(item["version"]),
            previous_version=None if previous is None else int(previous),
            revision=int(item.get("revision", 0)),
            actor=str(item.get("actor", "")),
            reason=str(item.get("reason", "")),
            action=str(item.get("action", "set")),
            at=str(item.get("at", "")),
        )

    @classmethod
    def of(cls, new: Alias, *, actor: str, reason: str, action: str) -> AliasMove:
        """The history entry recording the move to ``new``."""
        return cls(
            model=new.model,
            alias=new.alias,
            version=new.version,
            previous_version=new.previous_version,
            revision=new.revision,
            actor=actor,
            reason=reason,
            action=action,
            at=new.updated_at,
        )


def check_alias_target(alias: str, version: object) -> int:
    """Refuse an alias name that is not URL-safe or a version outside 1..MAX_VERSION."""
    if not ALIAS_NAME.fullmatch(alias):
        raise InvalidRequestError(
            f"alias {alias!r} is not a valid alias name (letters, digits, '_' and '-', at most 64)",
            field="alias",
        )
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidRequestError(f"version must be an integer from 1 to {MAX_VERSION}", field="version")
    return version


def champion_stack(history: Sequence[AliasMove]) -> list[int]:
    """Replay alias history into a stack of versions: ``set`` pushes, ``rollback`` pops back.

    So rolling back twice after v1 → v2 → v3 gives v2 then v1 (never oscillates between two).
    """
    stack: list[int] = []
    for entry in history:
        version = entry.version
        if entry.action == "rollback" and version in stack:
            del stack[stack.index(version) + 1 :]
        elif not stack or stack[-1] != version:
            stack.append(version)
    return stack


def rollback_target(model: str, current: Alias, history: Sequence[AliasMove], to_version: int | None) -> int:
    """The version a rollback of ``champion`` moves to: ``to_version``, or the champion before.

    ``VersionConflictError`` when there is no earlier champion or the target already is one.
    """
    target = to_version
    if target is None:
        stack = champion_stack(history)
        if len(stack) < 2:
            raise VersionConflictError(
                f"{model!r} has no earlier champion to roll back to", model=model, champion=current.version
            )
        target = stack[-2]
    if target == current.version:
        raise VersionConflictError(f"version {target} of {model!r} is already the champion")
    return target


def event_detail(version: ModelVersion, **extra: Any) -> dict[str, Any]:
    """The detail of the ``Model Registered/Approved/Rejected`` events (plus ``extra`` fields)."""
    detail: dict[str, Any] = {
        "model": version.model,
        "version": version.version,
        "status": version.status,
        "run_id": version.run_id,
        "dataset_id": version.dataset_id,
        "model_artifact": version.model_artifact,
        "metrics": version.metrics,
    }
    detail.update(extra)
    return detail


def task_outcome(version: ModelVersion) -> tuple[bool, dict[str, Any] | None, str]:
    """How a decided version resumes the execution waiting on it.

    Returns ``(decided, success_output, failure_cause)``: Approved → the success output;
    Rejected → a ``ModelRejected`` cause; Pending → not decided (nothing to send).
    """
    last = version.approvals[-1] if version.approvals else {}
    if version.status == APPROVED:
        output = {
            "approved": True,
            "version": version.version,
            "actor": last.get("actor", ""),
            "comment": last.get("comment", ""),
        }
        return True, output, ""
    if version.status == REJECTED:
        who, why = last.get("actor", "?"), last.get("comment", "")
        return True, None, f"version {version.version} rejected by {who}: {why}"
    return False, None, ""
