"""What the services need from the outside world, as ``typing.Protocol``s.

Services (``lockgate.services``) are typed on these ports only; adapters (``lockgate.adapters``)
implement them on AWS, and ``tests/fakes`` implements them in memory. Values that cross a port
are the domain's (``lockgate.domain``), never raw DynamoDB items or event dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # values only appear in annotations: the light serving path loads no more
    from lockgate.domain.artifacts import ArtifactRef
    from lockgate.domain.batch import BatchJob, Chunk
    from lockgate.domain.capture import LabelReceipt, Prediction
    from lockgate.domain.check import CheckResult, LogKind, LogRead
    from lockgate.domain.dataset import DatasetRecord, UploadDigest, UploadHead, UploadRecord, UploadRef
    from lockgate.domain.labels import LabelIngestResult
    from lockgate.domain.model_version import (
        Alias,
        AliasMove,
        ModelVersion,
        NewModelVersion,
        RegisteredModel,
    )
    from lockgate.domain.run import RunRecord
    from lockgate.domain.tokens import Principal
    from lockgate.domain.training_state import TrainingRequest


class Publisher(Protocol):
    """Announces a state change as an event (``EventBridgePublisher`` on the Lockgate bus)."""

    def __call__(self, detail_type: str, detail: dict[str, Any], /) -> None: ...


class ArtifactReader(Protocol):
    """Reads content-addressed artifacts; every read verifies the bytes against their id."""

    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes: ...

    def get_json(self, kind: str, sha256: str) -> Any: ...


class ArtifactStore(ArtifactReader, Protocol):
    """The content-addressed artifact store (``S3ArtifactStore``)."""

    @property
    def bucket(self) -> str: ...

    def put_bytes(
        self, kind: str, data: bytes, *, ext: str = "", content_type: str = "application/octet-stream"
    ) -> ArtifactRef: ...

    def put_json(self, kind: str, value: Any) -> ArtifactRef: ...


# ---------------------------------------------------------------- registry and runs (lifecycle)


class ServedVersion(Protocol):
    """The part of a registered model version serving reads (``ModelVersion`` has it)."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def model_artifact(self) -> str: ...
    @property
    def signature(self) -> dict[str, Any]: ...


class VersionReader(Protocol):
    """The registry reads serving needs: a version by number or behind an alias.

    Both raise the registry's not-found errors (``VersionNotFoundError``, ``AliasNotFoundError``,
    ``ModelNotFoundError``). Narrow on purpose, so the light serving path needs no more of the
    registry: every :class:`ModelRegistry` (``DynamoDBModelRegistry``, the in-memory fake) has it.
    """

    def get_model_version(self, model: str, version: int) -> ServedVersion: ...

    def get_version_by_alias(self, model: str, alias: str) -> ServedVersion: ...


