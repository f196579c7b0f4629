"""Shared helpers for the registry tests (not a test module)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as ddb_models
from lockgate.domain.model_version import APPROVED, ModelVersion, NewModelVersion
from lockgate.ports import ModelRegistry

_ATOMIC_OPS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "transact_write_items")


@contextmanager
def atomic_dynamodb(monkeypatch: Any) -> Iterator[None]:
    """Make each moto DynamoDB request atomic, as DynamoDB's are.

    moto's in-process backend is not thread-safe: a conditional write checks then writes without a
    lock, an UpdateItem is visible half-applied, and a cancelled transaction restores a deep copy of
    the whole table (erasing other threads' writes). Serialising requests (not our code) models the
    real service, so the tests below exercise the registry's own interleavings.
    """
    lock = threading.RLock()
    for name in _ATOMIC_OPS:
        original = getattr(ddb_models.DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(ddb_models.DynamoDBBackend, name, atomic)
    yield


class Recorder:
    """A publisher that remembers the events instead of sending them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, detail_type: str, detail: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((detail_type, detail))

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


def register(
    registry: ModelRegistry,
    model: str = "income",
    *,
    run_id: str,
    status: str = APPROVED,
    auc: float = 0.8,
) -> ModelVersion:
    return registry.create_model_version(
        NewModelVersion(
            model=model,
            status=status,
            run_id=run_id,
            dataset_id="a" * 64,
            model_artifact="d" * 64,
            baseline_id="e" * 64,
            holdout_id="f" * 64,
            spec_id="b" * 64,
            report_id="c" * 64,
            signature={"task": "classification", "target": "y", "inputs": [{"name": "x", "type": "number"}]},
            metrics={"roc_auc": auc, "log_loss": 0.4},
            params={"max_depth": 3, "learning_rate": 0.1},
            seed=42,
            environment={"python": "3.12"},
            code_version="0.1.0",
            intent="predict y",
        )
    )
