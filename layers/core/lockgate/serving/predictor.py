"""Online inference on onnxruntime alone: resolve a version, load its model, validate, predict.

This module is on the serving path: it imports numpy and onnxruntime (lazily) and nothing heavier.
Preprocessing lives inside the ONNX graph, so a request is validated against the version's
signature (:mod:`lockgate.serving.signature`), turned into one ``[n, 1]`` column per feature and
run. Sessions are cached by content id, aliases for ``ALIAS_TTL_SECONDS``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lockgate.domain.names import ALIAS_NAME, MODEL_NAME
from lockgate.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ModelServingError,
    VersionConflictError,
)
from lockgate.ports import ArtifactReader, ServedVersion, VersionReader
from lockgate.serving.signature import Scalar, Signature, build_feeds, validate_instances

DEFAULT_ALIAS = "champion"
ALIAS_TTL_SECONDS = 5.0
SESSION_CACHE_SIZE = 4
SERVABLE_STATUS = "Approved"


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
    import onnxruntime as ort  # noqa: PLC0415 - heavy import boundary

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
        registry: VersionReader,
        artifacts: ArtifactReader,
        max_instances: int = 1000,
        alias_ttl: float = ALIAS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.artifacts = artifacts
        self.max_instances = max_instances
        self.alias_ttl = alias_ttl
        self._clock = clock
        self._aliases: dict[tuple[str, str], tuple[float, ServedVersion]] = {}

    # -- resolution
    def resolve(self, model: str, *, version: int | None = None, alias: str | None = None) -> ServedVersion:
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

    def _by_alias(self, model: str, alias: str) -> ServedVersion:
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
