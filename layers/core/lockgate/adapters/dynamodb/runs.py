"""Training runs in the registry table (``MODEL#<m>`` / ``RUN#<run_id>``, docs/internals.md).

A run is created when training starts and carries its outcome: ``running`` -> ``succeeded`` |
``rejected`` (a gate said no, with the numbers) | ``failed`` (something broke, with the reason).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import deserialize, serialize
from lockgate.errors import RunNotFoundError

RUNNING = "running"
SUCCEEDED = "succeeded"
REJECTED = "rejected"
FAILED = "failed"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


_FIELDS = {f.name for f in dataclasses.fields(RunRecord)}
_UPDATABLE = _FIELDS - {"model", "run_id", "created_at", "updated_at"}


class RunStore(Protocol):
    def start(self, model: str, run_id: str, *, dataset_id: str, trigger: str) -> RunRecord: ...
    def get(self, model: str, run_id: str) -> RunRecord: ...
    def update(self, model: str, run_id: str, **fields: Any) -> RunRecord: ...
    def mark_failed(self, model: str, run_id: str, reason: str) -> RunRecord: ...
    def mark_rejected(self, model: str, run_id: str, reason: str, **numbers: Any) -> RunRecord: ...


class DynamoDBRunStore:
    """Runs on the registry table, through the low-level DynamoDB client."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    @staticmethod
    def _key(model: str, run_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"MODEL#{model}"}, "sk": {"S": f"RUN#{run_id}"}}

    def start(self, model: str, run_id: str, *, dataset_id: str, trigger: str) -> RunRecord:
        """Create the run; a redelivered start (same run id) returns the existing run unchanged."""
        now = _now()
        record = RunRecord(
            model=model,
            run_id=run_id,
            status=RUNNING,
            dataset_id=dataset_id,
            trigger=trigger,
            created_at=now,
            updated_at=now,
        )
        item = {"pk": f"MODEL#{model}", "sk": f"RUN#{run_id}", **record.to_dict()}
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self.get(model, run_id)
        return record

    def get(self, model: str, run_id: str) -> RunRecord:
        item = self.ddb.get_item(
            TableName=self.table_name, Key=self._key(model, run_id), ConsistentRead=True
        ).get("Item")
        if not item:
            raise RunNotFoundError(
                f"run {run_id} of model {model} does not exist", model=model, run_id=run_id
            )
        data = deserialize(item)
        return RunRecord(**{k: v for k, v in data.items() if k in _FIELDS})

    def update(self, model: str, run_id: str, **fields: Any) -> RunRecord:
        """Set the given fields (names of :class:`RunRecord`) on an existing run; returns the new record."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown run field(s): {', '.join(sorted(unknown))}")
        values = {**fields, "updated_at": _now()}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        placeholders = {f":v{i}": value for i, value in enumerate(values.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(model, run_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(placeholders),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise RunNotFoundError(
                    f"run {run_id} of model {model} does not exist", model=model, run_id=run_id
                ) from exc
            raise
        data = deserialize(response["Attributes"])
        return RunRecord(**{k: v for k, v in data.items() if k in _FIELDS})

    def note(self, model: str, run_id: str, **fields: Any) -> RunRecord | None:
        """Like :meth:`update`, for steps after training: a run without a record (an older pipeline,
        a hand-started execution) is left alone instead of failing the step."""
        try:
            return self.update(model, run_id, **fields)
        except RunNotFoundError:
            return None

    def mark_failed(self, model: str, run_id: str, reason: str) -> RunRecord:
        return self.update(model, run_id, status=FAILED, reason=reason)

    def mark_rejected(self, model: str, run_id: str, reason: str, **numbers: Any) -> RunRecord:
        """Rejected by a gate; ``numbers`` (metric, candidate, champion, thresholds) go under ``gates``."""
        current = self.get(model, run_id)
        return self.update(model, run_id, status=REJECTED, reason=reason, gates={**current.gates, **numbers})
