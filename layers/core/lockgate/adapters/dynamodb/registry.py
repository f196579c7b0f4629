"""The model registry: versions, approval states and aliases, in the registry table.

Vocabulary after MLflow (``create_model_version``, ``set_alias``, ``get_version_by_alias``, the
``champion`` alias) and SageMaker's approval states (``PendingManualApproval``, ``Approved``,
``Rejected``).

Concurrency: every write is a DynamoDB conditional write or transaction, so concurrent callers
never share a version number, never lose an alias move, and an alias can only ever point at an
existing, Approved version (the version item is a ``ConditionCheck`` of the alias transaction and
versions are never deleted, and an Approved version never changes state again).

Events: the registry itself announces ``Model Registered``, ``Model Approved``, ``Model Rejected``
and ``Model Promoted`` after each write commits, so every caller (the register/promote tasks, the
CLI, the API) emits the same events the same way. Pass ``publisher=`` to capture them elsewhere.

Layout (``docs/internals.md``): ``MODELS``/``MODEL#<m>`` holds ``latest_version``;
``MODEL#<m>``/``VERSION#<%08d>`` a version; ``RUNVERSION#<run_id>`` maps a training run to the one
version it created (retried register tasks are idempotent); ``ALIAS#<name>`` and
``ALIASLOG#<name>#<%08d revision>`` an alias and its history.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lockgate.adapters import aws, eventbridge
from lockgate.domain import events as lockgate_events
from lockgate.errors import (
    AliasNotFoundError,
    InvalidRequestError,
    ModelNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)

if TYPE_CHECKING:
    from lockgate.adapters.dynamodb.runs import RunStore
    from lockgate.adapters.s3 import S3ArtifactStore
    from lockgate.domain.spec import ModelSpec

logger = logging.getLogger(__name__)

# Aliases are path segments and query values (``?alias=``): keep them URL-safe. Versions are
# zero-padded to eight digits in sort keys.
ALIAS_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_VERSION = 99_999_999

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
CHAMPION = "champion"
SYSTEM_ACTOR = "lockgate"

_MAX_ATTEMPTS = 60
Publisher = Callable[[str, dict[str, Any]], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- values


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
        return {
            "model": self.model,
            "version": self.version,
            "status": self.status,
            "run_id": self.run_id,
            "dataset_id": self.dataset_id,
            "model_artifact": self.model_artifact,
            "baseline_id": self.baseline_id,
            "holdout_id": self.holdout_id,
            "spec_id": self.spec_id,
            "report_id": self.report_id,
            "signature": self.signature,
            "metrics": self.metrics,
            "params": self.params,
            "seed": self.seed,
            "environment": self.environment,
            "code_version": self.code_version,
            "intent": self.intent,
            "model_card_id": self.model_card_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "approvals": list(self.approvals),
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any], aliases: list[str] | None = None) -> ModelVersion:
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
    def from_item(cls, item: dict[str, Any]) -> Alias:
        previous = item.get("previous_version")
        return cls(
            model=str(item["model"]),
            alias=str(item["alias"]),
            version=int(item["version"]),
            revision=int(item["revision"]),
            updated_at=str(item.get("updated_at", "")),
            previous_version=None if previous is None else int(previous),
        )


class ModelRegistry(Protocol):
    """What the platform needs from a model registry."""

    def create_model_version(
        self,
        *,
        model: str,
        status: str,
        run_id: str,
        dataset_id: str,
        model_artifact: str,
        baseline_id: str,
        holdout_id: str,
        spec_id: str,
        report_id: str,
        signature: dict[str, Any],
        metrics: dict[str, Any],
        params: dict[str, Any],
        seed: int,
        environment: dict[str, Any],
        code_version: str,
        intent: str,
    ) -> ModelVersion: ...

    def get_model_version(self, model: str, version: int) -> ModelVersion: ...

    def list_model_versions(self, model: str) -> list[ModelVersion]: ...

    def list_models(self) -> list[dict[str, Any]]: ...

    def get_alias(self, model: str, alias: str) -> Alias: ...

    def get_version_by_alias(self, model: str, alias: str) -> ModelVersion: ...

    def set_alias(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> Alias: ...

    def alias_history(self, model: str, alias: str) -> list[dict[str, Any]]: ...

    def rollback(self, model: str, *, to_version: int | None = None, actor: str) -> Alias: ...

    def set_task_token(self, model: str, version: int, token: str) -> None: ...

    def approve(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion: ...

    def reject(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion: ...


# ---------------------------------------------------------------- DynamoDB values
# Private on purpose: a shared lockgate.adapters.dynamodb.table (to_ddb/from_ddb) was not there when this was written.

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _plain_to_ddb(value: Any) -> Any:
    """Python value -> DynamoDB-safe value: floats become Decimal, NaN/inf become None."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain_to_ddb(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_to_ddb(v) for v in value]
    return _plain_to_ddb(json.loads(json.dumps(value, default=str)))


