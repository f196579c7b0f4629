"""The events Lockgate puts on its EventBridge bus (source ``lockgate``): their detail types."""

from __future__ import annotations

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
