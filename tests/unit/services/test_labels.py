"""Label files as a user drops them, on in-memory fakes only (no moto, no AWS).

Good rows reach the labels log the drift check joins on; a bad file is recorded as rejected with
a reason a person can act on, never raised (that would retry it forever); a redelivered
notification rewrites the same log file instead of doubling the labels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from fakes.monitoring import InMemoryLabelFileStore, InMemoryLogs, InMemoryUploads
from lockgate.domain.labels import MAX_LABEL_FILE_BYTES, LabelUpload
from lockgate.domain.s3_events import parse_s3_records
from lockgate.errors import InvalidRequestError
from lockgate.services.labels import ingest_label_file

BUCKET = "data-bucket"
AT = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)


class Labels:
    def __init__(self) -> None:
        self.uploads = InMemoryUploads()
        self.log = InMemoryLogs()
        self.files = InMemoryLabelFileStore()

    def drop(self, key: str, data: bytes, *, etag: str = "e1") -> LabelUpload:
        self.uploads.put(BUCKET, key, data)
        return LabelUpload(bucket=BUCKET, key=key, received_at=AT, etag=etag)

    def ingest(self, upload: LabelUpload) -> dict[str, object]:
        return ingest_label_file(upload, uploads=self.uploads, log=self.log, files=self.files).to_dict()


def test_a_good_csv_lands_in_the_labels_log_with_skipped_rows_counted() -> None:
    # GIVEN a CSV with two usable rows (one with its own timestamp) and one without an id
    lab = Labels()
    upload = lab.drop(
        "labels/churn/feedback.csv",
        b"prediction_id,label,timestamp\np1,yes,\np2,no,2026-03-01T00:00:00Z\n,yes,\n",
    )
    # WHEN the labels function sees it
    result = lab.ingest(upload)
    # THEN the rows are in the day's labels log, stamped with the arrival time when they had none
    assert result["status"] == "accepted" and result["rows"] == 2 and result["skipped_rows"] == 1
    assert result["reasons"] == ["1 rows without prediction_id or label were skipped"]
    key = str(result["key"])
    assert key.startswith("labels/churn/date=2026-03-02/2026-03-02T12:30:00Z-")
    assert lab.log.lines(key) == [
        {"prediction_id": "p1", "label": "yes", "timestamp": "2026-03-02T12:30:00Z"},
        {"prediction_id": "p2", "label": "no", "timestamp": "2026-03-01T00:00:00Z"},
    ]
    # AND the file's outcome is on record
    (record,) = lab.files.records.values()
    assert (
        record["status"] == "accepted"
        and record["key"] == key
        and record["created_at"] == "2026-03-02T12:30:00Z"
    )


def test_jsonl_labels_are_read_line_by_line_and_broken_lines_skipped() -> None:
    lab = Labels()
    upload = lab.drop("labels/churn/batch.jsonl", b'{"prediction_id": 7, "label": 1.5}\n[1]\nnot json\n')
    result = lab.ingest(upload)
    assert result["rows"] == 1 and result["skipped_rows"] == 2
    assert lab.log.lines(str(result["key"]))[0]["prediction_id"] == "7"


def test_a_file_without_the_required_columns_is_rejected_with_the_reason() -> None:
    # GIVEN a CSV whose header says id,truth
    lab = Labels()
    upload = lab.drop("labels/churn/bad.csv", b"id,truth\np1,yes\n")
    # WHEN it is ingested
    result = lab.ingest(upload)
    # THEN nothing reaches the log, and the record says what the header must contain
    assert result["status"] == "rejected" and result["key"] is None and result["rows"] == 0
    assert "prediction_id and label" in str(result["reasons"])
    assert lab.log.objects == {}
    assert [r["status"] for r in lab.files.records.values()] == ["rejected"]


def test_a_file_that_is_not_text_is_rejected() -> None:
    lab = Labels()
    result = lab.ingest(lab.drop("labels/churn/model.bin", b"\xff\xfe\x00binary"))
    assert result["status"] == "rejected" and result["reasons"] == ["the file is not UTF-8 text"]


def test_an_oversized_file_is_rejected_without_being_read() -> None:
    # GIVEN a file larger than the limit
    class Huge(InMemoryUploads):
        def size(self, bucket: str, key: str) -> int:
            return MAX_LABEL_FILE_BYTES + 1

        def read(self, bucket: str, key: str) -> bytes:
            raise AssertionError("an oversized file must not be read")

    lab = Labels()
    lab.uploads = Huge()
    # WHEN it is ingested
    result = lab.ingest(lab.drop("labels/churn/huge.csv", b"prediction_id,label\n"))
    # THEN it is rejected, naming the size and the limit
    assert result["status"] == "rejected"
    assert result["reasons"] == [
        f"file is {MAX_LABEL_FILE_BYTES + 1} bytes; the limit is {MAX_LABEL_FILE_BYTES}"
    ]


def test_a_redelivered_notification_rewrites_the_same_log_file() -> None:
    # GIVEN a label file ingested once
    lab = Labels()
    upload = lab.drop("labels/churn/feedback.csv", b"prediction_id,label\np1,yes\n")
    first = lab.ingest(upload)
    # WHEN S3 delivers the same notification again, and then a new version of the object arrives
    again = lab.ingest(upload)
    newer = lab.ingest(lab.drop("labels/churn/feedback.csv", b"prediction_id,label\np1,no\n", etag="e2"))
    # THEN the redelivery changes nothing, and the new version is a second file
    assert again == first and len(lab.log.objects) == 2 and len(lab.files.records) == 2
    assert newer["key"] != first["key"]


def test_a_key_outside_labels_model_is_refused_and_nothing_is_recorded() -> None:
    lab = Labels()
    with pytest.raises(InvalidRequestError, match="labels/<model>/<name>"):
        lab.ingest(lab.drop("datasets/churn/train.csv", b"prediction_id,label\np1,yes\n"))
    assert lab.log.objects == {} and lab.files.records == {}


def test_an_s3_notification_becomes_an_upload_with_its_decoded_key_and_arrival_time() -> None:
    event = {
        "Records": [
            {
                "eventTime": "2026-03-02T12:30:00.000Z",
                "s3": {
                    "bucket": {"name": BUCKET},
                    "object": {"key": "labels/churn/my+file.csv", "eTag": "abc"},
                },
            }
        ]
    }
    (obj,) = parse_s3_records(event)
    assert LabelUpload.from_s3(obj) == LabelUpload(BUCKET, "labels/churn/my file.csv", AT, "abc")


def test_the_labels_path_loads_no_numpy() -> None:
    # The labels function ships the core layer alone: importing its path must not need numpy or pandas.
    code = (
        "import sys, json, lockgate.services.labels, lockgate.adapters.s3_logs, "
        "lockgate.adapters.dynamodb.labels, lockgate.domain.s3_events;"
        "print(json.dumps([m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
