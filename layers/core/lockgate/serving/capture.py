"""Inference capture and ground-truth feedback, as JSON Lines in the artifact bucket.

Capture (``docs/internals.md`` "Inference capture"): a sampled request becomes one object
``captures/<model>/date=YYYY-MM-DD/<iso>-<uuid>.jsonl`` holding one line per instance, so the drift
check reads a request's inputs and outputs together and partitions prune by date. Sampling is per
request (all of a request's instances or none), at ``CAPTURE_SAMPLING_RATE``.

Feedback (``labels/...jsonl``): ``{"prediction_id", "label", "timestamp"}`` per line, joined to
captures by prediction id. Feedback input is validated strictly (4xx on anything malformed).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from lockgate.adapters import aws
from lockgate.errors import InvalidRequestError, PayloadTooLargeError

logger = logging.getLogger(__name__)

MAX_LABELS = 1000
MAX_LABEL_LENGTH = 256
PREDICTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CapturedPrediction(Protocol):
    """What a capture needs from a prediction (``lockgate.serving.predictor.PredictionResult`` has it)."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def predictions(self) -> list[Any]: ...
    @property
    def probabilities(self) -> list[dict[str, float]] | None: ...
    @property
    def prediction_ids(self) -> list[str]: ...
    @property
    def instances(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class LabelReceipt:
    model: str
    count: int
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "accepted": self.count, "key": self.key}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_key(prefix: str, model: str, moment: datetime) -> str:
    """``<prefix>/<model>/date=YYYY-MM-DD/<iso>-<uuid>.jsonl``: unique, sortable, date-partitioned."""
    stamp = moment.strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    return f"{prefix}/{model}/date={moment:%Y-%m-%d}/{stamp}-{uuid.uuid4().hex}.jsonl"


def _jsonl(lines: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n" for line in lines).encode()


def validate_labels(body: Any, *, max_labels: int = MAX_LABELS) -> list[dict[str, Any]]:
    """``{"labels": [{"prediction_id": "...", "label": <string|number>}, ...]}`` → the clean list.

    A label is a string (at most 256 characters) or a finite number — the shapes a class label or a
    regression target takes; booleans, null, objects and arrays are refused.
    """
    if not isinstance(body, dict) or not isinstance(body.get("labels"), list):
        raise InvalidRequestError(
            'the request body must be a JSON object {"labels": [{"prediction_id": ..., "label": ...}]}'
        )
    labels = body["labels"]
    if not labels:
        raise InvalidRequestError('"labels" is empty; send at least one label', field="labels")
    if len(labels) > max_labels:
        raise PayloadTooLargeError(
            f"{len(labels)} labels exceed the limit of {max_labels} per request", limit=max_labels
        )
    clean: list[dict[str, Any]] = []
    for index, entry in enumerate(labels):
        where = f"labels[{index}]"
        if not isinstance(entry, dict):
            raise InvalidRequestError(f"{where} must be an object", field=where)
        pid = entry.get("prediction_id")
        if not isinstance(pid, str) or not PREDICTION_ID.match(pid):
            raise InvalidRequestError(
                f"{where}.prediction_id must be the id returned by predict (1-64 letters, digits, _ or -)",
                field=f"{where}.prediction_id",
            )
        if "label" not in entry:
            raise InvalidRequestError(f"{where} is missing 'label'", field=f"{where}.label")
        clean.append({"prediction_id": pid, "label": _label(entry["label"], f"{where}.label")})
    return clean


def _label(value: Any, where: str) -> str | int | float:
    if isinstance(value, str):
        if not value or len(value) > MAX_LABEL_LENGTH:
            raise InvalidRequestError(f"{where} must be 1-{MAX_LABEL_LENGTH} characters", field=where)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"{where} must be a string or a number", field=where)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(f"{where} must be finite", field=where)
    if isinstance(value, int) and abs(value) > 2**53:
        raise InvalidRequestError(f"{where} is out of range", field=where)
    return value


class S3CaptureLog:
    """Writes captures and labels to the artifact bucket.

    Parameters
    ----------
    sampling_rate
        fraction of requests captured (0 to 1).
    rng, clock
        injectable for tests (seeded sampling, fixed time).
    """

    def __init__(
        self,
        bucket: str,
        *,
        sampling_rate: float = 1.0,
        s3_client: Any | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 0.0 <= sampling_rate <= 1.0:
            raise ValueError(f"sampling_rate must be within [0, 1], got {sampling_rate}")
        self.bucket = bucket
        self.sampling_rate = sampling_rate
        self._s3 = s3_client
        self._rng = rng
        self._clock = clock

    @property
    def s3(self) -> Any:
        return self._s3 or aws.client("s3")

    def _put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson")

    def capture(self, result: CapturedPrediction) -> str | None:
        """Record a request if sampled; returns the key written, or None.

        A failed write is logged, not raised: monitoring data is worth less than the caller's answer.
        """
        if self.sampling_rate <= 0.0 or self._rng() >= self.sampling_rate:
            return None
        moment = self._clock()
        timestamp = _iso(moment)
        probabilities: list[dict[str, float] | None] = (
            list(result.probabilities)
            if result.probabilities is not None
            else [None] * len(result.predictions)
        )
        lines = [
            {
                "prediction_id": pid,
                "model": result.model,
                "version": result.version,
                "timestamp": timestamp,
                "inputs": inputs,
                "prediction": prediction,
                "probabilities": probs,
            }
            for pid, inputs, prediction, probs in zip(
                result.prediction_ids, result.instances, result.predictions, probabilities, strict=True
            )
        ]
        key = log_key("captures", result.model, moment)
        try:
            self._put(key, _jsonl(lines))
        except (ClientError, BotoCoreError):
            logger.exception("inference capture failed", extra={"key": key})
            return None
        return key

    def record_labels(self, model: str, labels: Sequence[dict[str, Any]]) -> LabelReceipt:
        """Append ground truth for earlier predictions (already validated by :func:`validate_labels`)."""
        moment = self._clock()
        timestamp = _iso(moment)
        lines = [
            {"prediction_id": x["prediction_id"], "label": x["label"], "timestamp": timestamp} for x in labels
        ]
        key = log_key("labels", model, moment)
        self._put(key, _jsonl(lines))
        return LabelReceipt(model=model, count=len(lines), key=key)
