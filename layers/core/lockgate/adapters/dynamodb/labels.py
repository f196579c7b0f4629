"""Label file records in the registry table (implements :class:`lockgate.ports.LabelFileStore`).

``MODEL#<m>`` / ``LABELS#<source id>``: what became of one uploaded label file, so a rejected file
is visible with its reasons (``docs/internals.md``) instead of being retried forever. The source
id is per object version, so a redelivered notification overwrites its own record.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lockgate.adapters import aws
from lockgate.adapters.dynamodb import table
from lockgate.domain.labels import LabelIngestResult
from lockgate.domain.time import iso


class DynamoDBLabelFileStore:
    """``LABELS#`` records; the client from :mod:`lockgate.adapters.aws` unless given."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    def record(self, result: LabelIngestResult, *, source_id: str, received_at: datetime) -> None:
        values: dict[str, Any] = {
            "source_key": result.source_key,
            "status": result.status,
            "rows": result.rows,
            "skipped_rows": result.skipped_rows,
            "reasons": json.dumps(result.reasons),
            "created_at": iso(received_at),
        }
        if result.key:
            values["key"] = result.key
        self.ddb.put_item(
            TableName=self.table_name,
            Item=table.model_key(result.model, table.labels_sk(source_id)) | table.serialize(values),
        )
