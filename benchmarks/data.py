"""The models and data every comparison shares, built once per run with Lockgate's own training code.

Three estimators (logistic regression, a 100-tree random forest, histogram gradient boosting) on two
datasets: the seeded synthetic table of the tests (20 numeric + 5 categorical columns) and the real
Wisconsin breast-cancer data. Each model is trained by :func:`lockgate.ml.training.train` and exported by
:func:`lockgate.ml.onnx_export.to_onnx`, so the scikit-learn pipeline the peers run and the ONNX graph
Lockgate serves are the same model. Peers get them through files in ``benchmarks/.work``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import WORK

ALGORITHMS = ("logistic_regression", "random_forest", "gradient_boosting")
SHORT = {"logistic_regression": "lr", "random_forest": "rf", "gradient_boosting": "hgb"}
DATASETS = ("synthetic", "breast_cancer")
TARGETS = {"synthetic": ("target", "yes"), "breast_cancer": ("diagnosis", "malignant")}
SEED = 42


def synthetic(rows: int, seed: int = SEED) -> Any:
    from tests.support.datasets import make_synthetic

    return make_synthetic(rows, seed)


def dataset(name: str, rows: int) -> Any:
    if name == "synthetic":
        return synthetic(rows)
    from tests.support.datasets import breast_cancer

    return breast_cancer()


def spec_dict(dataset_name: str, algorithm: str, model: str) -> dict[str, Any]:
    target, positive = TARGETS[dataset_name]
    return {
        "model": model,
        "task": "classification",
        "target": target,
        "positive_class": positive,
        "algorithm": algorithm,
        "seed": SEED,
    }


def instances(frame: Any) -> list[dict[str, Any]]:
    """JSON-ready request instances: NaN becomes null, as a client would send a missing value."""
    records: list[dict[str, Any]] = frame.to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in records
    ]


@dataclass
class ModelCase:
    key: str  # e.g. "synthetic/rf"
    dataset: str
    algorithm: str
    spec: dict[str, Any]
    frame: Any  # the training table as a user uploads it
    pipeline: Any  # fitted scikit-learn pipeline
    onnx: bytes
    signature: dict[str, Any]
    traffic: Any  # prepared feature rows to predict on (batch_rows of them)
    train_seconds: float
    export_seconds: float

    @property
    def slug(self) -> str:
        return self.key.replace("/", "-").replace("_", "-")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.onnx).hexdigest()

    def files(self) -> dict[str, str]:
        """Write what peers and worker processes need; return their paths."""
        folder = WORK / "models"
        folder.mkdir(parents=True, exist_ok=True)
        import joblib

        paths = {
            "joblib": folder / f"{self.slug}.joblib",
            "onnx": folder / f"{self.slug}.onnx",
            "signature": folder / f"{self.slug}.signature.json",
            "traffic": folder / f"{self.slug}.traffic.parquet",
            "instances": folder / f"{self.slug}.instances.json",
        }
        joblib.dump(self.pipeline, paths["joblib"])
        paths["onnx"].write_bytes(self.onnx)
        paths["signature"].write_text(json.dumps(self.signature))
        self.traffic.reset_index(drop=True).to_parquet(paths["traffic"], index=False)
        paths["instances"].write_text(json.dumps(instances(self.traffic)))
        return {k: str(v) for k, v in paths.items()}


def build_case(dataset_name: str, algorithm: str, *, train_rows: int, batch_rows: int) -> ModelCase:
    import time

    from lockgate.domain.spec import parse_spec
    from lockgate.ml.onnx_export import to_onnx
    from lockgate.ml.training import prepare_features, train

    frame = dataset(dataset_name, train_rows)
    key = f"{dataset_name}/{SHORT[algorithm]}"
    spec = spec_dict(dataset_name, algorithm, f"bench-{dataset_name.replace('_', '-')}-{SHORT[algorithm]}")
    started = time.perf_counter()
    result = train(frame, parse_spec(spec))
    trained = time.perf_counter()
    onnx = to_onnx(result.pipeline, result.signature)
    exported = time.perf_counter()
    if dataset_name == "synthetic":
        source = synthetic(batch_rows, seed=7)  # fresh traffic from the same distribution
    else:
        source = frame.sample(n=batch_rows, replace=True, random_state=7)
    traffic = prepare_features(source, result.feature_types).reset_index(drop=True)
    return ModelCase(
        key=key,
        dataset=dataset_name,
        algorithm=algorithm,
        spec=spec,
        frame=frame,
        pipeline=result.pipeline,
        onnx=onnx,
        signature=result.signature,
        traffic=traffic,
        train_seconds=trained - started,
        export_seconds=exported - trained,
    )


def build_cases(*, train_rows: int, batch_rows: int) -> list[ModelCase]:
    return [
        build_case(d, a, train_rows=train_rows, batch_rows=batch_rows) for d in DATASETS for a in ALGORITHMS
    ]


# --------------------------------------------------------------------------- Lockgate's serving path


@dataclass(frozen=True)
class MemoryVersion:
    """The fields of ``lockgate.domain.model_version.ModelVersion`` that serving reads."""

    model: str
    version: int
    status: str
    model_artifact: str
    signature: dict[str, Any]


class MemoryRegistry:
    """Serving's registry port, in memory (the timings measure serving, not DynamoDB)."""

    def __init__(self, versions: Sequence[MemoryVersion]) -> None:
        self._by_model = {v.model: v for v in versions}

    def get_model_version(self, model: str, version: int) -> MemoryVersion:
        return self._by_model[model]

    def get_version_by_alias(self, model: str, alias: str) -> MemoryVersion:
        return self._by_model[model]


class MemoryArtifacts:
    """Content-addressed bytes in memory, hash-verified on read as ``S3ArtifactStore`` does."""

    def __init__(self, blobs: Sequence[bytes]) -> None:
        self._blobs = {hashlib.sha256(b).hexdigest(): b for b in blobs}

    def get_bytes(self, kind: str, sha256: str, *, ext: str = "") -> bytes:
        data = self._blobs[sha256]
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("hash mismatch")
        return data


def memory_predictor(cases: Sequence[ModelCase]) -> Any:
    """A real :class:`lockgate.serving.predictor.Predictor` over in-memory registry and artifacts."""
    from lockgate.serving.predictor import Predictor

    versions = [MemoryVersion(c.slug, 1, "Approved", c.sha256, c.signature) for c in cases]
    return Predictor(registry=MemoryRegistry(versions), artifacts=MemoryArtifacts([c.onnx for c in cases]))


def mlflow_dir(case: ModelCase) -> Path:
    return WORK / "mlflow" / case.slug
