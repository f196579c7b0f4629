"""In-memory fakes of the monitoring and labels ports: check records, alerts, logs, uploads, drop.

They keep state and enforce what the AWS adapters enforce: a check record is written once per
model and window end (a second ``record`` returns False, like the conditional put); a retraining
claim succeeds at most once per cool-down; logs are read by day partition and window exactly as
``S3Logs`` reads them (same key layout, same ``start < timestamp <= end`` filter, same skipping of
broken lines); a label file's key is a function of its source, so a redelivery rewrites it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lockgate.domain.check import CheckResult, LogKind, LogRead, records_in_window
from lockgate.domain.labels import LabelIngestResult, json_line, label_file_key
from lockgate.domain.time import dates, iso
from lockgate.errors import ArtifactNotFoundError


class InMemoryCheckStore:
    """A :class:`lockgate.ports.CheckStore`: ``DRIFT#`` and ``RETRAIN#LATEST`` records in dicts.

    ``record`` and ``claim_retraining`` hold a lock, standing in for DynamoDB's conditional writes,
    so racing callers in a test get the same one-winner guarantee.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.retrain_started: dict[str, str] = {}

    @staticmethod
    def _stored(item: Mapping[str, Any]) -> CheckResult:
        # Through JSON, as the adapter does: a stored check never shares state with the caller's.
        return CheckResult(
            model=item["model"],
            version=item["version"],
            window_end=item["window_end"],
            report_id=item["report_id"],
            html_report_id=item["html_report_id"],
            drifted=item["drifted"],
            performance_degraded=item["performance_degraded"],
            drifted_features=json.loads(item["drifted_features"]),
            duplicate=True,
            retraining=json.loads(item["retraining"]) if "retraining" in item else None,
        )

    def get(self, model: str, window_end: datetime) -> CheckResult | None:
        item = self.items.get((model, iso(window_end)))
        return self._stored(item) if item else None

    def latest(self, model: str) -> CheckResult | None:
        ends = sorted(end for m, end in self.items if m == model)
        return self._stored(self.items[(model, ends[-1])]) if ends else None

    def record(self, result: CheckResult, *, baseline_id: str, created_at: datetime) -> bool:
        with self._lock:
            if (result.model, result.window_end) in self.items:
                return False
            self.items[(result.model, result.window_end)] = {
                "model": result.model,
                "version": result.version,
                "baseline_id": baseline_id,
                "window_end": result.window_end,
                "report_id": result.report_id,
                "html_report_id": result.html_report_id,
                "drifted": result.drifted,
                "performance_degraded": result.performance_degraded,
                "drifted_features": json.dumps(result.drifted_features),
                "created_at": iso(created_at),
            }
            return True

    def set_retraining(self, model: str, window_end: datetime, retraining: Mapping[str, Any]) -> None:
        # DynamoDB's UpdateItem creates the item when it is missing; so does this.
        item = self.items.setdefault((model, iso(window_end)), {})
        item["retraining"] = json.dumps(retraining, default=str)

    def claim_retraining(self, model: str, *, now: datetime, cooldown_minutes: int) -> bool:
        cutoff = iso(now - timedelta(minutes=cooldown_minutes))
        with self._lock:
            started = self.retrain_started.get(model)
            if started is not None and not started <= cutoff:
                return False
            self.retrain_started[model] = iso(now)
            return True


@dataclass(frozen=True)
class SentAlert:
    detail_type: str
    detail: dict[str, Any]
    model: str
    version: int


class RecordingAlerts:
    """A :class:`lockgate.ports.Alerts` that keeps every alert it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[SentAlert] = []

    def alert(self, detail_type: str, detail: Mapping[str, Any], *, model: str, version: int) -> None:
        self.sent.append(
            SentAlert(detail_type, json.loads(json.dumps(dict(detail), default=str)), model, version)
        )

    def types(self) -> list[str]:
        return [a.detail_type for a in self.sent]


class InMemoryLogs:
    """The captures and labels logs (:class:`lockgate.ports.LogReader` and :class:`lockgate.ports.LabelLog`).

    Objects are JSON Lines text under the S3 layout ``<kind>/<model>/date=<day>/<name>``; tests add
    traffic with :meth:`put_records` (or raw text with :meth:`put_text`).
    """

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put_text(self, key: str, text: str) -> None:
        self.objects[key] = text

    def put_records(
        self, kind: LogKind, model: str, day: str, name: str, records: Sequence[Mapping[str, Any]]
    ) -> str:
        key = f"{kind}/{model}/date={day}/{name}"
        self.put_text(key, "\n".join(json.dumps(dict(r), default=str) for r in records) + "\n")
        return key

    def read(self, kind: LogKind, model: str, start: datetime, end: datetime) -> LogRead:
        records: list[dict[str, Any]] = []
        keys: list[str] = []
        for day in dates(start, end):
            prefix = f"{kind}/{model}/date={day}/"
            for key in sorted(k for k in self.objects if k.startswith(prefix)):  # S3 lists in key order
                found = records_in_window((json_line(x) for x in self.objects[key].splitlines()), start, end)
                if found:
                    records += found
                    keys.append(key)
        return LogRead(records, keys)

    def append_labels(
        self, model: str, records: Sequence[Mapping[str, Any]], *, received_at: datetime, source_id: str
    ) -> str:
        key = label_file_key(model, received_at=received_at, source_id=source_id)
        self.put_text(key, "\n".join(json.dumps(dict(r)) for r in records) + "\n")
        return key

    def lines(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.objects[key].splitlines() if x]


class InMemoryUploads:
    """Files dropped in buckets (:class:`lockgate.ports.UploadReader`)."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.files[(bucket, key)] = data

    def _get(self, bucket: str, key: str) -> bytes:
        try:
            return self.files[(bucket, key)]
        except KeyError:
            raise ArtifactNotFoundError(f"s3://{bucket}/{key} does not exist", key=key) from None

    def size(self, bucket: str, key: str) -> int:
        return len(self._get(bucket, key))

    def read(self, bucket: str, key: str) -> bytes:
        return self._get(bucket, key)


@dataclass(frozen=True)
class DroppedFile:
    body: bytes
    content_type: str
    metadata: dict[str, str]


class InMemoryDatasetDrop:
    """The data bucket's drop (:class:`lockgate.ports.DatasetDrop`): what the ingest trigger would see."""

    def __init__(self, bucket: str = "data-bucket") -> None:
        self.bucket = bucket
        self.files: dict[str, DroppedFile] = {}

    def put(self, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None:
        self.files[key] = DroppedFile(body, content_type, dict(metadata))


class InMemoryLabelFileStore:
    """``LABELS#`` records (:class:`lockgate.ports.LabelFileStore`), keyed like the table's."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def record(self, result: LabelIngestResult, *, source_id: str, received_at: datetime) -> None:
        self.records[(result.model, source_id)] = {**result.to_dict(), "created_at": iso(received_at)}
