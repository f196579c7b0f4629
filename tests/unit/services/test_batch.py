"""Batch scoring on in-memory files and a real Predictor over in-memory registry and artifacts."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry, RecordingPublisher
from fakes.serving import InMemoryBatchFiles, RecordingBatchLauncher
from lockgate.domain.batch import BatchJob, Chunk, Part, job_for
from lockgate.domain.model_version import NewModelVersion
from lockgate.errors import InvalidRequestError
from lockgate.services.batch import BatchStarted, merge, plan, score_chunk, start_batch
from lockgate.serving.predictor import Predictor, clear_session_cache
from support.serving_models import classifier

BUCKET, KEY = "data", "batch/income/people.csv"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def served() -> tuple[Predictor, int]:
    clear_session_cache()
    trained = classifier()
    registry, artifacts = InMemoryModelRegistry(), InMemoryArtifacts()
    sha = artifacts.put_bytes("models", trained.onnx, ext="onnx").sha256
    version = registry.create_model_version(
        NewModelVersion(
            model="income",
            status="Approved",
            run_id="r",
            dataset_id="d",
            model_artifact=sha,
            baseline_id="b",
            holdout_id="h",
            spec_id="s",
            report_id="p",
            signature=trained.signature,
            metrics={},
            params={},
            seed=0,
            environment={},
            code_version="t",
            intent="t",
        )
    ).version
    registry.set_alias("income", "champion", version, actor="t")
    return Predictor(registry=registry, artifacts=artifacts), version


def people_csv(*, bom: bool = False) -> tuple[bytes, list[dict[str, Any]]]:
    """The classifier's rows with one non-number, one blank and a quoted multi-line extra column."""
    rows = [dict(r) for r in classifier().rows]
    rows[3] = {**rows[3], "age": "not-a-number"}
    rows[5] = {**rows[5], "hours": ""}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["age", "hours", "workclass", "extra"])
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "extra": 'a "quoted,\nfield"'})
    data = buffer.getvalue().encode()
    return (b"\xef\xbb\xbf" + data if bom else data), rows


def lines(files: InMemoryBatchFiles, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files.outputs[key].decode())))


def test_a_job_is_named_after_its_file_and_refuses_other_formats() -> None:
    job = job_for("income", 3, BUCKET, KEY, now=NOW)
    assert job == BatchJob(
        "income", 3, BUCKET, KEY, "csv", "predictions/income/people.csv.20260102T030405Z.csv"
    )
    assert job.part_key(7) == "predictions/income/people.csv.20260102T030405Z.parts/000007.csv"
    assert BatchJob.from_dict(job.to_dict()) == job
    assert job_for("income", 3, BUCKET, "batch/income/x.PQ", now=NOW).format == "parquet"
    with pytest.raises(InvalidRequestError, match="csv or .parquet"):
        job_for("income", 3, BUCKET, "batch/income/people.xlsx")


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "byte-order-mark"])
def test_chunked_scoring_gives_every_row_once_in_order_as_one_chunk_does(
    served: tuple[Predictor, int], bom: bool
) -> None:
    predictor, version = served
    data, rows = people_csv(bom=bom)
    files = InMemoryBatchFiles(sources={(BUCKET, KEY): data})
    job = job_for("income", version, BUCKET, KEY, now=NOW)
    # GIVEN tiny chunks (records with quoted newlines must not be split between them)
    chunks = plan(job, files=files, chunk_bytes=100)
    assert len(chunks) > 3
    assert chunks[0].start > 0 and chunks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    # WHEN each chunk is scored and the parts merged
    parts = [score_chunk(job, chunk, predictor=predictor, files=files) for chunk in chunks]
    summary = merge(job, list(reversed(parts)), files=files)
    # THEN the output has one line per input row, in input order, under one header
    out = lines(files, job.output_key)
    assert (summary.rows, summary.errors, len(out)) == (len(rows), 1, len(rows))
    assert files.content_types[job.output_key] == "text/csv"
    assert files.outputs[job.output_key].startswith(b"row,prediction_id,prediction,probabilities,error\r\n")
    # AND the row that is not a number says why, the blank one is scored as missing
    assert "age" in out[3]["error"] and out[3]["prediction"] == ""
    assert out[5]["error"] == "" and out[5]["prediction"] in ("<=50K", ">50K")
    assert set(json.loads(out[0]["probabilities"])) == {"<=50K", ">50K"}
    # AND one chunk gives the same predictions
    single = job_for("income", version, BUCKET, KEY, now=datetime(2026, 1, 3, tzinfo=UTC))
    whole = plan(single, files=files)
    assert len(whole) == 1
    merge(single, [score_chunk(single, whole[0], predictor=predictor, files=files)], files=files)
    assert [x["prediction"] for x in lines(files, single.output_key)] == [x["prediction"] for x in out]


