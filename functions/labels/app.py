"""Ground-truth labels dropped at ``s3://<data bucket>/labels/<model>/<name>`` (CSV or JSONL).

Normalised into the artifact bucket's ``labels/<model>/date=…/`` log; a bad file is recorded as
rejected (``LABELS#`` item with reasons) rather than retried forever.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event
from lockgate.services import labels

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    results = []
    for record in S3Event(event).records:
        result = labels.ingest_label_file(
            labels.default_store(),
            bucket=record.s3.bucket.name,
            key=record.s3.get_object.key,
            etag=record.s3.get_object.etag or "",
            received_at=datetime.fromisoformat(record.event_time.replace("Z", "+00:00")),
        )
        log = logger.info if result.status == "accepted" else logger.warning
        log("label file processed", extra=result.to_dict())
        results.append(result.to_dict())
    return {"results": results}
