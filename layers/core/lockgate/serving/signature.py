"""What a served version accepts, and checking a request against it before the model sees it.

The signature is recorded at training (``docs/internals.md`` "Model signature"). Conventions a
caller can rely on:

- The body is a JSON object ``{"instances": [{feature: value, ...}, ...]}`` with 1 to
  ``MAX_BATCH_INSTANCES`` objects (more is a 413).
- Every signature feature must be present in every instance; ``null`` means "missing" (fed as NaN or
  the empty string, which the graph imputes). Keys the signature does not name are ignored, as
  MLflow's schema enforcement drops extra columns, so a client may send a whole record.
- Number features take JSON numbers only: not booleans, not numeric strings (``"42"`` is refused, so
  a mis-typed client is found, not silently coerced); NaN/Infinity and values beyond float32 are refused.
- String features take strings; JSON numbers are cast with ``str()`` (categories such as ``1/2/3``
  are common), booleans are refused (``True``/``true``/``1`` would be ambiguous).
- Objects and arrays as values are refused. Unknown categories reach the model, whose one-hot
  encoder ignores them.

Light on purpose: numpy only, never pandas (the API function imports this).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lockgate.errors import InvalidRequestError, ModelServingError, PayloadTooLargeError

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_STRING_LENGTH = 4096
FLOAT32_MAX = float(np.finfo(np.float32).max)

Scalar = float | str | None


# --------------------------------------------------------------------------- signature


@dataclass(frozen=True)
class Feature:
    name: str
    type: str  # "number" | "string"


@dataclass(frozen=True)
class Signature:
    """What a version accepts and returns, as recorded at training."""

    task: str
    inputs: tuple[Feature, ...]
    classes: tuple[Any, ...] = ()
    label_type: str = "string"
    target: str = ""

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            inputs = tuple(Feature(str(f["name"]), str(f["type"])) for f in data["inputs"])
            task = str(data["task"])
        except (KeyError, TypeError) as exc:
            raise ModelServingError(f"the version's signature is malformed: {exc!r}") from exc
        bad = [f.name for f in inputs if f.type not in ("number", "string")]
        if bad or not inputs:
            raise ModelServingError(f"the version's signature has unsupported inputs: {bad or 'none'}")
        return cls(
            task=task,
            inputs=inputs,
            classes=tuple(data.get("classes") or ()),
            label_type=str(data.get("label_type", "string")),
            target=str(data.get("target", "")),
        )


# --------------------------------------------------------------------------- request validation


def parse_json_body(raw: bytes | str | None) -> Any:
    """Parse a request body, turning every way it can be broken into a 400 that says how."""
    if raw is None or len(raw) == 0:
        raise InvalidRequestError('the request body is empty; send a JSON object {"instances": [...]}')
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidRequestError("the request body is not UTF-8 text") from exc
    except RecursionError as exc:
        raise InvalidRequestError("the request body is nested too deeply") from exc
    except ValueError as exc:
        raise InvalidRequestError(f"the request body is not valid JSON: {exc}") from exc


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(
            f"{where} must be a number or null, got {_kind(value)}", field=where, expected="number"
        )
    try:
        number = float(value)
    except OverflowError as exc:
        raise InvalidRequestError(f"{where} is out of range", field=where) from exc
    if not math.isfinite(number):
        raise InvalidRequestError(f"{where} must be finite, got {value}", field=where)
    if abs(number) > FLOAT32_MAX:
        raise InvalidRequestError(f"{where} is out of range (|x| > {FLOAT32_MAX:.3g})", field=where)
    return number


def _string(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise InvalidRequestError(f"{where} is longer than {MAX_STRING_LENGTH} characters", field=where)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(
            f"{where} must be a string or null, got {_kind(value)}", field=where, expected="string"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(f"{where} must be finite, got {value}", field=where)
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def validate_instances(
    body: Any, signature: Signature, *, max_instances: int = 1000
) -> list[dict[str, Scalar]]:
    """Check a parsed body against a signature; return one clean ``{feature: value}`` per instance.

    Raises
    ------
    InvalidRequestError
        naming the instance index and feature at fault.
    PayloadTooLargeError
        when there are more than ``max_instances`` instances.

    Examples
    --------
    >>> sig = Signature(task="regression", inputs=(Feature("x", "number"),))
    >>> validate_instances({"instances": [{"x": 1}]}, sig)
    [{'x': 1.0}]
    """
    if not isinstance(body, dict):
        raise InvalidRequestError(
            f'the request body must be a JSON object {{"instances": [...]}}, got {_kind(body)}'
        )
    instances = body.get("instances")
    if not isinstance(instances, list):
        raise InvalidRequestError(
            '"instances" must be a list of objects', field="instances", got=_kind(instances)
        )
    if not instances:
        raise InvalidRequestError('"instances" is empty; send at least one instance', field="instances")
    if len(instances) > max_instances:
        raise PayloadTooLargeError(
            f"{len(instances)} instances exceed the limit of {max_instances} per request; "
            "split the batch or use batch scoring",
            limit=max_instances,
            received=len(instances),
        )
    clean: list[dict[str, Scalar]] = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise InvalidRequestError(
                f"instances[{index}] must be an object, got {_kind(instance)}", field=f"instances[{index}]"
            )
        row: dict[str, Scalar] = {}
        for feature in signature.inputs:
            where = f"instances[{index}].{feature.name}"
            if feature.name not in instance:
                raise InvalidRequestError(
                    f"instances[{index}] is missing feature '{feature.name}'",
                    field=where,
                    instance=index,
                    feature=feature.name,
                )
            value = instance[feature.name]
            if feature.type == "number":
                row[feature.name] = _number(value, where)
            else:
                row[feature.name] = _string(value, where)
        clean.append(row)
    return clean


def build_feeds(
    instances: Sequence[Mapping[str, Scalar]],
    signature: Signature,
    dtypes: Mapping[str, Any] | None = None,
    input_names: Mapping[str, str] | None = None,
) -> dict[str, NDArray[Any]]:
    """One ``[n, 1]`` column per feature: float (NaN = missing) or object strings ("" = missing),
    keyed by the graph's input name for the feature (``input_names``; the feature name by default)."""
    feeds: dict[str, NDArray[Any]] = {}
    for feature in signature.inputs:
        values = [row[feature.name] for row in instances]
        if feature.type == "number":
            dtype = (dtypes or {}).get(feature.name, np.float32)
            column = np.array([math.nan if v is None else v for v in values], dtype=dtype)
        else:
            column = np.array(["" if v is None else v for v in values], dtype=object)
        feeds[(input_names or {}).get(feature.name, feature.name)] = column.reshape(-1, 1)
    return feeds


def parse_version_param(value: str | None) -> int | None:
    """``?version=N``: a positive integer, or a 400 saying so."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,8}", value) or int(value) < 1:
        raise InvalidRequestError(f"version must be a positive integer, got {value!r}", field="version")
    return int(value)
