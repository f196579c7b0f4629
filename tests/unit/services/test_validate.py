"""The validate use case on in-memory ports: the verdict recorded on the dataset, its report stored,
and the outcome announced, for a real dataset, a leaky one, an unreadable one and a drifted one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fakes.datain import InMemoryDatasetStore
from fakes.lifecycle import InMemoryArtifacts, RecordingPublisher
from lockgate.domain.dataset import DatasetRecord
from lockgate.errors import DatasetRejectedError
from lockgate.services.validate import validate_upload
from support.datasets import breast_cancer

SPEC = {"model": "cancer", "task": "classification", "target": "diagnosis"}


@dataclass
class World:
    store: InMemoryDatasetStore
    artifacts: InMemoryArtifacts
    publisher: RecordingPublisher

    def stage(self, data: bytes, spec: dict[str, Any] = SPEC) -> tuple[str, str]:
        """What ingest leaves behind: the bytes and spec content-addressed and a received record."""
        dataset_id = self.artifacts.put_bytes("datasets", data).sha256
        spec_id = self.artifacts.put_json("specs", spec).sha256
        self.store.record_upload(
            DatasetRecord(
                model="cancer",
                dataset_id=dataset_id,
                source_bucket="data",
                source_key=f"datasets/cancer/{dataset_id[:8]}.csv",
                status="received",
                size=len(data),
                format="csv",
                upload_id=f"u-{dataset_id}",
            )
        )
        return dataset_id, spec_id

    def validate(self, dataset_id: str, spec_id: str) -> Any:
        return validate_upload(
            model="cancer",
            dataset_id=dataset_id,
            fmt="csv",
            spec_id=spec_id,
            store=self.store,
            artifacts=self.artifacts,
            publisher=self.publisher,
            max_rows=100_000,
            max_decompressed_bytes=10_000_000,
        )


@pytest.fixture
def world() -> World:
    return World(InMemoryDatasetStore(), InMemoryArtifacts(), RecordingPublisher())


def csv(frame: pd.DataFrame) -> bytes:
    return str(frame.to_csv(index=False)).encode()


def test_a_clean_real_dataset_is_accepted_recorded_and_announced(world: World) -> None:
    # GIVEN the breast-cancer data as uploaded
    dataset_id, spec_id = world.stage(csv(breast_cancer()))
    # WHEN it is validated
    result = world.validate(dataset_id, spec_id)
    # THEN the record is accepted with its shape and report, and Dataset Accepted is announced
    assert result.to_dict() == {
        "report_id": result.report_id,
        "rows": 569,
        "columns": 31,
        "status": "accepted",
    }
    record = world.store.get("cancer", dataset_id)
    assert (record.status, record.rows, record.columns, record.report_id) == (
        "accepted",
        569,
        31,
        result.report_id,
    )
    report = world.artifacts.get_json("reports/validation", result.report_id)
    assert report["status"] == "accepted" and report["previous_dataset_id"] is None
    assert world.publisher.types() == ["Dataset Accepted"]


def test_a_leaky_column_rejects_the_dataset_with_the_reason(world: World) -> None:
    frame = breast_cancer()
    frame["leak"] = np.where(frame["diagnosis"] == "malignant", 1.0, 0.0)
    dataset_id, spec_id = world.stage(csv(frame))
    with pytest.raises(DatasetRejectedError, match="target leakage: leak"):
        world.validate(dataset_id, spec_id)
    record = world.store.get("cancer", dataset_id)
    assert record.status == "rejected" and "leak" in record.reasons[0] and record.rows == 569
    ((kind, detail),) = world.publisher.events
    assert kind == "Dataset Rejected" and detail["stage"] == "validation"
    assert detail["report_id"] == record.report_id


def test_an_unreadable_file_is_rejected_with_a_report_that_says_why(world: World) -> None:
    dataset_id, spec_id = world.stage("diagnosis,x\nbenign,1\n".encode("utf-16"))
    with pytest.raises(DatasetRejectedError, match="UTF-16"):
        world.validate(dataset_id, spec_id)
    record = world.store.get("cancer", dataset_id)
    assert record.status == "rejected" and record.report_id
    report = world.artifacts.get_json("reports/validation", record.report_id)
    assert [c["name"] for c in report["checks"]] == ["file.readable"] and report["rows"] == 0
    assert world.publisher.types() == ["Dataset Rejected"]


def test_the_next_upload_is_compared_with_the_last_accepted_one(world: World) -> None:
    # GIVEN an accepted dataset
    frame = breast_cancer()
    first_id, spec_id = world.stage(csv(frame))
    world.validate(first_id, spec_id)
    # WHEN a second one arrives with a feature far outside its former range
    rng = np.random.default_rng(0)
    shifted = frame.assign(mean_radius=frame["mean_radius"] * 10 + rng.normal(0, 1, len(frame)))
    second_id, _ = world.stage(csv(shifted))
    with pytest.raises(DatasetRejectedError, match="far outside the last accepted range"):
        world.validate(second_id, spec_id)
    # THEN its report names the dataset it was compared with
    report = world.artifacts.get_json(
        "reports/validation", str(world.store.get("cancer", second_id).report_id)
    )
    assert report["previous_dataset_id"] == first_id
    assert world.store.last_accepted("cancer") == world.store.get("cancer", first_id)
