"""In-memory fakes of the serving ports: API tokens, inference capture, batch files.

They keep state and enforce what the adapters enforce: a token hash is stored once (a second put
of the same hash is a conflict, as DynamoDB's ``attribute_not_exists`` condition makes it); capture
samples per request and writes the same lines and keys as ``S3CaptureLog``; batch source reads
honour half-open byte ranges as S3's ``Range`` header does, and reading a key never written fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lockgate.domain.batch import BatchJob, Chunk
from lockgate.domain.capture import (
    CAPTURES,
    LABELS,
    LabelReceipt,
    Prediction,
    capture_lines,
    label_lines,
    log_key,
)
from lockgate.domain.tokens import Principal
from lockgate.errors import ArtifactNotFoundError, VersionConflictError


@dataclass
class InMemoryTokenStore:
    """A :class:`lockgate.ports.TokenStore`: principals by token hash, never the token."""

    items: dict[str, dict[str, str]] = field(default_factory=dict)

    def put(self, digest: str, principal: Principal, *, created_at: str) -> None:
        if digest in self.items:
            raise VersionConflictError("a token with this hash already exists")
        self.items[digest] = {"role": principal.role, "name": principal.name, "created_at": created_at}

    def get(self, digest: str) -> Principal | None:
        item = self.items.get(digest)
        return None if item is None else Principal(role=item["role"], name=item["name"])

    def delete(self, digest: str) -> None:
        self.items.pop(digest, None)


@dataclass
class InMemoryCaptureLog:
    """A :class:`lockgate.ports.CaptureLog` keeping each written object's lines by key."""

    sampling_rate: float = 1.0
    rng: Callable[[], float] = field(default_factory=lambda: random.Random(0).random)
    clock: Callable[[], datetime] = field(default_factory=lambda: lambda: datetime.now(UTC))
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def capture(self, result: Prediction) -> str | None:
        if self.sampling_rate <= 0.0 or self.rng() >= self.sampling_rate:
            return None
        moment = self.clock()
        key = log_key(CAPTURES, result.model, moment)
        self.objects[key] = capture_lines(result, moment)
        return key

    def record_labels(self, model: str, labels: Sequence[Mapping[str, Any]]) -> LabelReceipt:
        moment = self.clock()
        key = log_key(LABELS, model, moment)
        self.objects[key] = label_lines(labels, moment)
        return LabelReceipt(model=model, count=len(labels), key=key)


@dataclass
class InMemoryBatchFiles:
    """A :class:`lockgate.ports.BatchFiles`: sources by (bucket, key), outputs by key."""

    sources: dict[tuple[str, str], bytes] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    ranged_reads: int = 0

    def read_source(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        if (bucket, key) not in self.sources:
            raise ArtifactNotFoundError(f"s3://{bucket}/{key} does not exist", key=key)
        data = self.sources[(bucket, key)]
        if byte_range is None:
            return data
        self.ranged_reads += 1
        start, end = byte_range
        return data[start:end]

    def read_output(self, key: str) -> bytes:
        if key not in self.outputs:
            raise ArtifactNotFoundError(f"{key} was never written", key=key)
        return self.outputs[key]

    def write_output(self, key: str, body: bytes, *, content_type: str | None = None) -> None:
        self.outputs[key] = body
        if content_type:
            self.content_types[key] = content_type


@dataclass
class RecordingBatchLauncher:
    """A :class:`lockgate.ports.BatchLauncher` that keeps each started job and its chunks."""

    started: list[tuple[BatchJob, list[Chunk]]] = field(default_factory=list)

    def start(self, job: BatchJob, chunks: Sequence[Chunk]) -> str:
        self.started.append((job, list(chunks)))
        return f"arn:aws:states:us-east-1:123456789012:execution:batch:{len(self.started)}"
