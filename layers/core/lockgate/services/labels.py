"""Ground-truth label files: read an upload, append its rows to the labels log, record the outcome.

A label file dropped at ``s3://<data bucket>/labels/<model>/<name>`` is parsed
(:func:`lockgate.domain.labels.parse_labels`), its usable rows appended to the artifact bucket's
labels log, which the drift check joins to captured predictions, and a ``LABELS#`` record says
what became of it. A bad file is recorded as rejected with its reasons rather than raised, so the
notification is not retried forever. Standard library only: the labels function ships the core
layer alone (no numpy, no pandas, here or in anything imported).
"""

from __future__ import annotations

from typing import Any

from lockgate.domain.labels import (
    MAX_LABEL_FILE_BYTES,
    LabelIngestResult,
    LabelUpload,
    label_log_records,
    parse_labels,
)
from lockgate.ports import LabelFileStore, LabelLog, UploadReader


def ingest_label_file(
    upload: LabelUpload, *, uploads: UploadReader, log: LabelLog, files: LabelFileStore
) -> LabelIngestResult:
    """Normalise an uploaded ``labels/<model>/<name>`` file; a bad file is recorded as rejected."""
    model, name = upload.parts()
    source_id = upload.source_id
    size = uploads.size(upload.bucket, upload.key)
    rows: list[dict[str, Any]]
    if size > MAX_LABEL_FILE_BYTES:
        rows, skipped, reasons = [], 0, [f"file is {size} bytes; the limit is {MAX_LABEL_FILE_BYTES}"]
    else:
        rows, skipped, reasons = parse_labels(uploads.read(upload.bucket, upload.key), name)
    out_key = None
    if rows:
        out_key = log.append_labels(
            model,
            label_log_records(rows, received_at=upload.received_at),
            received_at=upload.received_at,
            source_id=source_id,
        )
    result = LabelIngestResult(
        model=model,
        source_key=upload.key,
        status="accepted" if rows else "rejected",
        rows=len(rows),
        skipped_rows=skipped,
        key=out_key,
        reasons=reasons,
    )
    files.record(result, source_id=source_id, received_at=upload.received_at)
    return result
