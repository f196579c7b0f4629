"""Online inference on onnxruntime alone: strict input validation, cached sessions, fresh aliases.

This module is on the serving path: it imports numpy and onnxruntime (lazily) and nothing heavier.
Preprocessing lives inside the ONNX graph, so a request is validated against the version's
signature (``docs/internals.md`` "Model signature"), turned into one ``[n, 1]`` column per feature
and run. Conventions a caller can rely on:

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
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from lockgate.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ModelServingError,
    PayloadTooLargeError,
    VersionConflictError,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

DEFAULT_ALIAS = "champion"
ALIAS_TTL_SECONDS = 5.0
SESSION_CACHE_SIZE = 4
MAX_STRING_LENGTH = 4096
FLOAT32_MAX = float(np.finfo(np.float32).max)
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ALIAS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SERVABLE_STATUS = "Approved"

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


# --------------------------------------------------------------------------- sessions

_ONNX_DTYPES: dict[str, Any] = {"tensor(float)": np.float32, "tensor(double)": np.float64}


@dataclass
class LoadedModel:
    """An onnxruntime session with what is needed to feed it."""

    session: Any
    number_dtypes: dict[str, Any] = field(default_factory=dict)
    input_names: dict[str, str] = field(default_factory=dict)  # feature -> graph input name


_SESSIONS: OrderedDict[tuple[str, int, str], LoadedModel] = OrderedDict()
_SESSIONS_LOCK = threading.Lock()


def clear_session_cache() -> None:
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


def _open_session(model_bytes: bytes, signature: Signature) -> LoadedModel:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Lambda gives a fraction of a vCPU per GB: extra threads only add scheduling overhead.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad graph
        raise ModelServingError(f"the model artifact could not be loaded by onnxruntime: {exc}") from exc
    # Graph inputs follow the signature's order (they were declared in it); skl2onnx turns names
    # that are not identifiers into ones ("annual score" -> "annual_score"), so match by position.
    graph_inputs = list(session.get_inputs())
    if len(graph_inputs) != len(signature.inputs):
        raise ModelServingError(
            "the model graph's inputs do not match its signature",
            graph=[i.name for i in graph_inputs],
            signature=[f.name for f in signature.inputs],
        )
    dtypes: dict[str, Any] = {}
    names: dict[str, str] = {}
    for feature, graph_input in zip(signature.inputs, graph_inputs, strict=True):
        onnx_type = graph_input.type
        names[feature.name] = graph_input.name
        if feature.type == "number":
            if onnx_type not in _ONNX_DTYPES:
                raise ModelServingError(f"graph input {feature.name!r} is {onnx_type}, not a float tensor")
            dtypes[feature.name] = _ONNX_DTYPES[onnx_type]
        elif onnx_type != "tensor(string)":
            raise ModelServingError(f"graph input {feature.name!r} is {onnx_type}, not a string tensor")
    return LoadedModel(session=session, number_dtypes=dtypes, input_names=names)


# --------------------------------------------------------------------------- predictor


class ServedVersion(Protocol):
    """The part of ``lockgate.adapters.dynamodb.registry.ModelVersion`` serving reads."""

    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def model_artifact(self) -> str: ...
    @property
    def signature(self) -> dict[str, Any]: ...


class VersionSource(Protocol):
    """The registry reads serving needs (``DynamoDBModelRegistry`` satisfies it)."""

    def get_model_version(self, model: str, version: int) -> Any: ...

    def get_version_by_alias(self, model: str, alias: str) -> Any: ...


class ModelBytes(Protocol):
    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes: ...


def new_prediction_id() -> str:
    """32 hex chars: 48-bit millisecond time then 80 random bits, so ids sort by time (ULID-like)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
class PredictionResult:
    model: str
    version: int
    predictions: list[Any]
    probabilities: list[dict[str, float]] | None
    prediction_ids: list[str]
    instances: list[dict[str, Scalar]]

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "version": self.version,
            "predictions": self.predictions,
            "prediction_ids": self.prediction_ids,
        }
        if self.probabilities is not None:
            body["probabilities"] = self.probabilities
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))


