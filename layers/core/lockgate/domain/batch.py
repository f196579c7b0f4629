"""Batch scoring as values: the job a dropped file becomes, its chunks, parts and summary.

These cross the batch state machine (``infra/statemachines/batch.asl.json``) as JSON, so each has
``to_dict``/``from_dict`` and the dict shapes are the wire format: ``job`` (:class:`BatchJob`),
``chunks[]`` (:class:`Chunk`), ``parts[]`` (:class:`Part`), the merge's :class:`BatchSummary` (also the
``Batch Scored`` event's detail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lockgate.errors import InvalidRequestError

OUTPUT_COLUMNS = ("row", "prediction_id", "prediction", "probabilities", "error")


@dataclass(frozen=True)
class BatchJob:
    """One dropped file scored by one pinned version into ``output_key``."""

    model: str
    version: int
    source_bucket: str
    source_key: str
    format: str  # "csv" | "parquet"
    output_key: str

    @property
    def parts_prefix(self) -> str:
        return self.output_key.removesuffix(".csv") + ".parts/"

    def part_key(self, index: int) -> str:
        return f"{self.parts_prefix}{index:06d}.csv"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchJob:
        return cls(
            model=str(data["model"]),
            version=int(data["version"]),
            source_bucket=str(data["source_bucket"]),
            source_key=str(data["source_key"]),
            format=str(data["format"]),
            output_key=str(data["output_key"]),
        )


def job_for(model: str, version: int, bucket: str, key: str, *, now: datetime | None = None) -> BatchJob:
    """The job for ``s3://bucket/key``: its format from the extension, a timestamped output key."""
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


@dataclass(frozen=True)
class Chunk:
    """A slice of the source: bytes ``[start, end)`` for CSV, row groups ``[start, end)`` for Parquet."""

    index: int
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        return cls(index=int(data["index"]), start=int(data["start"]), end=int(data["end"]))


@dataclass(frozen=True)
class Part:
    """A scored chunk: the part file written and how many of its rows failed."""

    index: int
    key: str
    rows: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Part:
        return cls(
            index=int(data["index"]), key=str(data["key"]), rows=int(data["rows"]), errors=int(data["errors"])
        )


@dataclass(frozen=True)
class BatchSummary:
    """The merged output: where it is and how many rows it has (the ``Batch Scored`` detail)."""

    model: str
    version: int
    source: str
    output_key: str
    rows: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
