"""Ground-truth labels: the upload's name, the file formats, and the rows the labels log holds.

Labels arrive as a file at ``s3://<data bucket>/labels/<model>/<name>`` (CSV or JSONL with
``prediction_id,label``, optional ``timestamp``) or through ``POST /models/<model>/feedback``; both
end up as JSON Lines in the artifact bucket's ``labels/<model>/date=…/`` log, which the drift
check joins to captured predictions. Standard library only: the labels function ships the core
layer alone (no numpy).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from lockgate.domain.artifacts import sha256_hex
from lockgate.domain.s3_events import S3ObjectEvent
from lockgate.domain.time import iso
from lockgate.errors import InvalidRequestError

MAX_LABEL_FILE_BYTES = 64 * 1024 * 1024

LabelFileStatus = Literal["accepted", "rejected"]


def json_line(line: str) -> dict[str, Any] | None:
    """One JSON Lines record, or None for a blank, broken or non-object line."""
    line = line.strip()
    if not line:
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class LabelUpload:
    """One label file that landed in a bucket: where, which version (etag) and when.

    ``model`` and ``name`` come from the key ``labels/<model>/<name>``; any other key is refused
    (:meth:`parts`), so a misrouted notification cannot write into another model's log.
    """

    bucket: str
    key: str
    received_at: datetime
    etag: str = ""

    @classmethod
    def from_s3(cls, obj: S3ObjectEvent) -> LabelUpload:
        """One object of the labels bucket notification; the arrival time is S3's ``eventTime``."""
        if obj.received_at is None:
            raise InvalidRequestError(f"the notification for {obj.key!r} has no eventTime")
        return cls(bucket=obj.bucket, key=obj.key, received_at=obj.received_at, etag=obj.etag)

    def parts(self) -> tuple[str, str]:
        """``(model, file name)``; InvalidRequestError for a key outside ``labels/<model>/``."""
        parts = self.key.split("/")
        if len(parts) < 3 or parts[0] != "labels" or not parts[1]:
            raise InvalidRequestError(f"label files go to labels/<model>/<name>, not {self.key!r}")
        return parts[1], parts[-1]

    @property
    def source_id(self) -> str:
        """Same object version, same id: a redelivered notification rewrites the same log file."""
        return sha256_hex(f"{self.bucket}/{self.key}/{self.etag}".encode())


@dataclass(frozen=True)
class LabelIngestResult:
    """What became of one label file (the ``LABELS#`` record and the function's output)."""

    model: str
    source_key: str
    status: LabelFileStatus
    rows: int
    skipped_rows: int
    key: str | None
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_labels(data: bytes, name: str) -> tuple[list[dict[str, Any]], int, list[str]]:
    """CSV or JSONL with ``prediction_id,label`` (optional ``timestamp``): (rows, skipped, reasons)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], 0, ["the file is not UTF-8 text"]
    is_jsonl = name.endswith((".jsonl", ".json", ".ndjson")) or text.lstrip().startswith("{")
    raw: list[Any]
    if is_jsonl:
        raw = [json_line(line) for line in text.splitlines() if line.strip()]
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"prediction_id", "label"} <= set(reader.fieldnames):
            return [], 0, [f"CSV header must include prediction_id and label (found {reader.fieldnames})"]
        raw = list(reader)
    rows, skipped = [], 0
    for item in raw:
        if not item or item.get("prediction_id") in (None, "") or item.get("label") in (None, ""):
            skipped += 1
            continue
        rows.append(
            {
                "prediction_id": str(item["prediction_id"]),
                "label": item["label"],
                "timestamp": item.get("timestamp"),
            }
        )
    reasons = [f"{skipped} rows without prediction_id or label were skipped"] if skipped else []
    if not rows:
        reasons.append("no usable rows: each needs prediction_id and label")
    return rows, skipped, reasons


def label_file_key(model: str, *, received_at: datetime, source_id: str) -> str:
    """``labels/<model>/date=<day>/<iso>-<source id>.jsonl``: one key per source, so a rewrite is idempotent."""
    return f"labels/{model}/date={received_at.date().isoformat()}/{iso(received_at)}-{source_id[:32]}.jsonl"


def label_log_records(rows: Sequence[Mapping[str, Any]], *, received_at: datetime) -> list[dict[str, Any]]:
    """The labels log's lines: a row without its own timestamp is stamped with the arrival time."""
    stamp = iso(received_at)
    return [
        {"prediction_id": r["prediction_id"], "label": r["label"], "timestamp": r.get("timestamp") or stamp}
        for r in rows
    ]
