"""Lockgate events on the EventBridge bus (source ``lockgate``)."""

from __future__ import annotations

import json
from typing import Any

from lockgate import aws
from lockgate.config import settings

SOURCE = "lockgate"

DATASET_ACCEPTED = "Dataset Accepted"
DATASET_REJECTED = "Dataset Rejected"
TRAINING_FAILED = "Training Failed"
MODEL_REGISTERED = "Model Registered"
MODEL_APPROVED = "Model Approved"
MODEL_REJECTED = "Model Rejected"
MODEL_PROMOTED = "Model Promoted"
BATCH_SCORED = "Batch Scored"
DRIFT_DETECTED = "Drift Detected"
PERFORMANCE_DEGRADED = "Performance Degraded"
RETRAINING_STARTED = "Retraining Started"

ALL = [
    DATASET_ACCEPTED,
    DATASET_REJECTED,
    TRAINING_FAILED,
    MODEL_REGISTERED,
    MODEL_APPROVED,
    MODEL_REJECTED,
    MODEL_PROMOTED,
    BATCH_SCORED,
    DRIFT_DETECTED,
    PERFORMANCE_DEGRADED,
    RETRAINING_STARTED,
]


def publish(detail_type: str, detail: dict[str, Any], *, bus_name: str | None = None) -> None:
    """Put one event on the Lockgate bus; a failed entry raises rather than vanishing."""
    bus = bus_name or settings().event_bus_name
    response = aws.client("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {detail_type!r}: {response['Entries']}")
