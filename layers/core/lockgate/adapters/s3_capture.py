"""Inference capture and feedback written as JSON Lines objects in the artifact bucket.

Implements :class:`lockgate.ports.CaptureLog`; the keys and lines are ``lockgate.domain.capture``'s.
Sampling is per request (all of a request's instances or none), at ``CAPTURE_SAMPLING_RATE``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lockgate.adapters import aws
from lockgate.domain.capture import (
    CAPTURES,
    LABELS,
    LabelReceipt,
    Prediction,
    capture_lines,
    jsonl,
    label_lines,
    log_key,
)

logger = logging.getLogger(__name__)


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

    def capture(self, result: Prediction) -> str | None:
        """Record a request if sampled; returns the key written, or None.

        A failed write is logged, not raised: monitoring data is worth less than the caller's answer.
        """
        if self.sampling_rate <= 0.0 or self._rng() >= self.sampling_rate:
            return None
        moment = self._clock()
        lines = capture_lines(result, moment)
        key = log_key(CAPTURES, result.model, moment)
        try:
            self._put(key, jsonl(lines))
        except (ClientError, BotoCoreError):
            logger.exception("inference capture failed", extra={"key": key})
            return None
        return key

    def record_labels(self, model: str, labels: Sequence[Mapping[str, Any]]) -> LabelReceipt:
        """Append ground truth for earlier predictions (already checked by ``validate_labels``)."""
        moment = self._clock()
        lines = label_lines(labels, moment)
        key = log_key(LABELS, model, moment)
        self._put(key, jsonl(lines))
        return LabelReceipt(model=model, count=len(lines), key=key)
