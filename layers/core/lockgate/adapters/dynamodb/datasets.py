"""Dataset and upload records in the registry table (implements :class:`lockgate.ports.DatasetStore`).

One ``DATASET#<sha>`` item per distinct content (written with a conditional put, so the first
delivery wins) and one ``UPLOAD#<upload id>`` item per upload event (``new``, ``duplicate`` or
``rejected``), both under the model's partition. See ``docs/internals.md``.

Example
-------
>>> store = DynamoDBDatasetStore("registry")            # doctest: +SKIP
>>> [r.status for r in store.list("churn")]             # doctest: +SKIP
['accepted', 'duplicate']
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb import table
from lockgate.domain.dataset import DatasetRecord, UploadRecord, UploadStatus, now_iso
from lockgate.errors import DatasetNotFoundError


def _item(values: dict[str, Any]) -> dict[str, Any]:
    """A record as an item: absent values (None, empty lists) are left out, as they always were."""
    return table.serialize({k: v for k, v in values.items() if v is not None and v != [] and v != ()})


class DynamoDBDatasetStore:
    """Dataset records in the registry table (``MODEL#<m>`` / ``DATASET#<sha>`` and ``UPLOAD#<id>``)."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def get(self, model: str, dataset_id: str) -> DatasetRecord:
        item = table.get(self.ddb, self.table_name, table.model_pk(model), table.dataset_sk(dataset_id))
        if not item:
            raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model)
        return DatasetRecord.from_dict(item)

    def _query(self, model: str, prefix: str) -> builtins.list[dict[str, Any]]:
        return list(table.query(self.ddb, self.table_name, table.model_pk(model), prefix))

    def list(self, model: str) -> builtins.list[DatasetRecord]:
        """Every upload of ``model``, oldest first: distinct datasets plus duplicate and refused uploads."""
        records = [DatasetRecord.from_dict(i) for i in self._query(model, table.DATASET)]
        records += [
            DatasetRecord.from_dict(i) for i in self._query(model, table.UPLOAD) if i.get("status") != "new"
        ]
        return sorted(records, key=lambda r: (r.created_at, r.source_key))

    def last_accepted(self, model: str, *, exclude: str | None = None) -> DatasetRecord | None:
        """The most recently accepted dataset (by acceptance time), optionally skipping one id."""
        accepted = [r for r in self.list(model) if r.status == "accepted" and r.dataset_id != exclude]
        return max(accepted, key=lambda r: r.updated_at or r.created_at) if accepted else None

    def get_upload(self, model: str, upload_id: str) -> UploadRecord | None:
        """What ingest recorded for one upload event, once it has (``None`` before)."""
        item = table.get(self.ddb, self.table_name, table.model_pk(model), table.upload_sk(upload_id))
        if not item:
            return None
        status = cast(UploadStatus, item["status"])
        # The item's status is the upload's; the record's is what a listing shows for it.
        shown = "received" if status == "new" else status
        return UploadRecord(status=status, record=DatasetRecord.from_dict({**item, "status": shown}))

    def record_upload(self, record: DatasetRecord) -> DatasetRecord:
        """Record an upload; first delivery of a content id wins.

        Returns the stored ``DATASET`` record when this upload owns the content id (first time, or a
        redelivery of the same upload event), or a ``duplicate`` record when the same bytes were
        already uploaded by another upload.
        """
        now = record.created_at or now_iso()
        dataset = replace(record, status="received", created_at=now, updated_at=now)
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={
                    **table.model_key(record.model, table.dataset_sk(record.dataset_id)),
                    **_item(dataset.to_dict()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            self._put_upload(dataset, "new")
            return dataset
        except ClientError as exc:
            if not table.conditional_failed(exc):
                raise
        existing = self.get(record.model, record.dataset_id)
        if existing.upload_id == record.upload_id:
            return existing  # the same event again: the caller may safely (re)start its execution
        duplicate = record.duplicate_of(existing, now=now)
        self._put_upload(duplicate, "duplicate")
        return duplicate

    def record_rejected_upload(self, record: DatasetRecord) -> DatasetRecord:
        """Record an upload refused before its bytes were read (too large, bad key, no spec)."""
        now = record.created_at or now_iso()
        rejected = replace(record, status="rejected", created_at=now, updated_at=now)
        self._put_upload(rejected, "rejected")
        return rejected

    def _put_upload(self, record: DatasetRecord, status: UploadStatus) -> None:
        values = {**record.to_dict(), "status": status}
        item = {**table.model_key(record.model, table.upload_sk(record.upload_id)), **_item(values)}
        try:
            # First write wins: a redelivered event never flips an upload's recorded status.
            self.ddb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if not table.conditional_failed(exc):
                raise

    def _update(self, model: str, dataset_id: str, fields: dict[str, Any]) -> None:
        fields = {**fields, "updated_at": now_iso()}
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=table.model_key(model, table.dataset_sk(dataset_id)),
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
                ExpressionAttributeNames={f"#{k}": k for k in fields},
                ExpressionAttributeValues={f":{k}": table.attribute(v) for k, v in fields.items()},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if table.conditional_failed(exc):
                raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model) from exc
            raise

    def set_execution(self, model: str, dataset_id: str, execution_arn: str) -> None:
        self._update(model, dataset_id, {"execution_arn": execution_arn})

    def mark_accepted(self, model: str, dataset_id: str, *, rows: int, columns: int, report_id: str) -> None:
        self._update(
            model,
            dataset_id,
            {"status": "accepted", "rows": rows, "columns": columns, "report_id": report_id, "reasons": []},
        )

    def mark_rejected(
        self,
        model: str,
        dataset_id: str,
        *,
        reasons: Sequence[str],
        report_id: str | None = None,
        rows: int | None = None,
        columns: int | None = None,
    ) -> None:
        fields: dict[str, Any] = {"status": "rejected", "reasons": list(reasons)}
        for name, value in (("report_id", report_id), ("rows", rows), ("columns", columns)):
            if value is not None:
                fields[name] = value
        self._update(model, dataset_id, fields)
