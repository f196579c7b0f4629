"""Inference capture and ground-truth feedback as values: their object keys, lines and rules.

Capture (``docs/internals.md`` "Inference capture"): a sampled request becomes one object
``captures/<model>/date=YYYY-MM-DD/<iso>-<uuid>.jsonl`` holding one line per instance, so the drift
check reads a request's inputs and outputs together and partitions prune by date.

Feedback (``labels/...jsonl``): ``{"prediction_id", "label", "timestamp"}`` per line, joined to
captures by prediction id. Feedback input is validated strictly (4xx on anything malformed). Where
the lines are written is the ``lockgate.ports.CaptureLog`` adapter's business; what they say is here.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lockgate.errors import InvalidRequestError, PayloadTooLargeError

MAX_LABELS = 1000
MAX_LABEL_LENGTH = 256
PREDICTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CAPTURES = "captures"
LABELS = "labels"


class Prediction(Protocol):
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
    """What ``POST /models/<model>/feedback`` answers: how many labels were kept, and where."""

    model: str
    count: int
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "accepted": self.count, "key": self.key}


def iso(moment: datetime) -> str:
    """Millisecond ISO-8601 with a ``Z``: the timestamp every capture and label line carries."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_key(prefix: str, model: str, moment: datetime) -> str:
    """``<prefix>/<model>/date=YYYY-MM-DD/<iso>-<uuid>.jsonl``: unique, sortable, date-partitioned."""
    stamp = moment.strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    return f"{prefix}/{model}/date={moment:%Y-%m-%d}/{stamp}-{uuid.uuid4().hex}.jsonl"


def jsonl(lines: Sequence[Mapping[str, Any]]) -> bytes:
    """JSON Lines, compact, refusing NaN (a reader in another language would choke on it)."""
    return "".join(json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n" for line in lines).encode()


def capture_lines(result: Prediction, moment: datetime) -> list[dict[str, Any]]:
    """One line per instance of a request: its id, inputs, prediction and probabilities."""
    timestamp = iso(moment)
    probabilities: list[dict[str, float] | None] = (
        list(result.probabilities) if result.probabilities is not None else [None] * len(result.predictions)
    )
    return [
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


def label_lines(labels: Sequence[Mapping[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """One line per label, all stamped with the moment they were received."""
    timestamp = iso(moment)
    return [
        {"prediction_id": x["prediction_id"], "label": x["label"], "timestamp": timestamp} for x in labels
    ]


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
