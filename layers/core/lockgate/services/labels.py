"""Ground-truth labels: parse an uploaded file and append it to the labels log.

Labels arrive as a file at ``s3://<data bucket>/labels/<model>/<name>`` (CSV or JSONL with
``prediction_id,label``) or through ``POST /models/<model>/feedback``; both end up as lines in
``labels/<model>/date=…/`` in the artifact bucket, which the drift check joins to captured
predictions. Standard library only: the labels function ships the core layer alone.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from lockgate.adapters import aws
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain.artifacts import sha256_hex
from lockgate.errors import InvalidRequestError

MAX_LABEL_FILE_BYTES = 64 * 1024 * 1024


class LabelDeps(Protocol):
    """What label ingestion needs (``lockgate.services.monitor.MonitoringDeps`` provides it too)."""

    artifacts: S3ArtifactStore
    table_name: str

    @property
    def s3(self) -> Any: ...

    @property
    def ddb(self) -> Any: ...


@dataclass(frozen=True)
class LabelStore:
    artifacts: S3ArtifactStore
    table_name: str

    @property
    def s3(self) -> Any:
        return self.artifacts.s3

    @property
    def ddb(self) -> Any:
        return aws.client("dynamodb")


@functools.cache
def default_store() -> LabelStore:
    cfg = settings()
    cfg.require("artifact_bucket", "registry_table")
    return LabelStore(artifacts=S3ArtifactStore(cfg.artifact_bucket), table_name=cfg.registry_table)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
class LabelIngestResult:
    model: str
    source_key: str
    status: str  # accepted | rejected
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


def write_labels(
    deps: LabelDeps, model: str, rows: list[dict[str, Any]], *, received_at: datetime, source_id: str
) -> str:
    """Append normalised labels to ``labels/<model>/date=…/<iso>-<source id>.jsonl`` (idempotent key)."""
    stamp = _iso(received_at)
    lines = [
        json.dumps(
            {
                "prediction_id": r["prediction_id"],
                "label": r["label"],
                "timestamp": r.get("timestamp") or stamp,
            }
        )
        for r in rows
    ]
    key = f"labels/{model}/date={received_at.date().isoformat()}/{stamp}-{source_id[:32]}.jsonl"
    deps.s3.put_object(
        Bucket=deps.artifacts.bucket,
        Key=key,
        Body=("\n".join(lines) + "\n").encode(),
        ContentType="application/x-ndjson",
    )
    return key


def ingest_label_file(
    deps: LabelDeps, *, bucket: str, key: str, received_at: datetime, etag: str = ""
) -> LabelIngestResult:
    """Normalise an uploaded ``labels/<model>/<name>`` file; a bad file is recorded as rejected."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "labels" or not parts[1]:
        raise InvalidRequestError(f"label files go to labels/<model>/<name>, not {key!r}")
    model, name = parts[1], parts[-1]
    source_id = sha256_hex(f"{bucket}/{key}/{etag}".encode())
    head = deps.s3.head_object(Bucket=bucket, Key=key)
    rows: list[dict[str, Any]]
    if head["ContentLength"] > MAX_LABEL_FILE_BYTES:
        rows, skipped, reasons = (
            [],
            0,
            [f"file is {head['ContentLength']} bytes; the limit is {MAX_LABEL_FILE_BYTES}"],
        )
    else:
        data = deps.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        rows, skipped, reasons = parse_labels(data, name)
    out_key = write_labels(deps, model, rows, received_at=received_at, source_id=source_id) if rows else None
    result = LabelIngestResult(
        model=model,
        source_key=key,
        status="accepted" if rows else "rejected",
        rows=len(rows),
        skipped_rows=skipped,
        key=out_key,
        reasons=reasons,
    )
    deps.ddb.put_item(
        TableName=deps.table_name,
        Item={
            "pk": {"S": f"MODEL#{model}"},
            "sk": {"S": f"LABELS#{source_id}"},
            "source_key": {"S": key},
            "status": {"S": result.status},
            "rows": {"N": str(result.rows)},
            "skipped_rows": {"N": str(skipped)},
            "reasons": {"S": json.dumps(reasons)},
            "created_at": {"S": _iso(received_at)},
            **({"key": {"S": out_key}} if out_key else {}),
        },
    )
    return result