def _plain_from_ddb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain_from_ddb(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain_from_ddb(v) for v in value]
    return value


def _av(value: Any) -> dict[str, Any]:
    """One attribute value in DynamoDB's wire format."""
    result: dict[str, Any] = _SERIALIZER.serialize(_plain_to_ddb(value))
    return result


def _marshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _av(v) for k, v in item.items()}


def _unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain_from_ddb(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _model_pk(model: str) -> str:
    return f"MODEL#{model}"


def _version_sk(version: int) -> str:
    return f"VERSION#{version:08d}"


def _alias_sk(alias: str) -> str:
    return f"ALIAS#{alias}"


def _alias_log_sk(alias: str, revision: int) -> str:
    return f"ALIASLOG#{alias}#{revision:08d}"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _backoff(attempt: int) -> None:
    # Full jitter: concurrent writers that collided spread out instead of colliding again.
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not security


# ---------------------------------------------------------------- adapter


class DynamoDBModelRegistry:
    """The model registry on the registry table.

    Examples
    --------
    >>> registry = DynamoDBModelRegistry(settings().registry_table)   # doctest: +SKIP
    >>> v = registry.create_model_version(model="income", status="Approved", ...)  # doctest: +SKIP
    >>> registry.set_alias("income", "champion", v.version, actor="ci")  # doctest: +SKIP
    """

    def __init__(
        self,
        table_name: str,
        *,
        dynamodb_client: Any | None = None,
        stepfunctions_client: Any | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client
        self._sfn = stepfunctions_client
        self._publisher = publisher

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    @property
    def sfn(self) -> Any:
        return self._sfn or aws.client("stepfunctions")

    def _publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        (self._publisher or eventbridge.publish)(detail_type, detail)

    # ------------------------------------------------------------ low-level reads

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table_name, Key=_key(pk, sk), ConsistentRead=True)
        raw = response.get("Item")
        return _unmarshal(raw) if raw else None

    def _query(self, pk: str, prefix: str, *, forward: bool = True) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
            "ConsistentRead": True,
            "ScanIndexForward": forward,
        }
        while True:
            response = self.ddb.query(**kwargs)
            for raw in response.get("Items", []):
                yield _unmarshal(raw)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _aliases_by_version(self, model: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for item in self._query(_model_pk(model), "ALIAS#"):
            out.setdefault(int(item["version"]), []).append(str(item["alias"]))
        return out

    def _version_item(self, model: str, version: int) -> dict[str, Any]:
        item = self._get(_model_pk(model), _version_sk(version))
        if item is None:
            raise VersionNotFoundError(
                f"model {model!r} has no version {version}", model=model, version=version
            )
        return item

    # ------------------------------------------------------------ versions

    def create_model_version(
        self,
        *,
        model: str,
        status: str,
        run_id: str,
        dataset_id: str,
        model_artifact: str,
        baseline_id: str,
        holdout_id: str,
        spec_id: str,
        report_id: str,
        signature: dict[str, Any],
        metrics: dict[str, Any],
        params: dict[str, Any],
        seed: int,
        environment: dict[str, Any],
        code_version: str,
        intent: str,
    ) -> ModelVersion:
        """Allocate the next version number and write the version, atomically.

        One transaction bumps ``latest_version`` on the model summary (conditional on the value
        read), puts the version item and claims ``RUNVERSION#<run_id>``; a lost race retries
        with jitter. So numbers are distinct and consecutive without gaps, and a retried call for
        the same ``run_id`` returns the version it already created instead of a second one.
        """
        if status not in (PENDING, APPROVED):
            raise ValueError(f"a new version is {PENDING} or {APPROVED}, not {status!r}")
        if not run_id:
            raise ValueError("run_id is required: it makes registration idempotent")
        now = _now()
        approvals: list[dict[str, Any]] = []
        if status == APPROVED:
            approvals.append(
                {"actor": SYSTEM_ACTOR, "action": "auto-approve", "comment": "gates passed", "at": now}
            )
        body = {
            "model": model,
            "status": status,
            "run_id": run_id,
            "dataset_id": dataset_id,
            "model_artifact": model_artifact,
            "baseline_id": baseline_id,
            "holdout_id": holdout_id,
            "spec_id": spec_id,
            "report_id": report_id,
            "signature": signature,
            "metrics": metrics,
            "params": params,
            "seed": seed,
            "environment": environment,
            "code_version": code_version,
            "intent": intent,
            "created_at": now,
            "updated_at": now,
            "approvals": approvals,
        }
        pk = _model_pk(model)
        for attempt in range(_MAX_ATTEMPTS):
            existing = self.get_version_by_run(model, run_id)
            if existing is not None:
                return existing
            summary = self._get("MODELS", pk)
            latest = int(summary["latest_version"]) if summary else 0
            version = latest + 1
            try:
                self.ddb.transact_write_items(
                    TransactItems=self._allocation(
                        model, version, latest=latest, first=summary is None, body=body, now=now
                    )
                )
            except ClientError as exc:
                if _error_code(exc) not in ("TransactionCanceledException", "TransactionConflictException"):
                    raise
                _backoff(attempt)
                continue
            created = ModelVersion.from_item({**body, "version": version})
            self._publish(lockgate_events.MODEL_REGISTERED, _event_detail(created))
            if status == APPROVED:
                self._publish(lockgate_events.MODEL_APPROVED, _event_detail(created, actor=SYSTEM_ACTOR))
            return created
        raise VersionConflictError(
            f"could not allocate a version of {model!r}: too many concurrent registrations", model=model
        )

    def _allocation(
        self, model: str, version: int, *, latest: int, first: bool, body: dict[str, Any], now: str
    ) -> list[dict[str, Any]]:
        pk = _model_pk(model)
        if first:
            summary_condition = "attribute_not_exists(pk)"
            values = {":v": _av(version), ":m": _av(model), ":now": _av(now)}
        else:
            summary_condition = "latest_version = :expected"
            values = {":v": _av(version), ":m": _av(model), ":now": _av(now), ":expected": _av(latest)}
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key("MODELS", pk),
                    "UpdateExpression": "SET latest_version = :v, model = :m, "
                    "created_at = if_not_exists(created_at, :now), updated_at = :now",
                    "ConditionExpression": summary_condition,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _marshal({"pk": pk, "sk": _version_sk(version), "version": version, **body}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _marshal(
                        {
                            "pk": pk,
                            "sk": f"RUNVERSION#{body['run_id']}",
                            "version": version,
                            "created_at": now,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def get_version_by_run(self, model: str, run_id: str) -> ModelVersion | None:
        """The version a training run created, if any."""
        link = self._get(_model_pk(model), f"RUNVERSION#{run_id}")
        if link is None:
            return None
        return self.get_model_version(model, int(link["version"]))

    def get_model_version(self, model: str, version: int) -> ModelVersion:
        item = self._version_item(model, version)
        return ModelVersion.from_item(item, self._aliases_by_version(model).get(version, []))

    def list_model_versions(self, model: str) -> list[ModelVersion]:
        items = list(self._query(_model_pk(model), "VERSION#"))
        if not items and self._get("MODELS", _model_pk(model)) is None:
            raise ModelNotFoundError(f"no model named {model!r}", model=model)
        aliases = self._aliases_by_version(model)
        return [ModelVersion.from_item(i, aliases.get(int(i["version"]), [])) for i in items]

    def list_models(self) -> list[dict[str, Any]]:
        return [
            {
                "model": item["model"],
                "created_at": item.get("created_at", ""),
                "latest_version": int(item.get("latest_version", 0)),
            }
            for item in self._query("MODELS", "MODEL#")
        ]

    def set_model_card(self, model: str, version: int, card_id: str) -> ModelVersion:
        """Record the generated model card's content id on the version."""
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=_key(_model_pk(model), _version_sk(version)),
                UpdateExpression="SET model_card_id = :c",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":c": _av(card_id)},
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise VersionNotFoundError(f"model {model!r} has no version {version}") from exc
            raise
        return self.get_model_version(model, version)

    def records(self, model: str, prefixes: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        """Raw items of the model's partition by sort-key prefix (for lineage); ``sk`` included."""
        return {prefix: list(self._query(_model_pk(model), prefix)) for prefix in prefixes}

    def abandon_run(self, model: str, run_id: str, *, reason: str) -> ModelVersion | None:
        """A run failed: reject the version it created, unless an alias already serves it.

        The run failed after registering (a model card that could not be written, a failed
        promotion): its version must not stay servable by ``?version=N`` without its card or its
        promotion. A version some alias points at stays as it is.
        """
        version = self.get_version_by_run(model, run_id)
        if version is None or version.status == REJECTED or version.aliases:
            return version
        if version.status == PENDING:
            try:
                rejected = self.reject(model, version.version, actor=SYSTEM_ACTOR, comment=reason)
            except VersionConflictError:
                return self.get_model_version(model, version.version)  # decided meanwhile
            self._release_run(model, run_id, rejected.version)
            return rejected
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=_key(_model_pk(model), _version_sk(version.version)),
                UpdateExpression="SET #s = :rejected, updated_at = :now, "
                "approvals = list_append(if_not_exists(approvals, :empty), :entry)",
                ConditionExpression="#s = :approved",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":rejected": _av(REJECTED),
                    ":approved": _av(APPROVED),
                    ":now": _av(_now()),
                    ":empty": _av([]),
                    ":entry": _av(
                        [{"actor": SYSTEM_ACTOR, "action": "reject", "comment": reason, "at": _now()}]
                    ),
                },
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
        abandoned = self.get_model_version(model, version.version)
        if abandoned.status == REJECTED:
            self._release_run(model, run_id, abandoned.version)
        return abandoned

    def _release_run(self, model: str, run_id: str, version: int) -> None:
        """Unlink a failed run from its rejected version, so rerunning the run registers anew."""
        try:
            self.ddb.delete_item(
                TableName=self.table_name,
                Key=_key(_model_pk(model), f"RUNVERSION#{run_id}"),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": _av(version)},
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------ aliases

    def get_alias(self, model: str, alias: str) -> Alias:
        item = self._get(_model_pk(model), _alias_sk(alias))
        if item is None:
            raise AliasNotFoundError(f"model {model!r} has no alias {alias!r}", model=model, alias=alias)
        return Alias.from_item(item)

    def _find_alias(self, model: str, alias: str) -> Alias | None:
        try:
            return self.get_alias(model, alias)
        except AliasNotFoundError:
            return None

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
        """Point ``alias`` at ``version`` (which must exist and be Approved), keeping history.

        With ``expected_revision`` the move happens only if the alias is still at that revision
        (0 = the alias must not exist yet); otherwise :class:`VersionConflictError`. Without it,
        a move that loses a race is retried on the new revision (last writer wins, nothing lost).
        Pointing an alias at the version it already points at changes nothing.
        """
        if not ALIAS_NAME.fullmatch(alias):
            raise InvalidRequestError(
                f"alias {alias!r} is not a valid alias name (letters, digits, '_' and '-', at most 64)",
                field="alias",
            )
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
            raise InvalidRequestError(f"version must be an integer from 1 to {MAX_VERSION}", field="version")
        return self._move_alias(
            model,
            alias,
            version,
            actor=actor,
            reason=reason,
            expected_revision=expected_revision,
            action="set",
        )

    def _move_alias(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str,
        expected_revision: int | None,
        action: str,
    ) -> Alias:
        for attempt in range(_MAX_ATTEMPTS):
            current = self._find_alias(model, alias)
            revision = current.revision if current else 0
            if expected_revision is not None and revision != expected_revision:
                raise self._stale(model, alias, expected_revision, revision)
            if current is not None and current.version == version and expected_revision is None:
                self._version_item(model, version)  # still refuse a missing version
                return current
            now = _now()
            new = Alias(model, alias, version, revision + 1, now, current.version if current else None)
            try:
                self.ddb.transact_write_items(TransactItems=self._alias_move(new, actor, reason, action))
            except ClientError as exc:
                if _error_code(exc) not in ("TransactionCanceledException", "TransactionConflictException"):
                    raise
                self._explain_refusal(model, version)
                if expected_revision is not None:
                    raise self._stale(model, alias, expected_revision, None) from exc
                _backoff(attempt)
                continue
            self._publish(
                lockgate_events.MODEL_PROMOTED,
                {**new.to_dict(), "actor": actor, "reason": reason, "action": action},
            )
            return new
        raise VersionConflictError(f"could not move alias {alias!r} of {model!r}: too much contention")

    @staticmethod
    def _stale(model: str, alias: str, expected: int, actual: int | None) -> VersionConflictError:
        now = f"it is at revision {actual}" if actual is not None else "it moved meanwhile"
        return VersionConflictError(
            f"alias {alias!r} of {model!r} is no longer at revision {expected}: {now}; re-read and retry",
            model=model,
            alias=alias,
            expected_revision=expected,
            revision=actual,
        )

    def _explain_refusal(self, model: str, version: int) -> None:
        """After a cancelled alias move: raise the reason if it is the target version's fault."""
        status = self._version_item(model, version)["status"]
        if status != APPROVED:
            raise VersionConflictError(
                f"version {version} of {model!r} is {status}; only Approved versions can take an alias",
                model=model,
                version=version,
                status=status,
            )

    def _alias_move(self, new: Alias, actor: str, reason: str, action: str) -> list[dict[str, Any]]:
        pk = _model_pk(new.model)
        condition = "attribute_not_exists(pk)" if new.revision == 1 else "revision = :expected"
        values = {
            ":v": _av(new.version),
            ":r": _av(new.revision),
            ":now": _av(new.updated_at),
            ":m": _av(new.model),
            ":a": _av(new.alias),
            ":p": _av(new.previous_version),
        }
        if new.revision > 1:
            values[":expected"] = _av(new.revision - 1)
        entry = {
            "pk": pk,
            "sk": _alias_log_sk(new.alias, new.revision),
            "model": new.model,
            "alias": new.alias,
            "version": new.version,
            "previous_version": new.previous_version,
            "revision": new.revision,
            "actor": actor,
            "reason": reason,
            "action": action,
            "at": new.updated_at,
        }
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(pk, _alias_sk(new.alias)),
                    "UpdateExpression": "SET version = :v, revision = :r, updated_at = :now, model = :m, "
                    "alias = :a, previous_version = :p",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": _key(pk, _version_sk(new.version)),
                    "ConditionExpression": "#s = :approved",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":approved": _av(APPROVED)},
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _marshal(entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def alias_history(self, model: str, alias: str) -> list[dict[str, Any]]:
        """Every move of the alias, oldest first: version, previous_version, revision, actor, ..."""
        return [
            {k: v for k, v in item.items() if k not in ("pk", "sk")}
            for item in self._query(_model_pk(model), f"ALIASLOG#{alias}#")
        ]

    def rollback(self, model: str, *, to_version: int | None = None, actor: str) -> Alias:
        """Move ``champion`` back: to ``to_version``, or to the champion before the current one.

        History is read as a stack: promotions push, rollbacks pop, so rolling back twice after
        v1 → v2 → v3 gives v2 then v1 (never oscillates between two versions).
        """
        current = self.get_alias(model, CHAMPION)
        target = to_version
        if target is None:
            stack = champion_stack(self.alias_history(model, CHAMPION))
            if len(stack) < 2:
                raise VersionConflictError(
                    f"{model!r} has no earlier champion to roll back to",
                    model=model,
                    champion=current.version,
                )
            target = stack[-2]
        if target == current.version:
            raise VersionConflictError(f"version {target} of {model!r} is already the champion")
        return self._move_alias(
            model,
            CHAMPION,
            target,
            actor=actor,
            reason=f"rollback from {current.version}",
            expected_revision=current.revision,
            action="rollback",
        )

    # ------------------------------------------------------------ approval

    def set_task_token(self, model: str, version: int, token: str) -> None:
        """Store the waiting execution's task token; if already decided, resume it right away.

        Storing is conditional on the version still pending, and approve/reject are conditional
        on the same state, so whichever happens second sees the other: no decision is lost.
        """
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=_key(_model_pk(model), _version_sk(version)),
                UpdateExpression="SET task_token = :t",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":t": _av(token), ":pending": _av(PENDING)},
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            item = self._version_item(model, version)
            self._resume(token, ModelVersion.from_item(item))

    def approve(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        """PendingManualApproval → Approved; resumes the waiting execution."""
        return self._decide(model, version, APPROVED, actor=actor, comment=comment)

    def reject(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        """PendingManualApproval → Rejected; fails the waiting execution with ``ModelRejected``."""
        return self._decide(model, version, REJECTED, actor=actor, comment=comment)

    def _decide(self, model: str, version: int, status: str, *, actor: str, comment: str) -> ModelVersion:
        now = _now()
        entry = {
            "actor": actor,
            "action": "approve" if status == APPROVED else "reject",
            "comment": comment,
            "at": now,
        }
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=_key(_model_pk(model), _version_sk(version)),
                UpdateExpression="SET #s = :new, updated_at = :now, "
                "approvals = list_append(if_not_exists(approvals, :empty), :entry)",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":new": _av(status),
                    ":now": _av(now),
                    ":entry": _av([entry]),
                    ":empty": _av([]),
                    ":pending": _av(PENDING),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = self._version_item(model, version)["status"]
            raise VersionConflictError(
                f"version {version} is already {current}", model=model, version=version, status=current
            ) from exc
        item = _unmarshal(response["Attributes"])
        decided = ModelVersion.from_item(item, self._aliases_by_version(model).get(version, []))
        if status == REJECTED:
            self._close_run(decided, reason=f"rejected by {actor}" + (f": {comment}" if comment else ""))
        if item.get("task_token"):
            self._resume(str(item["task_token"]), decided)
        kind = lockgate_events.MODEL_APPROVED if status == APPROVED else lockgate_events.MODEL_REJECTED
        self._publish(kind, _event_detail(decided, actor=actor, comment=comment))
        return decided

    def _close_run(self, version: ModelVersion, *, reason: str) -> None:
        """A reviewer's rejection ends the run too (the execution ends in a Fail state, no task runs)."""
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=_key(_model_pk(version.model), f"RUN#{version.run_id}"),
                UpdateExpression="SET #s = :rejected, reason = :reason, updated_at = :now",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":rejected": _av("rejected"),
                    ":reason": _av(reason),
                    ":now": _av(_now()),
                },
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":  # no run record: nothing to close
                raise

    def _resume(self, token: str, version: ModelVersion) -> None:
        last = version.approvals[-1] if version.approvals else {}
        try:
            if version.status == APPROVED:
                output = {
                    "approved": True,
                    "version": version.version,
                    "actor": last.get("actor", ""),
                    "comment": last.get("comment", ""),
                }
                self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
            elif version.status == REJECTED:
                who, why = last.get("actor", "?"), last.get("comment", "")
                cause = f"version {version.version} rejected by {who}: {why}"
                self.sfn.send_task_failure(taskToken=token, error="ModelRejected", cause=cause[:32768])
        except ClientError as exc:
            # The execution already ended (timed out, stopped): the decision stands in the registry.
            if _error_code(exc) not in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                raise
            logger.warning("execution waiting on version %s is gone: %s", version.version, _error_code(exc))


def champion_stack(history: list[dict[str, Any]]) -> list[int]:
    """Replay alias history into a stack of versions: ``set`` pushes, ``rollback`` pops back."""
    stack: list[int] = []
    for entry in history:
        version = int(entry["version"])
        if entry.get("action") == "rollback" and version in stack:
            del stack[stack.index(version) + 1 :]
        elif not stack or stack[-1] != version:
            stack.append(version)
    return stack


def _event_detail(version: ModelVersion, **extra: Any) -> dict[str, Any]:
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


# ---------------------------------------------------------------- service: the register task


def _gate_list(gates: Any) -> list[dict[str, Any]]:
    """Gates as a list of ``{name, passed, detail}``, from a list or a ``{name: result}`` mapping."""
    if isinstance(gates, dict) and "passed" in gates:  # one lockgate.ml.evaluation.GateReport
        detail = "; ".join(gates.get("reasons") or []) or {k: v for k, v in gates.items() if k != "passed"}
        name = f"model gates ({gates.get('metric', '?')})"
        return [{"name": name, "passed": gates["passed"], "detail": detail}]
    if isinstance(gates, dict):
        return [
            {"name": name, **(r if isinstance(r, dict) else {"passed": bool(r)})} for name, r in gates.items()
        ]
    return [g for g in gates or [] if isinstance(g, dict)]


def register_candidate(
    *,
    registry: DynamoDBModelRegistry,
    store: S3ArtifactStore,
    state: dict[str, Any],
    spec: ModelSpec,
    code_version: str,
) -> ModelVersion:
    """Register the candidate a training execution produced, and write its model card.

    ``state`` is the training state machine's state (``docs/internals.md``). The version is
    Approved when the spec says ``approval: auto`` (the gates already passed), else
    PendingManualApproval. Idempotent on ``run_id``: a retried task gets the same version.
    """
    from lockgate.reports.model_card import CardContext, write_model_card

    training = state.get("training") or {}
    evaluation = state.get("evaluation") or {}
    validation = state.get("validation") or {}
    dataset = state.get("dataset") or {}
    version = registry.create_model_version(
        model=state["model"],
        status=APPROVED if spec.approval == "auto" else PENDING,
        run_id=state["run_id"],
        dataset_id=dataset.get("id", ""),
        model_artifact=training.get("model_artifact") or training["model_id"],
        baseline_id=training.get("baseline_id", ""),
        holdout_id=training.get("holdout_id", ""),
        spec_id=(state.get("spec") or {}).get("id", ""),
        report_id=validation.get("report_id", ""),
        signature=training.get("signature") or {},
        metrics=evaluation.get("metrics") or training.get("metrics") or {},
        params=training.get("params") or {},
        seed=int(training.get("seed", spec.seed)),
        environment=training.get("environment") or {},
        code_version=training.get("code_version") or code_version,
        intent=spec.description or dataset.get("description", ""),
    )
    if version.model_card_id:
        return version
    context = CardContext(
        spec=spec,
        dataset_rows=validation.get("rows"),
        dataset_source=dataset.get("source_key") or dataset.get("key"),
        gates=_gate_list(evaluation.get("gates")),
        champion_metrics=evaluation.get("champion_metrics"),
    )
    card_id = write_model_card(store, version, context)
    return registry.set_model_card(version.model, version.version, card_id)


# ---------------------------------------------------------------- service: the MarkFailed task


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


def record_training_failure(
    *,
    registry: DynamoDBModelRegistry,
    runs: RunStore,
    state: dict[str, Any],
    publisher: Publisher | None = None,
) -> dict[str, Any]:
    """Record a failed training execution: run ``failed`` with its reason, any pending version of
    the run ``Rejected`` (nothing half-done stays registered), and a ``Training Failed`` event.
    """
    from lockgate.errors import RunNotFoundError

    model, run_id = str(state["model"]), str(state["run_id"])
    error, cause = describe_failure(state.get("error"))
    reason = f"{error}: {cause}" if cause else error
    try:
        try:
            runs.mark_failed(model, run_id, reason)
        except RunNotFoundError:
            # It failed before training created the record (validation, a bad spec): create it so
            # the failure and its reason are on record, not only in an event.
            dataset_id = str((state.get("dataset") or {}).get("id", ""))
            runs.start(model, run_id, dataset_id=dataset_id, trigger=str(state.get("trigger", "upload")))
            runs.mark_failed(model, run_id, reason)
    except ClientError:
        # The store that failed the run may still be failing: the event below must still go out.
        logger.exception("could not record the failure of run %s of %s on its run record", run_id, model)
    version = registry.abandon_run(model, run_id, reason=f"training failed: {reason}")
    detail = {
        "model": model,
        "run_id": run_id,
        "dataset_id": (state.get("dataset") or {}).get("id"),
        "error": error,
        "cause": cause,
        "rejected_version": version.version if version and version.status == REJECTED else None,
    }
    (publisher or eventbridge.publish)(lockgate_events.TRAINING_FAILED, detail)
    return detail
