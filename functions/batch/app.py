"""Batch scoring: S3 ``batch/<model>/<name>`` → plan → (inline, or a Step Functions Map) → merge.

Modes: an S3 event plans the file (one chunk is scored and merged at once; more start the batch
state machine), ``{"mode": "score_chunk", "job", "chunk"}`` scores one chunk, ``{"mode": "merge",
"job", "parts"}`` writes the output and announces ``Batch Scored``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import aws, wiring
from lockgate.adapters.s3_batch import S3BatchFiles
from lockgate.config import settings
from lockgate.domain import events
from lockgate.domain.batch import BatchJob, Chunk, Part, job_for
from lockgate.domain.s3_events import parse_s3_records
from lockgate.services.batch import merge, plan, score_chunk
from lockgate.serving.predictor import Predictor

logger = Logger()


@functools.cache
def predictor() -> Predictor:
    return Predictor(registry=wiring.model_registry(), artifacts=wiring.artifact_store())


def batch_files() -> S3BatchFiles:
    return wiring.batch_files()


def finish(job: BatchJob, parts: list[Part]) -> dict[str, Any]:
    summary = merge(job, parts, files=batch_files()).to_dict()
    wiring.publisher()(events.BATCH_SCORED, summary)
    return summary


def start(bucket: str, key: str) -> dict[str, Any]:
    model = key.split("/")[1]
    job = job_for(model, predictor().resolve(model).version, bucket, key)
    chunks = plan(job, files=batch_files())
    if len(chunks) <= 1:
        parts = [score_chunk(job, chunk, predictor=predictor(), files=batch_files()) for chunk in chunks]
        return finish(job, parts)
    settings().require("batch_state_machine_arn")
    execution = aws.client("stepfunctions").start_execution(
        stateMachineArn=settings().batch_state_machine_arn,
        input=json.dumps({"job": job.to_dict(), "chunks": [c.to_dict() for c in chunks]}),
    )
    return {"execution_arn": execution["executionArn"], "chunks": len(chunks)}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("mode") == "score_chunk":
        job, chunk = BatchJob.from_dict(event["job"]), Chunk.from_dict(event["chunk"])
        return score_chunk(job, chunk, predictor=predictor(), files=batch_files()).to_dict()
    if event.get("mode") == "merge":
        return finish(BatchJob.from_dict(event["job"]), [Part.from_dict(p) for p in event["parts"]])
    results = []
    for obj in parse_s3_records(event):
        results.append(start(obj.bucket, obj.key))
        logger.info("batch started", extra={"key": obj.key, "result": results[-1]})
    return results
