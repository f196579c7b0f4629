"""S3 adapters for monitoring: the JSON Lines logs, label uploads and the retraining drop.

* :class:`S3Logs` (artifact bucket) reads ``captures/<model>/date=<day>/`` and
  ``labels/<model>/date=<day>/`` windows (:class:`lockgate.ports.LogReader`) and appends label
  files (:class:`lockgate.ports.LabelLog`);
* :class:`S3Uploads` reads a file someone dropped (:class:`lockgate.ports.UploadReader`);
* :class:`S3DatasetDrop` (data bucket) receives retraining datasets for the ingest trigger
  (:class:`lockgate.ports.DatasetDrop`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lockgate.adapters import aws
from lockgate.domain.check import LogKind, LogRead, records_in_window
from lockgate.domain.labels import json_line, label_file_key
from lockgate.domain.time import dates


class S3Logs:
    """The captures and labels logs in the artifact bucket."""

    def __init__(self, bucket: str, *, s3_client: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def read(self, kind: LogKind, model: str, start: datetime, end: datetime) -> LogRead:
        """Records of ``<kind>/<model>/date=…/`` objects with ``start < timestamp <= end``."""
        records: list[dict[str, Any]] = []
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for day in dates(start, end):
            prefix = f"{kind}/{model}/date={day}/"
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    body = self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
                    lines = body.decode("utf-8", errors="replace").splitlines()
                    found = records_in_window((json_line(line) for line in lines), start, end)
                    if found:
                        records += found
                        keys.append(obj["Key"])
        return LogRead(records, keys)

    def append_labels(
        self, model: str, records: Sequence[Mapping[str, Any]], *, received_at: datetime, source_id: str
    ) -> str:
        key = label_file_key(model, received_at=received_at, source_id=source_id)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=("\n".join(json.dumps(dict(r)) for r in records) + "\n").encode(),
            ContentType="application/x-ndjson",
        )
        return key


class S3Uploads:
    """Files dropped in any bucket the function may read (the notification names the bucket)."""

    def __init__(self, *, s3_client: Any | None = None) -> None:
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def size(self, bucket: str, key: str) -> int:
        return int(self.s3.head_object(Bucket=bucket, Key=key)["ContentLength"])

    def read(self, bucket: str, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data


class S3DatasetDrop:
    """The data bucket, where a dataset written here is registered by the ingest trigger."""

    def __init__(self, bucket: str, *, s3_client: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def put(self, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata)
        )