class ModelRegistry(VersionReader, Protocol):
    """Model versions, approval states and aliases (``DynamoDBModelRegistry``).

    Implementations announce ``Model Registered/Approved/Rejected/Promoted`` themselves after
    each write commits, allocate version numbers without gaps or sharing, are idempotent on
    ``run_id``, and let an alias point only at an Approved version.
    """

    def create_model_version(self, new: NewModelVersion) -> ModelVersion: ...

    def get_model_version(self, model: str, version: int) -> ModelVersion: ...

    def get_version_by_run(self, model: str, run_id: str) -> ModelVersion | None: ...

    def list_model_versions(self, model: str) -> list[ModelVersion]: ...

    def list_models(self) -> list[RegisteredModel]: ...

    def set_model_card(self, model: str, version: int, card_id: str) -> ModelVersion: ...

    def abandon_run(self, model: str, run_id: str, *, reason: str) -> ModelVersion | None: ...

    def get_alias(self, model: str, alias: str) -> Alias: ...

    def get_version_by_alias(self, model: str, alias: str) -> ModelVersion: ...

    def set_alias(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> Alias: ...

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasMove]: ...

    def rollback(self, model: str, *, to_version: int | None = None, actor: str) -> Alias: ...

    def set_task_token(self, model: str, version: int, token: str) -> None: ...

    def approve(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion: ...

    def reject(self, model: str, version: int, *, actor: str, comment: str = "") -> ModelVersion: ...


class RunStore(Protocol):
    """Training run records (``DynamoDBRunStore``); ``RunNotFoundError`` for an unknown run."""

    def start(self, model: str, run_id: str, *, dataset_id: str, trigger: str) -> RunRecord: ...

    def get(self, model: str, run_id: str) -> RunRecord: ...

    def list_runs(self, model: str) -> list[RunRecord]: ...

    def update(self, model: str, run_id: str, **fields: Any) -> RunRecord: ...

    def note(self, model: str, run_id: str, **fields: Any) -> RunRecord | None: ...

    def mark_failed(self, model: str, run_id: str, reason: str) -> RunRecord: ...

    def mark_rejected(self, model: str, run_id: str, reason: str, **numbers: Any) -> RunRecord: ...


class TaskTokens(Protocol):
    """Resumes an execution parked on a task token (Step Functions' ``.waitForTaskToken``).

    An execution that already ended (timed out, stopped) is not an error: the decision stands.
    """

    def succeed(self, token: str, output: dict[str, Any]) -> None: ...

    def fail(self, token: str, *, error: str, cause: str) -> None: ...


class DatasetLookup(Protocol):
    """One dataset record by content id, for lineage; ``DatasetNotFoundError`` when there is none.

    The one read of :class:`DatasetStore` lineage needs.
    """

    def get(self, model: str, dataset_id: str) -> DatasetRecord: ...


# ---------------------------------------------------------------- data in (datasets, ingest)


class DatasetStore(DatasetLookup, Protocol):
    """Dataset and upload records (``DynamoDBDatasetStore``): one per distinct content, one per upload.

    ``record_upload`` is first-delivery-wins on the content id; upload records are written once
    and never change status; ``DatasetNotFoundError`` for an unknown dataset.
    """

    def get(self, model: str, dataset_id: str) -> DatasetRecord: ...

    def list(self, model: str) -> list[DatasetRecord]: ...

    def last_accepted(self, model: str, *, exclude: str | None = None) -> DatasetRecord | None: ...

    def get_upload(self, model: str, upload_id: str) -> UploadRecord | None: ...

    def record_upload(self, record: DatasetRecord) -> DatasetRecord: ...

    def record_rejected_upload(self, record: DatasetRecord) -> DatasetRecord: ...

    def set_execution(self, model: str, dataset_id: str, execution_arn: str) -> None: ...

    def mark_accepted(
        self, model: str, dataset_id: str, *, rows: int, columns: int, report_id: str
    ) -> None: ...

    def mark_rejected(
        self,
        model: str,
        dataset_id: str,
        *,
        reasons: Sequence[str],
        report_id: str | None = None,
        rows: int | None = None,
        columns: int | None = None,
    ) -> None: ...


class UploadSource(Protocol):
    """The uploaded objects in the data bucket (``S3UploadSource``), pinned to the notified version."""

    def head(self, upload: UploadRef) -> UploadHead | None:
        """Size, ETag and metadata; ``None`` when the object (version) no longer exists."""
        ...

    def digest(self, upload: UploadRef) -> UploadDigest:
        """Stream the bytes through sha256 (never the whole file in memory)."""
        ...

    def read_bytes(self, bucket: str, key: str) -> bytes | None:
        """A small object (a spec, as the team wrote it), ``None`` when there is none."""
        ...

    def copy(self, upload: UploadRef, *, bucket: str, key: str, metadata: Mapping[str, str]) -> None:
        """Server-side copy of exactly the bytes of this version (into the artifact store)."""
        ...


class TrainingLauncher(Protocol):
    """Starts the training state machine (``StepFunctionsTrainingLauncher``).

    Starting the same ``name`` twice starts nothing new and returns the first execution's ARN,
    so a redelivered upload never trains twice.
    """

    def start(self, name: str, request: TrainingRequest) -> str: ...


class ChampionModel(Protocol):
    """What evaluation reads of the champion (``ModelVersion`` has it)."""

    @property
    def version(self) -> int: ...
    @property
    def signature(self) -> dict[str, Any]: ...
    @property
    def model_artifact(self) -> str: ...
    @property
    def metrics(self) -> dict[str, Any]: ...


class ChampionSource(Protocol):
    """The one registry read evaluation needs (:class:`ModelRegistry` has it).

    Raises ``AliasNotFoundError`` / ``ModelNotFoundError`` when there is no champion yet.
    """

    def get_version_by_alias(self, model: str, alias: str) -> ChampionModel: ...


# ---------------------------------------------------------------- monitoring and labels


class CheckStore(Protocol):
    """Drift check records, one per model and window end (``DynamoDBCheckStore``).

    ``record`` is a conditional write: when two invocations check the same window (a schedule that
    fires twice), exactly one gets True and the other reads the winner's record with ``get``.
    """

    def get(self, model: str, window_end: datetime) -> CheckResult | None:
        """The stored check for that window end (``duplicate=True``), or None."""
        ...

    def latest(self, model: str) -> CheckResult | None:
        """The most recent check of a model (``lockgate drift <model>``)."""
        ...

    def record(self, result: CheckResult, *, baseline_id: str, created_at: datetime) -> bool: ...

    def set_retraining(self, model: str, window_end: datetime, retraining: Mapping[str, Any]) -> None: ...

    def claim_retraining(self, model: str, *, now: datetime, cooldown_minutes: int) -> bool:
        """True for at most one caller per cool-down, even under races."""
        ...


class Alerts(Protocol):
    """Tells people (``SnsAlerts`` on the alerts topic; nothing when no topic is configured)."""

    def alert(self, detail_type: str, detail: Mapping[str, Any], *, model: str, version: int) -> None: ...


class LogReader(Protocol):
    """The captures and labels logs (JSON Lines per model and day, ``S3Logs``)."""

    def read(self, kind: LogKind, model: str, start: datetime, end: datetime) -> LogRead:
        """Records with ``start < timestamp <= end`` and the keys of the objects that held them."""
        ...


class LabelLog(Protocol):
    """Appends to the labels log; the same ``source_id`` always writes the same object."""

    def append_labels(
        self, model: str, records: Sequence[Mapping[str, Any]], *, received_at: datetime, source_id: str
    ) -> str:
        """Write one file of label records; returns its key."""
        ...


class UploadReader(Protocol):
    """Reads a file someone dropped in a bucket (label uploads)."""

    def size(self, bucket: str, key: str) -> int: ...

    def read(self, bucket: str, key: str) -> bytes: ...


class DatasetDrop(Protocol):
    """Where a retraining dataset is dropped for the ingest trigger (the data bucket)."""

    @property
    def bucket(self) -> str: ...

    def put(self, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str]) -> None: ...


