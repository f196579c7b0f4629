"""Every sample event parses, so none go stale; S3 ones decode into the upload ingest would process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lockgate.domain.dataset import UploadRef, parse_dataset_key

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*/*.json"))


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_event_file_is_a_json_object(path: Path) -> None:
    assert isinstance(json.loads(path.read_text()), dict)


def _ingest(name: str) -> dict:
    return json.loads((Path(__file__).resolve().parents[2] / "events" / "ingest" / name).read_text())


def test_s3_put_event_has_the_shape_aws_sends() -> None:
    record = _ingest("put.json")["Records"][0]
    assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3"
    assert {"key", "size", "eTag", "versionId", "sequencer"} <= set(record["s3"]["object"])


def test_url_encoded_key_decodes_spaces_plus_and_unicode() -> None:
    ref = UploadRef.from_s3_record(_ingest("encoded_key.json")["Records"][0])
    assert ref.key == "datasets/churn/January sales (final) été+1.csv"
    assert parse_dataset_key(ref.key) == ("churn", None)


def test_dotdot_key_is_refused_after_decoding() -> None:
    ref = UploadRef.from_s3_record(_ingest("dotdot_key.json")["Records"][0])
    model, problem = parse_dataset_key(ref.key)
    assert model is None and problem and "'..'" in problem


def test_validate_event_carries_only_pointers() -> None:
    event = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "validate" / "upload.json").read_text()
    )
    assert event["dataset"]["key"] == f"datasets/{event['dataset']['id']}"
    assert set(event) == {"model", "run_id", "trigger", "dataset", "spec"}
