"""Ground-truth labels dropped at ``s3://<data bucket>/labels/<model>/<name>`` (CSV or JSONL).

Normalised into the artifact bucket's ``labels/<model>/date=…/`` log; a bad file is recorded as
rejected (with reasons) rather than retried forever.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from lockgate.adapters import wiring
from lockgate.domain.labels import LabelUpload
from lockgate.domain.s3_events import parse_s3_records
from lockgate.services.labels import ingest_label_file

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    results = []
    for obj in parse_s3_records(event):
        result = ingest_label_file(
            LabelUpload.from_s3(obj),
            uploads=wiring.uploads(),
            log=wiring.logs(),
            files=wiring.label_file_store(),
        )
        log = logger.info if result.status == "accepted" else logger.warning
        log("label file processed", extra=result.to_dict())
        results.append(result.to_dict())
    return {"results": results}
