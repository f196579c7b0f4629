"""Ingest: S3 ``datasets/<model>/<name>`` uploads -> content-addressed dataset, record, training run."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from lockgate.adapters import aws, wiring
from lockgate.config import settings
from lockgate.domain.dataset import UploadRef
from lockgate.domain.s3_events import parse_s3_records
from lockgate.services.ingest import IngestDeps, ingest_upload

logger = Logger()


@functools.cache
def _deps() -> IngestDeps:
    return IngestDeps(
        store=wiring.dataset_store(),
        uploads=wiring.upload_source(),
        artifacts=wiring.artifact_store(),
        launcher=wiring.training_launcher(),
        publisher=wiring.publisher(),
    )


@functools.cache
def _process() -> tuple[IdempotencyConfig, Any]:
    """Idempotent per object version: bucket + key + versionId (or eTag) is the idempotency key."""
    cfg = settings()
    cfg.require("idempotency_table")
    persistence = DynamoDBPersistenceLayer(cfg.idempotency_table, boto3_client=aws.client("dynamodb"))
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, version_id || etag]", expires_after_seconds=86400
    )

    def process(upload: dict[str, Any]) -> dict[str, Any]:
        result = ingest_upload(UploadRef(**upload), _deps(), max_upload_bytes=settings().max_upload_bytes)
        logger.info("ingested", extra=result.to_dict())
        return result.to_dict()

    wrapped = idempotent_function(
        data_keyword_argument="upload", persistence_store=persistence, config=config
    )
    return config, wrapped(process)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    uploads = [UploadRef.from_object(obj) for obj in parse_s3_records(event)]
    if not uploads:  # the s3:TestEvent sent once when the notification is configured
        return {"results": []}
    config, process = _process()
    config.register_lambda_context(context)
    return {"results": [process(upload=upload.to_dict()) for upload in uploads]}
