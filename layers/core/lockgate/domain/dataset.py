"""Uploaded datasets as values: records, upload references, what ingest decided, and the naming rules.

Every upload to ``s3://<data>/datasets/<model>/<name>`` is identified by the sha256 of its bytes
(its *dataset id*). The registry holds one dataset record per distinct content (first delivery
wins) and one upload record per upload event (``new``, ``duplicate`` or ``rejected``); see
``docs/internals.md``. Nothing here does I/O: ``lockgate.services.ingest`` is the use case.

>>> parse_dataset_key("datasets/churn/jan.csv")
('churn', None)
>>> execution_name("churn", "ab" * 32)
'churn-abababababababab'
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from lockgate.domain.names import MODEL_NAME, is_sha256
from lockgate.domain.s3_events import S3ObjectEvent

DatasetStatus = Literal["received", "accepted", "rejected", "duplicate"]
UploadStatus = Literal["new", "duplicate", "rejected"]
Format = Literal["csv", "csv.gz", "parquet"]
Outcome = Literal["started", "duplicate", "rejected", "ignored"]
Trigger = Literal["upload", "drift"]

DATASET_PREFIX = "datasets/"
SPEC_PREFIX = "specs/"
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


def now_iso() -> str:
    """Record timestamps: UTC, to the second, ``Z``-suffixed (they sort as text)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def detect_format(head: bytes, key: str = "") -> Format:
    """Magic bytes first (a ``.csv`` that is really gzip is read as gzip), then the file name."""
    if head.startswith(_GZIP_MAGIC):
        return "csv.gz"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    lowered = key.lower()
    if lowered.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def spec_key(model: str) -> str:
    """Where a team keeps a model's spec in the data bucket."""
    return f"{SPEC_PREFIX}{model}.yaml"


def parse_dataset_key(key: str) -> tuple[str | None, str | None]:
    """``datasets/<model>/<name>`` -> ``(model, problem)``; exactly one of them is ``None``."""
    if not key.startswith(DATASET_PREFIX):
        return None, f"key {key!r} is not under {DATASET_PREFIX}"
    parts = key[len(DATASET_PREFIX) :].split("/")
    if any(p in ("..", ".") for p in key.split("/")):
        return None, f"key {key!r} has a '..' or '.' segment; upload to datasets/<model>/<name>"
    if len(parts) < 2 or not parts[-1]:
        return None, f"key {key!r} names no model; upload to datasets/<model>/<name>"
    model = parts[0]
    if not MODEL_NAME.match(model):
        return None, f"{model!r} is not a model name (lowercase letters, digits, dashes); key {key!r}"
    return model, None


def model_segment(key: str) -> str | None:
    """The model a refused key still names (``datasets/m/../x`` -> ``m``), so its refusal is filed there."""
    first = key[len(DATASET_PREFIX) :].split("/", maxsplit=1)[0] if key.startswith(DATASET_PREFIX) else ""
    return first if MODEL_NAME.match(first) else None


def execution_name(model: str, dataset_id: str) -> str:
    """Deterministic (<= 80 chars), so Step Functions itself refuses a second start for the same data."""
    return f"{model}-{dataset_id[:16]}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of ``state_machine_arn``."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def run_id_for(dataset_id: str) -> str:
    return f"r-{dataset_id[:20]}"


def provenance(metadata: dict[str, str]) -> tuple[Trigger, tuple[str, ...]]:
    """What started this upload (``upload`` or ``drift``) and the datasets it was built from.

    A retraining dataset written by the drift check carries ``lockgate-trigger: drift`` and
    ``lockgate-parents`` (comma-separated dataset ids) as object metadata; anything else is a
    person's upload. Keys are matched case-insensitively; malformed values are ignored rather than
    trusted.
    """
    lowered = {k.lower(): v for k, v in metadata.items()}
    trigger: Trigger = "drift" if lowered.get("lockgate-trigger") == "drift" else "upload"
    parents = tuple(p for p in lowered.get("lockgate-parents", "").split(",") if is_sha256(p))
    return trigger, parents


@dataclass(frozen=True)
class DatasetRecord:
    """One uploaded dataset as a person sees it in ``lockgate datasets <model>``."""

    model: str
    dataset_id: str
    source_bucket: str
    source_key: str
    status: DatasetStatus
    size: int = 0
    format: str = ""
    rows: int | None = None
    columns: int | None = None
    report_id: str | None = None
    reasons: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    execution_arn: str | None = None
    upload_id: str = ""
    parents: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["parents"] = list(self.parents)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatasetRecord:
        """From a stored record: unknown fields dropped, lists back to tuples, numbers to int."""
        kwargs = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        for name in ("size", "rows", "columns"):
            if kwargs.get(name) is not None:
                kwargs[name] = int(kwargs[name])
        kwargs["reasons"] = tuple(kwargs.get("reasons") or ())
        kwargs["parents"] = tuple(kwargs.get("parents") or ())
        return cls(**kwargs)

    def duplicate_of(self, existing: DatasetRecord, *, now: str) -> DatasetRecord:
        """This upload, recorded as a duplicate of ``existing`` (the same bytes, uploaded earlier)."""
        reason = (
            f"same bytes as {existing.source_key} (dataset {existing.dataset_id[:12]}, {existing.status})"
        )
        return replace(self, status="duplicate", created_at=now, updated_at=now, reasons=(reason,))


@dataclass(frozen=True)
class UploadRecord:
    """What ingest recorded about one upload event (``lockgate push`` waits for it)."""

    status: UploadStatus
    record: DatasetRecord

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "status": self.status}


@dataclass(frozen=True)
class UploadRef:
    """Which object an upload notification is about (key already URL-decoded)."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str = ""
    size: int = 0

    @property
    def upload_id(self) -> str:
        """Stable id of this upload event: same object version -> same id, whoever delivers it."""
        return hashlib.sha256(f"{self.bucket}/{self.key}/{self.version_id or self.etag}".encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_object(cls, obj: S3ObjectEvent) -> UploadRef:
        return cls(bucket=obj.bucket, key=obj.key, etag=obj.etag, version_id=obj.version_id, size=obj.size)

    @classmethod
    def from_s3_record(cls, record: dict[str, Any]) -> UploadRef:
        """Build from one ``Records[]`` entry of an S3 notification (see :mod:`lockgate.domain.s3_events`)."""
        return cls.from_object(S3ObjectEvent.from_record(record))


@dataclass(frozen=True)
class UploadHead:
    """What the object store says about an upload before its bytes are read."""

    size: int
    etag: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadDigest:
    """The sha256 of an upload's bytes (its dataset id), its first bytes and its size as hashed."""

    sha256: str
    head: bytes
    size: int


@dataclass(frozen=True)
class IngestResult:
    """What ingest did with one upload: ``started``, ``duplicate``, ``rejected`` or ``ignored``."""

    outcome: Outcome
    key: str
    model: str | None = None
    dataset_id: str | None = None
    execution_arn: str | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


@dataclass(frozen=True)
class ValidateResult:
    """The validate task's output when the dataset passed (a rejection raises instead)."""

    report_id: str
    rows: int
    columns: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "rows": self.rows,
            "columns": self.columns,
            "status": self.status,
        }
