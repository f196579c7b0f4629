"""The model registry on the registry table: versions, approval states and aliases.

Implements :class:`lockgate.ports.ModelRegistry`; the values and rules are
:mod:`lockgate.domain.model_version`.

Concurrency: every write is a DynamoDB conditional write or transaction, so concurrent callers
never share a version number, never lose an alias move, and an alias can only ever point at an
existing, Approved version (the version item is a ``ConditionCheck`` of the alias transaction and
versions are never deleted, and an Approved version never changes state again).

Events: the registry itself announces ``Model Registered``, ``Model Approved``, ``Model Rejected``
and ``Model Promoted`` after each write commits, so every caller (the register/promote tasks, the
CLI, the API) emits the same events the same way. Pass ``publisher=`` to capture them elsewhere.

Layout (``docs/internals.md``, keys spelled in :mod:`lockgate.adapters.dynamodb.table`): the
``MODELS`` summary of a model holds ``latest_version``; a ``VERSION`` item per version; a
``RUNVERSION`` item maps a training run to the one version it created (retried register tasks
are idempotent); ``ALIAS`` and ``ALIASLOG`` items an alias and its history.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws, eventbridge
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.dynamodb.table import (
    ALIAS,
    ALIAS_LOG,
    MODELS_PK,
    VERSION,
    alias_log_prefix,
    alias_log_sk,
    alias_sk,
    attribute,
    backoff,
    conditional_failed,
    deserialize,
    error_code,
    get,
    key,
    model_key,
    model_pk,
    query,
    run_version_sk,
    serialize,
    version_sk,
)
from lockgate.adapters.stepfunctions import StepFunctionsTaskTokens
from lockgate.domain import events as lockgate_events
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
from lockgate.domain.run import REJECTED as RUN_REJECTED
from lockgate.errors import (
    AliasNotFoundError,
    ModelNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)
from lockgate.ports import Publisher, RunStore, TaskTokens

logger = logging.getLogger(__name__)

_MAX_ATTEMPTS = 60
_LOST_RACE = ("TransactionCanceledException", "TransactionConflictException")


class DynamoDBModelRegistry:
    """The model registry on the registry table.

    ``runs`` is where a rejection closes the version's run, ``task_tokens`` how a decision
    resumes the waiting execution; both default to the AWS adapters on the same clients.

    Examples
    --------
    >>> registry = DynamoDBModelRegistry(settings().registry_table)   # doctest: +SKIP
    >>> v = registry.create_model_version(NewModelVersion(model="income", status="Approved", ...))  # doctest: +SKIP
    >>> registry.set_alias("income", "champion", v.version, actor="ci")  # doctest: +SKIP
    """

    def __init__(
        self,
        table_name: str,
        *,
        dynamodb_client: Any | None = None,
        stepfunctions_client: Any | None = None,
        publisher: Publisher | None = None,
        runs: RunStore | None = None,
        task_tokens: TaskTokens | None = None,
    ) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client
        self._publisher = publisher
        self._runs: RunStore = runs or DynamoDBRunStore(table_name, dynamodb_client=dynamodb_client)
        self._tokens: TaskTokens = task_tokens or StepFunctionsTaskTokens(
            stepfunctions_client=stepfunctions_client
        )

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def _publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        (self._publisher or eventbridge.publish)(detail_type, detail)

    # ------------------------------------------------------------ low-level reads

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return get(self.ddb, self.table_name, pk, sk)

    def _query(self, model: str, prefix: str) -> list[dict[str, Any]]:
        return list(query(self.ddb, self.table_name, model_pk(model), prefix))

    def _aliases_by_version(self, model: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for item in self._query(model, ALIAS):
            out.setdefault(int(item["version"]), []).append(str(item["alias"]))
        return out

    def _version_item(self, model: str, version: int) -> dict[str, Any]:
        item = self._get(model_pk(model), version_sk(version))
        if item is None:
            raise VersionNotFoundError(
                f"model {model!r} has no version {version}", model=model, version=version
            )
        return item

    # ------------------------------------------------------------ versions

    def create_model_version(self, new: NewModelVersion) -> ModelVersion:
        """Allocate the next version number and write the version, atomically.

        One transaction bumps ``latest_version`` on the model summary (conditional on the value
        read), puts the version item and claims the run's ``RUNVERSION`` item; a lost race retries
        with jitter. So numbers are distinct and consecutive without gaps, and a retried call for
        the same ``run_id`` returns the version it already created instead of a second one.
        """
        now = now_iso()
        body = {
            **new.to_dict(),
            "created_at": now,
            "updated_at": now,
            "approvals": new.initial_approvals(now),
        }
        for attempt in range(_MAX_ATTEMPTS):
            existing = self.get_version_by_run(new.model, new.run_id)
            if existing is not None:
                return existing
            summary = self._get(MODELS_PK, model_pk(new.model))
            latest = int(summary["latest_version"]) if summary else 0
            version = latest + 1
            try:
                self.ddb.transact_write_items(
                    TransactItems=self._allocation(
                        new.model, version, latest=latest, first=summary is None, body=body, now=now
                    )
                )
            except ClientError as exc:
                if error_code(exc) not in _LOST_RACE:
                    raise
                backoff(attempt)
                continue
            created = ModelVersion.from_dict({**body, "version": version})
            self._publish(lockgate_events.MODEL_REGISTERED, event_detail(created))
            if new.status == APPROVED:
                self._publish(lockgate_events.MODEL_APPROVED, event_detail(created, actor=SYSTEM_ACTOR))
            return created
        raise VersionConflictError(
            f"could not allocate a version of {new.model!r}: too many concurrent registrations",
            model=new.model,
        )

    def _allocation(
        self, model: str, version: int, *, latest: int, first: bool, body: dict[str, Any], now: str
    ) -> list[dict[str, Any]]:
        pk = model_pk(model)
        if first:
            summary_condition = "attribute_not_exists(pk)"
            values = {":v": attribute(version), ":m": attribute(model), ":now": attribute(now)}
        else:
            summary_condition = "latest_version = :expected"
            values = {
                ":v": attribute(version),
                ":m": attribute(model),
                ":now": attribute(now),
                ":expected": attribute(latest),
            }
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": key(MODELS_PK, pk),
                    "UpdateExpression": "SET latest_version = :v, model = :m, "
                    "created_at = if_not_exists(created_at, :now), updated_at = :now",
                    "ConditionExpression": summary_condition,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize({"pk": pk, "sk": version_sk(version), "version": version, **body}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(
                        {
                            "pk": pk,
                            "sk": run_version_sk(str(body["run_id"])),
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
        link = self._get(model_pk(model), run_version_sk(run_id))
        if link is None:
            return None
        return self.get_model_version(model, int(link["version"]))

    def get_model_version(self, model: str, version: int) -> ModelVersion:
        item = self._version_item(model, version)
        return ModelVersion.from_dict(item, self._aliases_by_version(model).get(version, []))

    def list_model_versions(self, model: str) -> list[ModelVersion]:
        items = self._query(model, VERSION)
        if not items and self._get(MODELS_PK, model_pk(model)) is None:
            raise ModelNotFoundError(f"no model named {model!r}", model=model)
        aliases = self._aliases_by_version(model)
        return [ModelVersion.from_dict(i, aliases.get(int(i["version"]), [])) for i in items]

    def list_models(self) -> list[RegisteredModel]:
        return [
            RegisteredModel(
                model=str(item["model"]),
                created_at=str(item.get("created_at", "")),
                latest_version=int(item.get("latest_version", 0)),
            )
            for item in query(self.ddb, self.table_name, MODELS_PK, model_pk(""))
        ]

    def set_model_card(self, model: str, version: int, card_id: str) -> ModelVersion:
        """Record the generated model card's content id on the version."""
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=model_key(model, version_sk(version)),
                UpdateExpression="SET model_card_id = :c",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":c": attribute(card_id)},
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise VersionNotFoundError(f"model {model!r} has no version {version}") from exc
            raise
        return self.get_model_version(model, version)

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
                Key=model_key(model, version_sk(version.version)),
                UpdateExpression="SET #s = :rejected, updated_at = :now, "
                "approvals = list_append(if_not_exists(approvals, :empty), :entry)",
                ConditionExpression="#s = :approved",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":rejected": attribute(REJECTED),
                    ":approved": attribute(APPROVED),
                    ":now": attribute(now_iso()),
                    ":empty": attribute([]),
                    ":entry": attribute(
                        [{"actor": SYSTEM_ACTOR, "action": "reject", "comment": reason, "at": now_iso()}]
                    ),
                },
            )
        except ClientError as exc:
            if not conditional_failed(exc):
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
                Key=model_key(model, run_version_sk(run_id)),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": attribute(version)},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise

    # ------------------------------------------------------------ aliases

    def get_alias(self, model: str, alias: str) -> Alias:
        item = self._get(model_pk(model), alias_sk(alias))
        if item is None:
            raise AliasNotFoundError(f"model {model!r} has no alias {alias!r}", model=model, alias=alias)
        return Alias.from_dict(item)

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
        check_alias_target(alias, version)
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
            now = now_iso()
            new = Alias(model, alias, version, revision + 1, now, current.version if current else None)
            move = AliasMove.of(new, actor=actor, reason=reason, action=action)
            try:
                self.ddb.transact_write_items(TransactItems=self._alias_move(new, move))
            except ClientError as exc:
                if error_code(exc) not in _LOST_RACE:
                    raise
                self._explain_refusal(model, version)
                if expected_revision is not None:
                    raise self._stale(model, alias, expected_revision, None) from exc
                backoff(attempt)
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

    def _alias_move(self, new: Alias, move: AliasMove) -> list[dict[str, Any]]:
        pk = model_pk(new.model)
        condition = "attribute_not_exists(pk)" if new.revision == 1 else "revision = :expected"
        values = {
            ":v": attribute(new.version),
            ":r": attribute(new.revision),
            ":now": attribute(new.updated_at),
            ":m": attribute(new.model),
            ":a": attribute(new.alias),
            ":p": attribute(new.previous_version),
        }
        if new.revision > 1:
            values[":expected"] = attribute(new.revision - 1)
        entry = {"pk": pk, "sk": alias_log_sk(new.alias, new.revision), **move.to_dict()}
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": key(pk, alias_sk(new.alias)),
                    "UpdateExpression": "SET version = :v, revision = :r, updated_at = :now, model = :m, "
                    "alias = :a, previous_version = :p",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": key(pk, version_sk(new.version)),
                    "ConditionExpression": "#s = :approved",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":approved": attribute(APPROVED)},
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of ``alias`` (of every alias when ``None``), oldest first per alias."""
        prefix = ALIAS_LOG if alias is None else alias_log_prefix(alias)
        return [AliasMove.from_dict(item) for item in self._query(model, prefix)]

    def rollback(self, model: str, *, to_version: int | None = None, actor: str) -> Alias:
        """Move ``champion`` back: to ``to_version``, or to the champion before the current one.

        History is read as a stack (:func:`champion_stack`): promotions push, rollbacks pop.
        """
        current = self.get_alias(model, CHAMPION)
        target = rollback_target(model, current, self.alias_history(model, CHAMPION), to_version)
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
                Key=model_key(model, version_sk(version)),
                UpdateExpression="SET task_token = :t",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":t": attribute(token), ":pending": attribute(PENDING)},
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            item = self._version_item(model, version)
            self._resume(token, ModelVersion.from_dict(item))

    def approve(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        """PendingManualApproval → Approved; resumes the waiting execution."""
        return self._decide(model, version, APPROVED, actor=actor, comment=comment)

    def reject(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion:
        """PendingManualApproval → Rejected; fails the waiting execution with ``ModelRejected``."""
        return self._decide(model, version, REJECTED, actor=actor, comment=comment)

    def _decide(self, model: str, version: int, status: str, *, actor: str, comment: str) -> ModelVersion:
        now = now_iso()
        entry = {
            "actor": actor,
            "action": "approve" if status == APPROVED else "reject",
            "comment": comment,
            "at": now,
        }
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=model_key(model, version_sk(version)),
                UpdateExpression="SET #s = :new, updated_at = :now, "
                "approvals = list_append(if_not_exists(approvals, :empty), :entry)",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":new": attribute(status),
                    ":now": attribute(now),
                    ":entry": attribute([entry]),
                    ":empty": attribute([]),
                    ":pending": attribute(PENDING),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            current = self._version_item(model, version)["status"]
            raise VersionConflictError(
                f"version {version} is already {current}", model=model, version=version, status=current
            ) from exc
        item = deserialize(response["Attributes"])
        decided = ModelVersion.from_dict(item, self._aliases_by_version(model).get(version, []))
        if status == REJECTED:
            # A reviewer's rejection ends the run too (the execution ends in a Fail state, no task
            # runs); a version without a run record has nothing to close.
            reason = f"rejected by {actor}" + (f": {comment}" if comment else "")
            self._runs.note(model, decided.run_id, status=RUN_REJECTED, reason=reason)
        if item.get("task_token"):
            self._resume(str(item["task_token"]), decided)
        kind = lockgate_events.MODEL_APPROVED if status == APPROVED else lockgate_events.MODEL_REJECTED
        self._publish(kind, event_detail(decided, actor=actor, comment=comment))
        return decided

    def _resume(self, token: str, version: ModelVersion) -> None:
        decided, output, cause = task_outcome(version)
        if not decided:
            return
        if output is not None:
            self._tokens.succeed(token, output)
        else:
            self._tokens.fail(token, error="ModelRejected", cause=cause)
