"""Batch scoring of ``batch/<model>/<name>`` files, fanned out over chunks.

Three steps so a Step Functions Map can scale out (``infra/statemachines/batch.asl.json``):
:func:`plan` pins the version (the alias is resolved once, so every chunk uses the same model) and
splits the file into chunks — byte ranges that end on record boundaries for CSV, row groups for
Parquet; :func:`score_chunk` scores one chunk into ``predictions/<model>/<name>.<ts>.parts/<i>.csv``;
:func:`merge` concatenates the parts into ``predictions/<model>/<name>.<ts>.csv``.

CSV is read with the ``csv`` module (no pandas). Parquet needs pyarrow (imported only for Parquet),
which is why the batch function ships with the training layer rather than the light serving layer:
batch is not latency-bound, and the API function stays free of pyarrow. A row whose values do not fit
the signature is not fatal: it gets an ``error`` and no prediction. Files are read and written
through :class:`lockgate.ports.BatchFiles`; scoring is a :class:`Predictor`'s.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.domain import events
from lockgate.domain.batch import OUTPUT_COLUMNS, BatchJob, BatchSummary, Chunk, Part, job_for
from lockgate.errors import InvalidRequestError
from lockgate.ports import BatchFiles, BatchLauncher, Publisher
from lockgate.serving.predictor import Predictor
from lockgate.serving.signature import Signature

CHUNK_BYTES = 8 * 1024 * 1024
HEADER_BYTES = 65536
MISSING = {"", "na", "nan", "null", "none"}


def plan(job: BatchJob, *, files: BatchFiles, chunk_bytes: int = CHUNK_BYTES) -> list[Chunk]:
    """Chunks of the source file (bytes for CSV, row groups for Parquet)."""
    data = files.read_source(job.source_bucket, job.source_key)
    if job.format == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415 - heavy import boundary

        groups = pq.ParquetFile(io.BytesIO(data)).num_row_groups
        return [Chunk(i, i, i + 1) for i in range(groups)]
    text = data.decode("utf-8-sig")
    # newline="" keeps CSV's own notion of line ends (quoted newlines stay inside their record)
    reader_lines = iter(io.StringIO(text, newline=""))
    offsets: list[tuple[int, int]] = []
    position = 0

    def counting() -> Iterator[str]:
        nonlocal position
        for line in reader_lines:
            position += len(line.encode("utf-8"))
            yield line

    reader = csv.reader(counting())
    next(reader, None)  # header
    bom = len(data) - len(text.encode("utf-8"))
    start = position + bom
    for _ in reader:
        if position + bom - start >= chunk_bytes:
            offsets.append((start, position + bom))
            start = position + bom
    if start < len(data):
        offsets.append((start, len(data)))
    return [Chunk(i, s, e) for i, (s, e) in enumerate(offsets)]


def _rows(job: BatchJob, chunk: Chunk, files: BatchFiles) -> list[dict[str, Any]]:
    if job.format == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415 - heavy import boundary

        source = files.read_source(job.source_bucket, job.source_key)
        table = pq.ParquetFile(io.BytesIO(source)).read_row_group(chunk.start)
        return list(table.to_pylist())
    head = files.read_source(job.source_bucket, job.source_key, (0, HEADER_BYTES))
    header = next(csv.reader(io.StringIO(head.decode("utf-8-sig"))))
    body = files.read_source(job.source_bucket, job.source_key, (chunk.start, chunk.end)).decode("utf-8")
    return [dict(zip(header, values, strict=False)) for values in csv.reader(io.StringIO(body)) if values]


def _coerce(raw: dict[str, Any], signature: Signature) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for feature in signature.inputs:
        if feature.name not in raw:
            raise InvalidRequestError(f"missing column {feature.name!r}")
        value = raw[feature.name]
        if isinstance(value, str) and value.strip().lower() in MISSING:
            value = None
        if feature.type == "number" and isinstance(value, str):
            try:
                value = float(value)
            except ValueError as exc:
                raise InvalidRequestError(f"{feature.name} is not a number: {value[:50]!r}") from exc
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        row[feature.name] = value
    return row


def score_chunk(job: BatchJob, chunk: Chunk, *, predictor: Predictor, files: BatchFiles) -> Part:
    """Score one chunk and write its part file."""
    served = predictor.resolve(job.model, version=job.version)
    _, signature = predictor.load(served)
    good: list[tuple[int, dict[str, Any]]] = []
    out: dict[int, list[Any]] = {}
    for number, raw in enumerate(_rows(job, chunk, files)):
        try:
            good.append((number, _coerce(raw, signature)))
        except InvalidRequestError as exc:
            out[number] = [number, "", "", "", exc.message]
    predictor.max_instances = max(len(good), 1)
    if good:
        result = predictor.predict(job.model, {"instances": [r for _, r in good]}, version=job.version)
        probabilities: list[dict[str, float] | None] = (
            list(result.probabilities) if result.probabilities is not None else [None] * len(good)
        )
        for (number, _), pid, label, probs in zip(
            good, result.prediction_ids, result.predictions, probabilities, strict=True
        ):
            out[number] = [number, pid, label, json.dumps(probs) if probs is not None else "", ""]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for number in sorted(out):
        writer.writerow([f"{chunk.index}:{number}", *out[number][1:]])
    key = job.part_key(chunk.index)
    files.write_output(key, buffer.getvalue().encode())
    errors = sum(1 for row in out.values() if row[4])
    return Part(index=chunk.index, key=key, rows=len(out), errors=errors)


def merge(job: BatchJob, parts: Sequence[Part], *, files: BatchFiles) -> BatchSummary:
    """Concatenate the parts, in chunk order, under one header."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(OUTPUT_COLUMNS)
    chunks = [buffer.getvalue().encode()]
    for part in sorted(parts, key=lambda p: p.index):
        chunks.append(files.read_output(part.key))
    files.write_output(job.output_key, b"".join(chunks), content_type="text/csv")
    return BatchSummary(
        model=job.model,
        version=job.version,
        source=f"s3://{job.source_bucket}/{job.source_key}",
        output_key=job.output_key,
        rows=sum(p.rows for p in parts),
        errors=sum(p.errors for p in parts),
    )


