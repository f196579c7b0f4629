"""In-memory fakes of the data-in ports: dataset records, the uploads bucket, the training launcher.

They keep state and enforce what the AWS side enforces: the first delivery of a content id wins
and an upload's recorded status never changes (DynamoDB conditional puts); reads of an upload are
pinned to its version and a copy moves exactly those bytes (S3); a second start with the same
execution name starts nothing and answers with the first execution (Step Functions).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lockgate.domain.dataset import (
    DatasetRecord,
    UploadDigest,
    UploadHead,
    UploadRecord,
    UploadRef,
    UploadStatus,
    execution_arn,
    now_iso,
)
from lockgate.domain.training_state import TrainingRequest
from lockgate.errors import DatasetNotFoundError
from lockgate.ports import ArtifactStore

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:training"


class InMemoryDatasetStore:
    """A :class:`lockgate.ports.DatasetStore` in memory, first-delivery-wins like the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.datasets: dict[tuple[str, str], DatasetRecord] = {}
        self.uploads: dict[tuple[str, str], UploadRecord] = {}

    def get(self, model: str, dataset_id: str) -> DatasetRecord:
        with self._lock:
            found = self.datasets.get((model, dataset_id))
        if found is None:
            raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model)
        return found

    def list(self, model: str) -> list[DatasetRecord]:
        with self._lock:
            records = [r for (m, _), r in self.datasets.items() if m == model]
            records += [u.record for (m, _), u in self.uploads.items() if m == model and u.status != "new"]
        return sorted(records, key=lambda r: (r.created_at, r.source_key))

    def last_accepted(self, model: str, *, exclude: str | None = None) -> DatasetRecord | None:
        accepted = [r for r in self.list(model) if r.status == "accepted" and r.dataset_id != exclude]
        return max(accepted, key=lambda r: r.updated_at or r.created_at) if accepted else None

    def get_upload(self, model: str, upload_id: str) -> UploadRecord | None:
        with self._lock:
            return self.uploads.get((model, upload_id))

    def record_upload(self, record: DatasetRecord) -> DatasetRecord:
        now = record.created_at or now_iso()
        dataset = replace(record, status="received", created_at=now, updated_at=now)
        with self._lock:
            existing = self.datasets.get((record.model, record.dataset_id))
            if existing is None:
                self.datasets[(record.model, record.dataset_id)] = dataset
                self._put_upload(dataset, "new")
                return dataset
            if existing.upload_id == record.upload_id:
                return existing
            duplicate = record.duplicate_of(existing, now=now)
            self._put_upload(duplicate, "duplicate")
            return duplicate

    def record_rejected_upload(self, record: DatasetRecord) -> DatasetRecord:
        now = record.created_at or now_iso()
        rejected = replace(record, status="rejected", created_at=now, updated_at=now)
        with self._lock:
            self._put_upload(rejected, "rejected")
        return rejected

    def _put_upload(self, record: DatasetRecord, status: UploadStatus) -> None:
        # First write wins: a redelivered event never flips an upload's recorded status.
        shown = replace(record, status="received") if status == "new" else record
        self.uploads.setdefault((record.model, record.upload_id), UploadRecord(status=status, record=shown))

    def _update(self, model: str, dataset_id: str, **fields: Any) -> None:
        with self._lock:
            existing = self.datasets.get((model, dataset_id))
            if existing is None:
                raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model)
            self.datasets[(model, dataset_id)] = replace(existing, **fields, updated_at=now_iso())

    def set_execution(self, model: str, dataset_id: str, execution_arn: str) -> None:
        self._update(model, dataset_id, execution_arn=execution_arn)

    def mark_accepted(self, model: str, dataset_id: str, *, rows: int, columns: int, report_id: str) -> None:
        self._update(
            model, dataset_id, status="accepted", rows=rows, columns=columns, report_id=report_id, reasons=()
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
        fields: dict[str, Any] = {"status": "rejected", "reasons": tuple(reasons)}
        for name, value in (("report_id", report_id), ("rows", rows), ("columns", columns)):
            if value is not None:
                fields[name] = value
        self._update(model, dataset_id, **fields)


@dataclass(frozen=True)
class _Object:
    data: bytes
    version_id: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


class FakeUploadSource:
    """A versioned data bucket in memory (a :class:`lockgate.ports.UploadSource`).

    ``put`` returns the :class:`UploadRef` the notification would carry. Copies land in the
    artifact store registered for the destination bucket, through its own content addressing, so a
    copy under the wrong key fails loudly.
    """

    def __init__(self, bucket: str = "data", *, sinks: Mapping[str, ArtifactStore] | None = None) -> None:
        self.bucket = bucket
        self.sinks: dict[str, ArtifactStore] = dict(sinks or {})
        self.objects: dict[tuple[str, str], list[_Object]] = {}
        self.copies: list[tuple[UploadRef, str, str]] = []
        self._versions = itertools.count(1)

    def put(self, key: str, data: bytes, *, metadata: Mapping[str, str] | None = None) -> UploadRef:
        obj = _Object(data=data, version_id=f"v{next(self._versions)}", metadata=dict(metadata or {}))
        self.objects.setdefault((self.bucket, key), []).append(obj)
        return UploadRef(
            bucket=self.bucket, key=key, etag=obj.etag, version_id=obj.version_id, size=len(data)
        )

    def delete(self, key: str) -> None:
        self.objects.pop((self.bucket, key), None)

    def _find(self, upload: UploadRef) -> _Object | None:
        versions = self.objects.get((upload.bucket, upload.key), [])
        if upload.version_id:
            return next((o for o in versions if o.version_id == upload.version_id), None)
        return versions[-1] if versions else None

    def head(self, upload: UploadRef) -> UploadHead | None:
        obj = self._find(upload)
        if obj is None:
            return None
        return UploadHead(size=len(obj.data), etag=obj.etag, metadata=dict(obj.metadata))

    def _bytes(self, upload: UploadRef) -> bytes:
        obj = self._find(upload)
        if obj is None:
            raise KeyError(f"no object s3://{upload.bucket}/{upload.key} ({upload.version_id or 'latest'})")
        return obj.data

    def digest(self, upload: UploadRef) -> UploadDigest:
        data = self._bytes(upload)
        return UploadDigest(sha256=hashlib.sha256(data).hexdigest(), head=data[:16], size=len(data))

    def read_bytes(self, bucket: str, key: str) -> bytes | None:
        versions = self.objects.get((bucket, key))
        return versions[-1].data if versions else None

    def copy(self, upload: UploadRef, *, bucket: str, key: str, metadata: Mapping[str, str]) -> None:
        data = self._bytes(upload)
        kind = key.split("/", 1)[0]
        stored = self.sinks[bucket].put_bytes(kind, data)
        assert stored.key == key, f"copied {upload.key} to {key}, but its bytes belong at {stored.key}"
        assert metadata.get("sha256") == stored.sha256
        self.copies.append((upload, bucket, key))


class RecordingLauncher:
    """A :class:`lockgate.ports.TrainingLauncher` that, like Step Functions, runs each name once."""

    def __init__(self, state_machine_arn: str = STATE_MACHINE_ARN) -> None:
        self.state_machine_arn = state_machine_arn
        self._lock = threading.Lock()
        self.executions: dict[str, TrainingRequest] = {}
        self.attempts = 0

    def start(self, name: str, request: TrainingRequest) -> str:
        with self._lock:
            self.attempts += 1
            self.executions.setdefault(name, request)
        return execution_arn(self.state_machine_arn, name)