def test_a_part_and_a_summary_travel_as_the_state_machine_sees_them(served: tuple[Predictor, int]) -> None:
    predictor, version = served
    data, _ = people_csv()
    files = InMemoryBatchFiles(sources={(BUCKET, KEY): data})
    job = job_for("income", version, BUCKET, KEY, now=NOW)
    (chunk,) = plan(job, files=files)
    part = score_chunk(job, Chunk.from_dict(chunk.to_dict()), predictor=predictor, files=files)
    assert Part.from_dict(part.to_dict()) == part
    assert part.to_dict() == {"index": 0, "key": job.part_key(0), "rows": 20, "errors": 1}
    assert merge(job, [part], files=files).to_dict() == {
        "model": "income",
        "version": version,
        "source": f"s3://{BUCKET}/{KEY}",
        "output_key": job.output_key,
        "rows": 20,
        "errors": 1,
    }


def test_parquet_is_planned_by_row_group(served: tuple[Predictor, int]) -> None:
    import pyarrow as pa  # a declared dependency: a missing pyarrow must fail, not skip
    import pyarrow.parquet as pq

    predictor, version = served
    rows = classifier().rows
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows]), buffer, row_group_size=8)
    key = "batch/income/people.parquet"
    files = InMemoryBatchFiles(sources={(BUCKET, key): buffer.getvalue()})
    job = job_for("income", version, BUCKET, key, now=NOW)
    chunks = plan(job, files=files)
    assert [(c.start, c.end) for c in chunks] == [(0, 1), (1, 2), (2, 3)]
    parts = [score_chunk(job, c, predictor=predictor, files=files) for c in chunks]
    assert merge(job, parts, files=files).rows == len(rows)


def test_a_small_file_is_scored_merged_and_announced_at_once(served: tuple[Predictor, int]) -> None:
    predictor, version = served
    # GIVEN a file of one chunk dropped under batch/income/
    files, launcher, publisher = InMemoryBatchFiles(), RecordingBatchLauncher(), RecordingPublisher()
    data, rows = people_csv()
    files.sources[(BUCKET, KEY)] = data
    # WHEN it is started
    summary = start_batch(
        BUCKET, KEY, predictor=predictor, files=files, launcher=launcher, publisher=publisher
    )
    # THEN no state machine runs: the output is written and Batch Scored names it, with the errors
    assert not isinstance(summary, BatchStarted) and launcher.started == []
    assert summary.version == version and summary.rows == len(rows) and summary.errors == 1
    assert len(lines(files, summary.output_key)) == len(rows)
    assert [(kind, detail["output_key"]) for kind, detail in publisher.events] == [
        ("Batch Scored", summary.output_key)
    ]


def test_a_big_file_goes_to_the_state_machine_pinned_to_todays_champion(
    served: tuple[Predictor, int],
) -> None:
    predictor, version = served
    # GIVEN a file bigger than one chunk
    files, launcher, publisher = InMemoryBatchFiles(), RecordingBatchLauncher(), RecordingPublisher()
    files.sources[(BUCKET, KEY)] = people_csv()[0]
    # WHEN it is started with small chunks
    started = start_batch(
        BUCKET, KEY, predictor=predictor, files=files, launcher=launcher, publisher=publisher, chunk_bytes=64
    )
    # THEN one execution gets every chunk of a job pinned to the champion's version; nothing is announced yet
    assert isinstance(started, BatchStarted) and started.chunks > 1
    [(job, chunks)] = launcher.started
    assert job.version == version and len(chunks) == started.chunks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert publisher.events == [] and files.outputs == {}