class Predictor:
    """Resolve a version, load its ONNX model by content id (hash verified), validate, predict.

    Parameters
    ----------
    registry
        reads versions and aliases (``DynamoDBModelRegistry``).
    artifacts
        content-addressed store; ``get_bytes`` raises ``IntegrityError`` on a hash mismatch, so a
        tampered model is never turned into a session.
    alias_ttl
        seconds an alias resolution is reused; alias moves take effect within this delay.
    """

    def __init__(
        self,
        *,
        registry: VersionSource,
        artifacts: ModelBytes,
        max_instances: int = 1000,
        alias_ttl: float = ALIAS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.artifacts = artifacts
        self.max_instances = max_instances
        self.alias_ttl = alias_ttl
        self._clock = clock
        self._aliases: dict[tuple[str, str], tuple[float, Any]] = {}

    # -- resolution
    def resolve(self, model: str, *, version: int | None = None, alias: str | None = None) -> Any:
        if not MODEL_NAME.match(model):
            raise ModelNotFoundError(f"model {model!r} does not exist", model=model)
        if version is not None and alias is not None:
            raise InvalidRequestError("pass either version or alias, not both")
        if version is not None:
            found = self.registry.get_model_version(model, version)
        else:
            name = DEFAULT_ALIAS if alias is None else alias
            if not ALIAS_NAME.match(name):
                raise InvalidRequestError(f"alias {name!r} is not a valid alias name", field="alias")
            found = self._by_alias(model, name)
        if found.status != SERVABLE_STATUS:
            raise VersionConflictError(
                f"version {found.version} of {model} is {found.status}; only Approved versions are served",
                model=model,
                version=found.version,
                status=found.status,
            )
        return found

    def _by_alias(self, model: str, alias: str) -> Any:
        now = self._clock()
        cached = self._aliases.get((model, alias))
        if cached and cached[0] > now:
            return cached[1]
        found = self.registry.get_version_by_alias(model, alias)
        self._aliases[(model, alias)] = (now + self.alias_ttl, found)
        return found

    # -- loading
    def load(self, served: ServedVersion) -> tuple[LoadedModel, Signature]:
        signature = Signature.from_dict(served.signature)
        key = (served.model, int(served.version), served.model_artifact)
        with _SESSIONS_LOCK:
            loaded = _SESSIONS.get(key)
            if loaded is not None:
                _SESSIONS.move_to_end(key)
                return loaded, signature
        data = self.artifacts.get_bytes("models", served.model_artifact, ext="onnx")
        loaded = _open_session(data, signature)
        with _SESSIONS_LOCK:
            _SESSIONS[key] = loaded
            while len(_SESSIONS) > SESSION_CACHE_SIZE:
                _SESSIONS.popitem(last=False)
        return loaded, signature

    # -- predicting
    def predict(
        self, model: str, body: Any, *, version: int | None = None, alias: str | None = None
    ) -> PredictionResult:
        """Validate ``body`` against the resolved version's signature and run the model."""
        served = self.resolve(model, version=version, alias=alias)
        loaded, signature = self.load(served)
        instances = validate_instances(body, signature, max_instances=self.max_instances)
        feeds = build_feeds(instances, signature, loaded.number_dtypes, loaded.input_names)
        names = [o.name for o in loaded.session.get_outputs()]
        outputs = dict(zip(names, loaded.session.run(None, feeds), strict=True))
        if signature.is_classifier:
            predictions, probabilities = _classification(outputs, signature, len(instances))
        else:
            predictions, probabilities = _regression(outputs, len(instances)), None
        return PredictionResult(
            model=served.model,
            version=int(served.version),
            predictions=predictions,
            probabilities=probabilities,
            prediction_ids=[new_prediction_id() for _ in instances],
            instances=instances,
        )


def _classification(
    outputs: Mapping[str, Any], signature: Signature, n: int
) -> tuple[list[Any], list[dict[str, float]]]:
    if "label" not in outputs or "probabilities" not in outputs:
        raise ModelServingError(f"classifier outputs are {sorted(outputs)}; expected label and probabilities")
    classes = signature.classes
    by_text = {str(c): c for c in classes}
    labels = np.asarray(outputs["label"]).reshape(-1)
    probs = np.asarray(outputs["probabilities"], dtype=np.float64)
    if probs.shape != (n, len(classes)) or labels.shape != (n,):
        raise ModelServingError(
            f"classifier output shapes {labels.shape}/{probs.shape} do not match "
            f"{n} rows x {len(classes)} classes"
        )
    if not np.isfinite(probs).all():
        raise ModelServingError("the model produced non-finite probabilities")
    predictions: list[Any] = []
    for label in labels:
        text = str(label.item() if hasattr(label, "item") else label)
        if text not in by_text:
            raise ModelServingError(f"the model predicted {text!r}, which is not one of its classes")
        predictions.append(by_text[text])
    keys = [str(c) for c in classes]
    probabilities = [dict(zip(keys, (float(p) for p in row), strict=True)) for row in probs]
    return predictions, probabilities


def _regression(outputs: Mapping[str, Any], n: int) -> list[float]:
    if "variable" not in outputs:
        raise ModelServingError(f"regressor outputs are {sorted(outputs)}; expected variable")
    values = np.asarray(outputs["variable"], dtype=np.float64).reshape(-1)
    if values.shape != (n,):
        raise ModelServingError(f"regressor output shape {values.shape} does not match {n} rows")
    if not np.isfinite(values).all():
        raise ModelServingError("the model produced a non-finite prediction")
    return [float(v) for v in values]


def parse_version_param(value: str | None) -> int | None:
    """``?version=N``: a positive integer, or a 400 saying so."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,8}", value) or int(value) < 1:
        raise InvalidRequestError(f"version must be a positive integer, got {value!r}", field="version")
    return int(value)
