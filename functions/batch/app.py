"""Batch scoring: S3 ``batch/<model>/<name>`` → plan → (inline, or a Step Functions Map) → merge.

Modes: an S3 event plans the file (one chunk is scored and merged at once; more start the batch
state machine), ``{"mode": "score_chunk", "job", "chunk"}`` scores one chunk, ``{"mode": "merge",
"job", "parts"}`` writes the output and announces ``Batch Scored``.
"""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import aws, eventbridge
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.domain import events
from lockgate.services.batch import BatchJob, job_for, merge, plan, score_chunk
from lockgate.serving.predictor import Predictor

logger = Logger()


@functools.cache
def predictor() -> Predictor:
    return Predictor(
        registry=DynamoDBModelRegistry(settings().registry_table),
        artifacts=S3ArtifactStore(settings().artifact_bucket),
    )


def finish(job: BatchJob, parts: list[dict[str, Any]]) -> dict[str, Any]:
    summary = merge(job, parts)
    eventbridge.publish(events.BATCH_SCORED, summary)
    return summary


def start(bucket: str, key: str) -> dict[str, Any]:
    model = key.split("/")[1]
    job = job_for(model, predictor().resolve(model).version, bucket, key)
    chunks = plan(job)
    if len(chunks) <= 1:
        return finish(job, [score_chunk(job, chunk, predictor()) for chunk in chunks])
    settings().require("batch_state_machine_arn")
    execution = aws.client("stepfunctions").start_execution(
        stateMachineArn=settings().batch_state_machine_arn,
        input=json.dumps({"job": job.to_dict(), "chunks": chunks}),
    )
    return {"execution_arn": execution["executionArn"], "chunks": len(chunks)}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("mode") == "score_chunk":
        return score_chunk(BatchJob(**event["job"]), event["chunk"], predictor())
    if event.get("mode") == "merge":
        return finish(BatchJob(**event["job"]), event["parts"])
    results = []
    for record in event.get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])
        results.append(start(record["s3"]["bucket"]["name"], key))
        logger.info("batch started", extra={"key": key, "result": results[-1]})
    return results