@dataclass(frozen=True)
class BatchStarted:
    """A file too big for one chunk: scoring continues in the batch state machine."""

    execution_arn: str
    chunks: int

    def to_dict(self) -> dict[str, Any]:
        return {"execution_arn": self.execution_arn, "chunks": self.chunks}


def finish_batch(
    job: BatchJob, parts: Sequence[Part], *, files: BatchFiles, publisher: Publisher
) -> BatchSummary:
    """Merge the parts into the output file and announce ``Batch Scored``."""
    summary = merge(job, parts, files=files)
    publisher(events.BATCH_SCORED, summary.to_dict())
    return summary


def start_batch(
    bucket: str,
    key: str,
    *,
    predictor: Predictor,
    files: BatchFiles,
    launcher: BatchLauncher,
    publisher: Publisher,
    chunk_bytes: int = CHUNK_BYTES,
) -> BatchSummary | BatchStarted:
    """Score a dropped ``batch/<model>/<name>`` file against the model's champion.

    The version is pinned when the file arrives, so every chunk is scored by the same model even
    if the champion moves meanwhile. A file of one chunk is scored and merged at once; a bigger
    one starts the batch state machine, which calls :func:`score_chunk` per chunk and then
    :func:`finish_batch`.
    """
    model = key.split("/")[1]
    job = job_for(model, predictor.resolve(model).version, bucket, key)
    chunks = plan(job, files=files, chunk_bytes=chunk_bytes)
    if len(chunks) <= 1:
        parts = [score_chunk(job, chunk, predictor=predictor, files=files) for chunk in chunks]
        return finish_batch(job, parts, files=files, publisher=publisher)
    return BatchStarted(execution_arn=launcher.start(job, chunks), chunks=len(chunks))
