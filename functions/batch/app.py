"""Batch scoring: S3 ``batch/<model>/<name>`` → plan → (inline, or a Step Functions Map) → merge.

Modes: an S3 event plans the file (one chunk is scored and merged at once; more start the batch
state machine), ``{"mode": "score_chunk", "job", "chunk"}`` scores one chunk, ``{"mode": "merge",
"job", "parts"}`` writes the output and announces ``Batch Scored``.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import wiring
from lockgate.adapters.s3_batch import S3BatchFiles
from lockgate.domain.batch import BatchJob, Chunk, Part
from lockgate.domain.s3_events import parse_s3_records
from lockgate.services.batch import finish_batch, score_chunk, start_batch
from lockgate.serving.predictor import Predictor

logger = Logger()


@functools.cache
def predictor() -> Predictor:
    return Predictor(registry=wiring.model_registry(), artifacts=wiring.artifact_store())


def batch_files() -> S3BatchFiles:
    return wiring.batch_files()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("mode") == "score_chunk":
        job, chunk = BatchJob.from_dict(event["job"]), Chunk.from_dict(event["chunk"])
        return score_chunk(job, chunk, predictor=predictor(), files=batch_files()).to_dict()
    if event.get("mode") == "merge":
        job, parts = BatchJob.from_dict(event["job"]), [Part.from_dict(p) for p in event["parts"]]
        return finish_batch(job, parts, files=batch_files(), publisher=wiring.publisher()).to_dict()
    results = []
    for obj in parse_s3_records(event):
        started = start_batch(
            obj.bucket,
            obj.key,
            predictor=predictor(),
            files=batch_files(),
            launcher=wiring.batch_launcher(),
            publisher=wiring.publisher(),
        )
        results.append(started.to_dict())
        logger.info("batch started", extra={"key": obj.key, "result": results[-1]})
    return results