class LabelFileStore(Protocol):
    """What became of each label file (``LABELS#`` records), rejected ones with their reasons."""

    def record(self, result: LabelIngestResult, *, source_id: str, received_at: datetime) -> None: ...


# ---------------------------------------------------------------- serving, tokens, batch


class CaptureLog(Protocol):
    """Inference capture and ground-truth feedback as JSON Lines (``S3CaptureLog``).

    ``capture`` samples and never raises for a failed write (monitoring data is worth less than the
    caller's answer): it returns the key written or None. ``record_labels`` takes labels already
    checked by ``lockgate.domain.capture.validate_labels`` and does raise.
    """

    def capture(self, result: Prediction) -> str | None: ...

    def record_labels(self, model: str, labels: Sequence[Mapping[str, Any]]) -> LabelReceipt: ...


class TokenStore(Protocol):
    """API credentials by the sha256 of the token (``DynamoDBTokenStore``); never the token itself."""

    def put(self, digest: str, principal: Principal, *, created_at: str) -> None:
        """Store a new credential; ``VersionConflictError`` if the digest is already stored."""
        ...

    def get(self, digest: str) -> Principal | None: ...

    def delete(self, digest: str) -> None: ...


class BatchFiles(Protocol):
    """Batch scoring's files: ranged reads of the dropped source file, parts and output it writes.

    The output side is bound to one bucket (the artifact bucket), so the service names keys only.
    """

    def read_source(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """The object's bytes, or the half-open ``[start, end)`` range of them."""
        ...

    def read_output(self, key: str) -> bytes: ...

    def write_output(self, key: str, body: bytes, *, content_type: str | None = None) -> None: ...


class BatchLauncher(Protocol):
    """Starts the batch state machine's Map over a file's chunks (``StepFunctionsBatchLauncher``)."""

    def start(self, job: BatchJob, chunks: Sequence[Chunk]) -> str:
        """Start scoring ``chunks`` in parallel, merging after; returns the execution's ARN."""
        ...
