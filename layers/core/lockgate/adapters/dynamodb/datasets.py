"""Dataset records and ingestion of uploads (no pandas: the ingest function stays light).

Every upload to ``s3://<data>/datasets/<model>/<name>`` is identified by the sha256 of its bytes.
The registry table holds one ``DATASET#<sha>`` item per distinct content (written with a
conditional put, so the first delivery wins) and one ``UPLOAD#<upload id>`` item per upload event
(``new``, ``duplicate`` or ``rejected``). See ``docs/internals.md``.

Example
-------
>>> store = DynamoDBDatasetStore("registry")            # doctest: +SKIP
>>> [r.status for r in store.list("churn")]             # doctest: +SKIP
['accepted', 'duplicate']
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote_plus

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lockgate.adapters import aws, eventbridge
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.domain import events
from lockgate.domain.spec import ModelSpec, load_spec
from lockgate.errors import DatasetNotFoundError, DatasetRejectedError, SpecInvalidError

DatasetStatus = Literal["received", "accepted", "rejected", "duplicate"]
Format = Literal["csv", "csv.gz", "parquet"]

DATASET_PREFIX = "datasets/"
_MODEL_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CHUNK = 8 * 1024 * 1024


def now_iso() -> str:
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


@dataclass(frozen=True)
class UploadRef:
    """Which object an S3 notification is about (key already URL-decoded)."""

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
    def from_s3_record(cls, record: dict[str, Any]) -> UploadRef:
        """Build from one ``Records[]`` entry of an S3 notification; S3 URL-encodes keys (``+`` = space)."""
        s3 = record["s3"]
        obj = s3["object"]
        return cls(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            etag=str(obj.get("eTag", "")).strip('"'),
            version_id=str(obj.get("versionId") or ""),
            size=int(obj.get("size") or 0),
        )


@dataclass(frozen=True)
class IngestResult:
    """What ingest did with one upload: ``started``, ``duplicate``, ``rejected`` or ``ignored``."""

    outcome: Literal["started", "duplicate", "rejected", "ignored"]
    key: str
    model: str | None = None
    dataset_id: str | None = None
    execution_arn: str | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


class DatasetStore(Protocol):
    def get(self, model: str, dataset_id: str) -> DatasetRecord: ...

    def list(self, model: str) -> list[DatasetRecord]: ...

    def last_accepted(self, model: str, *, exclude: str | None = None) -> DatasetRecord | None: ...

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
        reasons: builtins.list[str],
        report_id: str | None = None,
        rows: int | None = None,
        columns: int | None = None,
    ) -> None: ...


_SER = TypeSerializer()
_DE = TypeDeserializer()
_RECORD_FIELDS = set(DatasetRecord.__dataclass_fields__)


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SER.serialize(v) for k, v in values.items() if v is not None and v != [] and v != ()}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DE.deserialize(v) for k, v in item.items()}


def _record(values: dict[str, Any]) -> DatasetRecord:
    kwargs = {k: v for k, v in values.items() if k in _RECORD_FIELDS}
    for name in ("size", "rows", "columns"):
        if kwargs.get(name) is not None:
            kwargs[name] = int(kwargs[name])
    kwargs["reasons"] = tuple(kwargs.get("reasons") or ())
    kwargs["parents"] = tuple(kwargs.get("parents") or ())
    return DatasetRecord(**kwargs)


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")


class DynamoDBDatasetStore:
    """Dataset records in the registry table (``MODEL#<m>`` / ``DATASET#<sha>`` and ``UPLOAD#<id>``)."""

    def __init__(self, table_name: str, *, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb_client

    @property
    def ddb(self) -> Any:
        return self._ddb or aws.client("dynamodb")

    @staticmethod
    def _key(model: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": f"MODEL#{model}"}, "sk": {"S": sk}}

    def get(self, model: str, dataset_id: str) -> DatasetRecord:
        item = self.ddb.get_item(
            TableName=self.table_name, Key=self._key(model, f"DATASET#{dataset_id}"), ConsistentRead=True
        ).get("Item")
        if not item:
            raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model)
        return _record(_from_item(item))

    def _query(self, model: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
            "ExpressionAttributeValues": {":pk": {"S": f"MODEL#{model}"}, ":sk": {"S": prefix}},
        }
        while True:
            page = self.ddb.query(**kwargs)
            items.extend(_from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(self, model: str) -> list[DatasetRecord]:
        """Every upload of ``model``, oldest first: distinct datasets plus duplicate and refused uploads."""
        records = [_record(i) for i in self._query(model, "DATASET#")]
        records += [_record(i) for i in self._query(model, "UPLOAD#") if i.get("status") != "new"]
        return sorted(records, key=lambda r: (r.created_at, r.source_key))

    def last_accepted(self, model: str, *, exclude: str | None = None) -> DatasetRecord | None:
        """The most recently accepted dataset (by acceptance time), optionally skipping one id."""
        accepted = [r for r in self.list(model) if r.status == "accepted" and r.dataset_id != exclude]
        return max(accepted, key=lambda r: r.updated_at or r.created_at) if accepted else None

    def record_upload(self, record: DatasetRecord) -> DatasetRecord:
        """Record an upload; first delivery of a content id wins.

        Returns the stored ``DATASET`` record when this upload owns the content id (first time, or a
        redelivery of the same upload event), or a ``duplicate`` record when the same bytes were
        already uploaded by another upload.
        """
        now = record.created_at or now_iso()
        dataset = replace(record, status="received", created_at=now, updated_at=now)
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={
                    **self._key(record.model, f"DATASET#{record.dataset_id}"),
                    **_to_item(dataset.to_dict()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            self._put_upload(dataset, "new")
            return dataset
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        existing = self.get(record.model, record.dataset_id)
        if existing.upload_id == record.upload_id:
            return existing  # the same event again: the caller may safely (re)start its execution
        duplicate = replace(
            record,
            status="duplicate",
            created_at=now,
            updated_at=now,
            reasons=(
                f"same bytes as {existing.source_key} "
                f"(dataset {existing.dataset_id[:12]}, {existing.status})",
            ),
        )
        self._put_upload(duplicate, "duplicate")
        return duplicate

    def record_rejected_upload(self, record: DatasetRecord) -> DatasetRecord:
        """Record an upload refused before its bytes were read (too large, bad key, no spec)."""
        now = record.created_at or now_iso()
        rejected = replace(record, status="rejected", created_at=now, updated_at=now)
        self._put_upload(rejected, "rejected")
        return rejected

    def _put_upload(self, record: DatasetRecord, status: str) -> None:
        values = {**record.to_dict(), "status": status}
        item = {**self._key(record.model, f"UPLOAD#{record.upload_id}"), **_to_item(values)}
        try:
            # First write wins: a redelivered event never flips an upload's recorded status.
            self.ddb.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def _update(
        self, model: str, dataset_id: str, fields: dict[str, Any], *, condition: str | None = None
    ) -> None:
        fields = {**fields, "updated_at": now_iso()}
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": _SER.serialize(v) for k, v in fields.items()}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(model, f"DATASET#{dataset_id}"),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConditionExpression": condition or "attribute_exists(pk)",
        }
        try:
            self.ddb.update_item(**kwargs)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise DatasetNotFoundError(f"model {model} has no dataset {dataset_id}", model=model) from exc
            raise

    def set_execution(self, model: str, dataset_id: str, execution_arn: str) -> None:
        self._update(model, dataset_id, {"execution_arn": execution_arn})

    def mark_accepted(self, model: str, dataset_id: str, *, rows: int, columns: int, report_id: str) -> None:
        self._update(
            model,
            dataset_id,
            {"status": "accepted", "rows": rows, "columns": columns, "report_id": report_id, "reasons": []},
        )

    def mark_rejected(
        self,
        model: str,
        dataset_id: str,
        *,
        reasons: builtins.list[str],
        report_id: str | None = None,
        rows: int | None = None,
        columns: int | None = None,
    ) -> None:
        fields: dict[str, Any] = {"status": "rejected", "reasons": reasons}
        for name, value in (("report_id", report_id), ("rows", rows), ("columns", columns)):
            if value is not None:
                fields[name] = value
        self._update(model, dataset_id, fields)


# ---------------------------------------------------------------------------------------- ingest


@dataclass(frozen=True)
class IngestDeps:
    """What ingest talks to; built once per warm container by the handler."""

    store: DatasetStore
    artifacts: S3ArtifactStore
    state_machine_arn: str
    max_upload_bytes: int
    s3: Any = None
    stepfunctions: Any = None
    bus_name: str | None = None


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
    if not _MODEL_RE.match(model):
        return None, f"{model!r} is not a model name (lowercase letters, digits, dashes); key {key!r}"
    return model, None


def execution_name(model: str, dataset_id: str) -> str:
    """Deterministic (<= 80 chars), so Step Functions itself refuses a second start for the same data."""
    return f"{model}-{dataset_id[:16]}"


def run_id_for(dataset_id: str) -> str:
    return f"r-{dataset_id[:20]}"


def _sha256_of_object(s3: Any, ref: UploadRef) -> tuple[str, bytes, int]:
    """Stream the object through sha256 (never the whole file in memory); returns digest, head, size."""
    kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        kwargs["VersionId"] = ref.version_id
    body = s3.get_object(**kwargs)["Body"]
    digest = hashlib.sha256()
    head = b""
    size = 0
    for chunk in iter(lambda: body.read(_CHUNK), b""):
        if not head:
            head = chunk[:16]
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), head, size


def _load_model_spec(s3: Any, bucket: str, model: str) -> ModelSpec:
    try:
        text = s3.get_object(Bucket=bucket, Key=f"specs/{model}.yaml")["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            raise DatasetRejectedError(
                f"no spec for model {model}; upload specs/{model}.yaml first",
                reasons=[f"no spec for model {model}; upload specs/{model}.yaml first"],
            ) from exc
        raise
    try:
        return load_spec(text)
    except SpecInvalidError as exc:
        reason = f"spec specs/{model}.yaml is invalid: {exc.message}"
        raise DatasetRejectedError(reason, reasons=[reason]) from exc


def _reject(deps: IngestDeps, ref: UploadRef, model: str | None, reason: str, **extra: Any) -> IngestResult:
    if model:
        deps.store.record_rejected_upload(
            DatasetRecord(
                model=model,
                dataset_id=extra.get("dataset_id", ""),
                source_bucket=ref.bucket,
                source_key=ref.key,
                status="rejected",
                size=ref.size,
                reasons=(reason,),
                upload_id=ref.upload_id,
            )
        )
    eventbridge.publish(
        events.DATASET_REJECTED,
        {
            "model": model,
            "source_bucket": ref.bucket,
            "source_key": ref.key,
            "reasons": [reason],
            "stage": "ingest",
        },
        bus_name=deps.bus_name,
    )
    return IngestResult(outcome="rejected", key=ref.key, model=model, reasons=(reason,))


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _provenance(metadata: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """What started this upload (``upload`` or ``drift``) and the datasets it was built from.

    A retraining dataset written by the drift check carries ``lockgate-trigger: drift`` and
    ``lockgate-parents`` (comma-separated dataset ids) as object metadata; anything else is a
    person's upload. Malformed values are ignored rather than trusted.
    """
    trigger = "drift" if metadata.get("lockgate-trigger") == "drift" else "upload"
    parents = tuple(p for p in metadata.get("lockgate-parents", "").split(",") if _SHA256_RE.match(p))
    return trigger, parents


def _start(deps: IngestDeps, record: DatasetRecord, spec_id: str, trigger: str = "upload") -> str:
    name = execution_name(record.model, record.dataset_id)
    payload = {
        "model": record.model,
        "run_id": run_id_for(record.dataset_id),
        "trigger": trigger,
        "dataset": {
            "id": record.dataset_id,
            "bucket": deps.artifacts.bucket,
            "key": f"datasets/{record.dataset_id}",
            "format": record.format,
        },
        "spec": {"id": spec_id},
    }
    sfn = deps.stepfunctions or aws.client("stepfunctions")
    try:
        arn: str = sfn.start_execution(
            stateMachineArn=deps.state_machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]
        return arn
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        # Started by an earlier delivery of this upload; the execution ARN is derived from its name.
        return deps.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def ingest_upload(ref: UploadRef, deps: IngestDeps) -> IngestResult:
    """Identify one uploaded object by content, record it and start training for new content.

    Refusals (bad key, too large, no or invalid spec) are recorded and announced, never raised:
    a retry could not fix them. Infrastructure errors raise so the trigger retries.
    """
    model, problem = parse_dataset_key(ref.key)
    if problem:
        # A key with a valid model segment (e.g. ``datasets/m/../x``) is still recorded under it.
        first = ref.key[len(DATASET_PREFIX) :].split("/")[0] if ref.key.startswith(DATASET_PREFIX) else ""
        return _reject(deps, ref, first if _MODEL_RE.match(first) else None, problem)
    assert model is not None
    s3 = deps.s3 or aws.client("s3")
    head_kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        head_kwargs["VersionId"] = ref.version_id
    try:
        head = s3.head_object(**head_kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NoSuchVersion"):
            return IngestResult(
                outcome="ignored", key=ref.key, model=model, reasons=("object no longer exists",)
            )
        raise
    size = int(head["ContentLength"])
    ref = replace(ref, size=size, etag=ref.etag or str(head.get("ETag", "")).strip('"'))
    if size > deps.max_upload_bytes:
        return _reject(
            deps,
            ref,
            model,
            f"file is {size:,} bytes, over the {deps.max_upload_bytes:,}-byte upload limit; split it",
        )
    if size == 0:
        return _reject(deps, ref, model, "the file is empty")
    try:
        spec = _load_model_spec(s3, ref.bucket, model)
    except DatasetRejectedError as exc:
        return _reject(deps, ref, model, exc.message)
    dataset_id, first_bytes, size = _sha256_of_object(s3, ref)
    fmt = detect_format(first_bytes, ref.key)
    copy_source: dict[str, str] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        copy_source["VersionId"] = ref.version_id
    # Server-side copy of the exact bytes we hashed (pinned by version); validation re-verifies the hash.
    s3.copy_object(
        Bucket=deps.artifacts.bucket,
        Key=f"datasets/{dataset_id}",
        CopySource=copy_source,
        MetadataDirective="REPLACE",
        Metadata={"sha256": dataset_id},
    )
    spec_ref = deps.artifacts.put_json("specs", spec.to_dict())
    trigger, parents = _provenance({k.lower(): v for k, v in (head.get("Metadata") or {}).items()})
    record = deps.store.record_upload(
        DatasetRecord(
            model=model,
            dataset_id=dataset_id,
            source_bucket=ref.bucket,
            source_key=ref.key,
            status="received",
            size=size,
            format=fmt,
            upload_id=ref.upload_id,
            parents=parents,
        )
    )
    if record.status == "duplicate":
        return IngestResult(
            outcome="duplicate", key=ref.key, model=model, dataset_id=dataset_id, reasons=record.reasons
        )
    arn = _start(deps, record, spec_ref.sha256, trigger)
    if record.execution_arn != arn:
        deps.store.set_execution(model, dataset_id, arn)
    return IngestResult(outcome="started", key=ref.key, model=model, dataset_id=dataset_id, execution_arn=arn)
