"""The adapters the routes use, built once per worker from the function's settings."""

from __future__ import annotations

import functools

from lockgate.adapters import wiring
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3_capture import S3CaptureLog
from lockgate.config import settings
from lockgate.serving.predictor import Predictor


def registry() -> DynamoDBModelRegistry:
    return wiring.model_registry()


@functools.cache
def predictor() -> Predictor:
    return Predictor(
        registry=wiring.model_registry(),
        artifacts=wiring.artifact_store(),
        max_instances=settings().max_batch_instances,
    )


def capture_log() -> S3CaptureLog:
    return wiring.capture_log()
