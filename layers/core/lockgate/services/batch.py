"""Batch scoring of ``batch/<model>/<name>`` files, fanned out over chunks.

Three steps so a Step Functions Map can scale out (``infra/statemachines/batch.asl.json``):
:func:`plan` pins the version (the alias is resolved once, so every chunk uses the same model) and
splits the file into chunks — byte ranges that end on record boundaries for CSV, row groups for
Parquet; :func:`score_chunk` scores one chunk into ``predictions/<model>/<name>.<ts>.parts/<i>.csv``;
:func:`merge` concatenates the parts into ``predictions/<model>/<name>.<ts>.csv``.

CSV is read with the ``csv`` module (no pandas). Parquet needs pyarrow (imported only for Parquet),
which is why the batch function ships with the training layer rather than the light serving layer:
batch is not latency-bound, and the API function stays free of pyarrow. A row whose values do not fit
the signature is not fatal: it gets an ``error`` and no prediction.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lockgate.adapters import aws
from lockgate.errors import InvalidRequestError
from lockgate.serving.predictor import Predictor, Signature

CHUNK_BYTES = 8 * 1024 * 1024
OUTPUT_COLUMNS = ["row", "prediction_id", "prediction", "probabilities", "error"]
MISSING = {"", "na", "nan", "null", "none"}


@dataclass(frozen=True)
class BatchJob:
    model: str
    version: int
    source_bucket: str
    source_key: str
    format: str  # "csv" | "parquet"
    output_key: str

    @property
    def parts_prefix(self) -> str:
        return self.output_key.removesuffix(".csv") + ".parts/"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_for(model: str, version: int, bucket: str, key: str, *, now: datetime | None = None) -> BatchJob:
    name = key.rsplit("/", 1)[-1]
    lowered = name.lower()
    if lowered.endswith(".csv"):
        fmt = "csv"
    elif lowered.endswith((".parquet", ".pq")):
        fmt = "parquet"
    else:
        raise InvalidRequestError(f"batch file {key!r} must end in .csv or .parquet", key=key)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return BatchJob(model, version, bucket, key, fmt, f"predictions/{model}/{name}.{stamp}.csv")


def _read(bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if byte_range:
        kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
    data: bytes = aws.client("s3").get_object(**kwargs)["Body"].read()
    return data


def plan(job: BatchJob, *, chunk_bytes: int = CHUNK_BYTES) -> list[dict[str, Any]]:
    """Chunks of the source file: ``{"index", "start", "end"}`` (bytes for CSV, row groups for Parquet)."""
    data = _read(job.source_bucket, job.source_key)
    if job.format == "parquet":
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(io.BytesIO(data)).num_row_groups
        return [{"index": i, "start": i, "end": i + 1} for i in range(groups)]
    text = data.decode("utf-8-sig")
    # newline="" keeps CSV's own notion of line ends (quoted newlines stay inside their record)
    reader_lines = iter(io.StringIO(text, newline=""))
    offsets: list[tuple[int, int]] = []
    position = 0

    def counting() -> Any:
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
    return [{"index": i, "start": s, "end": e} for i, (s, e) in enumerate(offsets)]


def _rows(job: BatchJob, chunk: dict[str, Any], signature: Signature) -> list[dict[str, Any]]:
    if job.format == "parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(io.BytesIO(_read(job.source_bucket, job.source_key))).read_row_group(
            chunk["start"]
        )
        return list(table.to_pylist())
    header = next(
        csv.reader(io.StringIO(_read(job.source_bucket, job.source_key, (0, 65536)).decode("utf-8-sig")))
    )
    body = _read(job.source_bucket, job.source_key, (chunk["start"], chunk["end"])).decode("utf-8")
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


def score_chunk(job: BatchJob, chunk: dict[str, Any], predictor: Predictor) -> dict[str, Any]:
    """Score one chunk; write its part file; return ``{"index", "key", "rows", "errors"}``."""
    served = predictor.resolve(job.model, version=job.version)
    _, signature = predictor.load(served)
    good: list[tuple[int, dict[str, Any]]] = []
    out: dict[int, list[Any]] = {}
    for number, raw in enumerate(_rows(job, chunk, signature)):
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
        writer.writerow([f"{chunk['index']}:{number}", *out[number][1:]])
    key = f"{job.parts_prefix}{chunk['index']:06d}.csv"
    aws.client("s3").put_object(Bucket=_artifact_bucket(), Key=key, Body=buffer.getvalue().encode())
    errors = sum(1 for row in out.values() if row[4])
    return {"index": chunk["index"], "key": key, "rows": len(out), "errors": errors}


def merge(job: BatchJob, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate the parts, in chunk order, under one header; returns the summary."""
    s3 = aws.client("s3")
    buffer = io.StringIO()
    csv.writer(buffer).writerow(OUTPUT_COLUMNS)
    body = buffer.getvalue().encode()
    chunks = [body]
    for part in sorted(parts, key=lambda p: p["index"]):
        chunks.append(s3.get_object(Bucket=_artifact_bucket(), Key=part["key"])["Body"].read())
    s3.put_object(
        Bucket=_artifact_bucket(), Key=job.output_key, Body=b"".join(chunks), ContentType="text/csv"
    )
    return {
        "model": job.model,
        "version": job.version,
        "source": f"s3://{job.source_bucket}/{job.source_key}",
        "output_key": job.output_key,
        "rows": sum(int(p["rows"]) for p in parts),
        "errors": sum(int(p["errors"]) for p in parts),
    }


def _artifact_bucket() -> str:
    from lockgate.config import settings

    settings().require("artifact_bucket")
    return settings().artifact_bucket
