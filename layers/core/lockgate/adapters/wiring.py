"""The adapters a function needs, built once per warm container from its settings.

Handlers are the composition root: they call these factories and hand the adapters to a
service. Each factory is cached (``functools.cache``), so a warm invocation reuses the adapter
and its boto3 client; each fails fast, naming the environment variable, when the function was
deployed without a setting the adapter needs. :func:`reset` forgets them all (tests, between
moto contexts). Nothing is built at import.

>>> registry = model_registry()  # doctest: +SKIP
>>> registry.get_version_by_alias("churn", "champion")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from lockgate.adapters.dynamodb.checks import DynamoDBCheckStore
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.dynamodb.labels import DynamoDBLabelFileStore
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.dynamodb.tokens import DynamoDBTokenStore
from lockgate.adapters.eventbridge import EventBridgePublisher
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.adapters.s3_batch import S3BatchFiles
from lockgate.adapters.s3_capture import S3CaptureLog
from lockgate.adapters.s3_logs import S3DatasetDrop, S3Logs, S3Uploads
from lockgate.adapters.s3_uploads import S3UploadSource
from lockgate.adapters.sfn_launchers import StepFunctionsBatchLauncher, StepFunctionsTrainingLauncher
from lockgate.adapters.sns import SnsAlerts
from lockgate.adapters.stepfunctions import StepFunctionsTaskTokens
from lockgate.config import Settings, settings

_FACTORIES: list[Any] = []
F = TypeVar("F", bound=Callable[..., Any])


def _cached(factory: F) -> F:
    cached = functools.cache(factory)
    _FACTORIES.append(cached)
    return cached  # type: ignore[return-value]


def reset() -> None:
    """Forget every adapter built so far (the next call builds it anew from the settings)."""
    for factory in _FACTORIES:
        factory.cache_clear()


def _settings(*required: str) -> Settings:
    cfg = settings()
    cfg.require(*required)
    return cfg


@_cached
def publisher() -> EventBridgePublisher:
    return EventBridgePublisher(settings().event_bus_name)


@_cached
def run_store() -> DynamoDBRunStore:
    return DynamoDBRunStore(_settings("registry_table").registry_table)


@_cached
def model_registry() -> DynamoDBModelRegistry:
    return DynamoDBModelRegistry(
        _settings("registry_table").registry_table,
        publisher=publisher(),
        runs=run_store(),
        task_tokens=StepFunctionsTaskTokens(),
    )


@_cached
def dataset_store() -> DynamoDBDatasetStore:
    return DynamoDBDatasetStore(_settings("registry_table").registry_table)


@_cached
def check_store() -> DynamoDBCheckStore:
    return DynamoDBCheckStore(_settings("registry_table").registry_table)


@_cached
def label_file_store() -> DynamoDBLabelFileStore:
    return DynamoDBLabelFileStore(_settings("registry_table").registry_table)


@_cached
def token_store() -> DynamoDBTokenStore:
    return DynamoDBTokenStore(_settings("registry_table").registry_table)


@_cached
def artifact_store() -> S3ArtifactStore:
    return S3ArtifactStore(_settings("artifact_bucket").artifact_bucket)


@_cached
def logs() -> S3Logs:
    return S3Logs(_settings("artifact_bucket").artifact_bucket)


@_cached
def capture_log() -> S3CaptureLog:
    cfg = _settings("artifact_bucket")
    return S3CaptureLog(cfg.artifact_bucket, sampling_rate=cfg.capture_sampling_rate)


@_cached
def batch_files() -> S3BatchFiles:
    return S3BatchFiles(_settings("artifact_bucket").artifact_bucket)


@_cached
def upload_source() -> S3UploadSource:
    return S3UploadSource()


@_cached
def uploads() -> S3Uploads:
    return S3Uploads()


@_cached
def dataset_drop() -> S3DatasetDrop:
    return S3DatasetDrop(_settings("data_bucket").data_bucket)


@_cached
def training_launcher() -> StepFunctionsTrainingLauncher:
    return StepFunctionsTrainingLauncher(_settings("training_state_machine_arn").training_state_machine_arn)


@_cached
def alerts() -> SnsAlerts:
    return SnsAlerts(settings().alerts_topic_arn)


@_cached
def batch_launcher() -> StepFunctionsBatchLauncher:
    # Not required up front: a file of one chunk never starts the state machine.
    return StepFunctionsBatchLauncher(settings().batch_state_machine_arn)
