"""Ingest: one uploaded object -> a content-addressed dataset, its records, and one training run.

Idempotent end to end: the dataset id is the sha256 of the bytes, the dataset record is
first-delivery-wins, upload records never change status, and the execution is named after the
content, so redeliveries and concurrent deliveries start training at most once per content.

Refusals (bad key, too large, empty, no or invalid spec) are recorded and announced, never raised:
a retry could not fix them. Infrastructure errors raise so the trigger retries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lockgate.domain import events
from lockgate.domain.artifacts import artifact_key
from lockgate.domain.dataset import (
    DatasetRecord,
    IngestResult,
    UploadRef,
    detect_format,
    execution_name,
    model_segment,
    parse_dataset_key,
    provenance,
    run_id_for,
    spec_key,
)
from lockgate.domain.spec import ModelSpec, load_spec
from lockgate.domain.training_state import DatasetPointer, TrainingRequest
from lockgate.errors import SpecInvalidError
from lockgate.ports import ArtifactStore, DatasetStore, Publisher, TrainingLauncher, UploadSource


@dataclass(frozen=True)
class IngestDeps:
    """What ingest talks to; the handler builds it once per warm container."""

    store: DatasetStore
    uploads: UploadSource
    artifacts: ArtifactStore
    launcher: TrainingLauncher
    publisher: Publisher


class _Refused(Exception):
    """An upload ingest will not take, with the reason a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reject(deps: IngestDeps, ref: UploadRef, model: str | None, reason: str) -> IngestResult:
    if model:
        deps.store.record_rejected_upload(
            DatasetRecord(
                model=model,
                dataset_id="",
                source_bucket=ref.bucket,
                source_key=ref.key,
                status="rejected",
                size=ref.size,
                reasons=(reason,),
                upload_id=ref.upload_id,
            )
        )
    deps.publisher(
        events.DATASET_REJECTED,
        {
            "model": model,
            "source_bucket": ref.bucket,
            "source_key": ref.key,
            "reasons": [reason],
            "stage": "ingest",
        },
    )
    return IngestResult(outcome="rejected", key=ref.key, model=model, reasons=(reason,))


def _load_model_spec(uploads: UploadSource, bucket: str, model: str) -> ModelSpec:
    key = spec_key(model)
    text = uploads.read_bytes(bucket, key)
    if text is None:
        raise _Refused(f"no spec for model {model}; upload {key} first")
    try:
        return load_spec(text)
    except SpecInvalidError as exc:
        raise _Refused(f"spec {key} is invalid: {exc.message}") from exc


def ingest_upload(ref: UploadRef, deps: IngestDeps, *, max_upload_bytes: int) -> IngestResult:
    """Identify one uploaded object by content, record it and start training for new content."""
    model, problem = parse_dataset_key(ref.key)
    if problem or model is None:
        # A key with a valid model segment (e.g. ``datasets/m/../x``) is still recorded under it.
        return _reject(deps, ref, model_segment(ref.key), problem or "no model")
    head = deps.uploads.head(ref)
    if head is None:
        return IngestResult(outcome="ignored", key=ref.key, model=model, reasons=("object no longer exists",))
    ref = replace(ref, size=head.size, etag=ref.etag or head.etag)
    if head.size > max_upload_bytes:
        return _reject(
            deps,
            ref,
            model,
            f"file is {head.size:,} bytes, over the {max_upload_bytes:,}-byte upload limit; split it",
        )
    if head.size == 0:
        return _reject(deps, ref, model, "the file is empty")
    try:
        spec = _load_model_spec(deps.uploads, ref.bucket, model)
    except _Refused as refused:
        return _reject(deps, ref, model, refused.reason)
    digest = deps.uploads.digest(ref)
    dataset_id = digest.sha256
    # Server-side copy of the exact bytes we hashed (pinned by version); validation re-verifies the hash.
    deps.uploads.copy(
        ref,
        bucket=deps.artifacts.bucket,
        key=artifact_key("datasets", dataset_id),
        metadata={"sha256": dataset_id},
    )
    spec_ref = deps.artifacts.put_json("specs", spec.to_dict())
    trigger, parents = provenance(head.metadata)
    record = deps.store.record_upload(
        DatasetRecord(
            model=model,
            dataset_id=dataset_id,
            source_bucket=ref.bucket,
            source_key=ref.key,
            status="received",
            size=digest.size,
            format=detect_format(digest.head, ref.key),
            upload_id=ref.upload_id,
            parents=parents,
        )
    )
    if record.status == "duplicate":
        return IngestResult(
            outcome="duplicate", key=ref.key, model=model, dataset_id=dataset_id, reasons=record.reasons
        )
    request = TrainingRequest(
        model=record.model,
        run_id=run_id_for(record.dataset_id),
        trigger=trigger,
        dataset=DatasetPointer(
            id=record.dataset_id,
            bucket=deps.artifacts.bucket,
            key=artifact_key("datasets", record.dataset_id),
            format=record.format,
        ),
        spec_id=spec_ref.sha256,
    )
    arn = deps.launcher.start(execution_name(record.model, record.dataset_id), request)
    if record.execution_arn != arn:
        deps.store.set_execution(model, dataset_id, arn)
    return IngestResult(outcome="started", key=ref.key, model=model, dataset_id=dataset_id, execution_arn=arn)
