"""The adapters the routes use, built once per worker from the function's settings."""

from __future__ import annotations

import functools

from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.adapters.s3_capture import S3CaptureLog
from lockgate.config import settings
from lockgate.serving.predictor import Predictor


@functools.cache
def registry() -> DynamoDBModelRegistry:
    settings().require("registry_table")
    return DynamoDBModelRegistry(settings().registry_table)


@functools.cache
def predictor() -> Predictor:
    settings().require("artifact_bucket")
    store = S3ArtifactStore(settings().artifact_bucket)
    return Predictor(registry=registry(), artifacts=store, max_instances=settings().max_batch_instances)


@functools.cache
def capture_log() -> S3CaptureLog:
    return S3CaptureLog(settings().artifact_bucket, sampling_rate=settings().capture_sampling_rate)
