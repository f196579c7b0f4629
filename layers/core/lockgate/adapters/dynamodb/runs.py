"""Training runs in the registry table (``MODEL#<m>`` / ``RUN#<run_id>``, docs/internals.md).

Implements :class:`lockgate.ports.RunStore`. A run is created when training starts and carries
its outcome (:mod:`lockgate.domain.run`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import (
    RUN,
    conditional_failed,
    deserialize,
    model_key,
    model_pk,
    query,
    run_sk,
    serialize,
)
from lockgate.domain.model_version import now_iso
from lockgate.domain.run import FAILED, REJECTED, RUNNING, RunRecord, check_run_fields
from lockgate.errors import RunNotFoundError


def _not_found(model: str, run_id: str) -> RunNotFoundError:
    return RunNotFoundError(f"run {run_id} of model {model} does not exist", model=model, run_id=run_id)


class DynamoDBRunStore:
    """Runs on the registry table, through the low-level DynamoDB client."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def start(self, model: str, run_id: str, *, dataset_id: str, trigger: str) -> RunRecord:
        """Create the run; a redelivered start (same run id) returns the existing run unchanged."""
        now = now_iso()
        record = RunRecord(
            model=model,
            run_id=run_id,
            status=RUNNING,
            dataset_id=dataset_id,
            trigger=trigger,
            created_at=now,
            updated_at=now,
        )
        key = model_key(model, run_sk(run_id))
        item = {"pk": key["pk"]["S"], "sk": key["sk"]["S"], **record.to_dict()}
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            return self.get(model, run_id)
        return record

    def get(self, model: str, run_id: str) -> RunRecord:
        item = self.ddb.get_item(
            TableName=self.table_name, Key=model_key(model, run_sk(run_id)), ConsistentRead=True
        ).get("Item")
        if not item:
            raise _not_found(model, run_id)
        return RunRecord.from_dict(deserialize(item))

    def list_runs(self, model: str) -> list[RunRecord]:
        """Every run of ``model``, oldest first (by creation time)."""
        records = [
            RunRecord.from_dict(item) for item in query(self.ddb, self.table_name, model_pk(model), RUN)
        ]
        return sorted(records, key=lambda r: r.created_at)

    def update(self, model: str, run_id: str, **fields: Any) -> RunRecord:
        """Set the given fields (names of :class:`RunRecord`) on an existing run; returns the new record."""
        check_run_fields(fields)
        values = {**fields, "updated_at": now_iso()}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        placeholders = {f":v{i}": value for i, value in enumerate(values.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=model_key(model, run_sk(run_id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(placeholders),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise _not_found(model, run_id) from exc
            raise
        return RunRecord.from_dict(deserialize(response["Attributes"]))

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
