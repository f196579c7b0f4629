"""Lineage of a model version: how it was made, by content ids.

dataset (id, source, rows) → validation report → training run (params, seed, environment) →
model version (artifact, baseline, card) → approvals → promotions (alias moves to this version).
Read through the ports (registry, runs, datasets); a link whose record is missing is shown as
unknown rather than failing the whole chain.
"""

from __future__ import annotations

from typing import Any

from lockgate.domain.dataset import DatasetRecord
from lockgate.domain.lineage import Lineage
from lockgate.errors import DatasetNotFoundError, RunNotFoundError
from lockgate.ports import DatasetLookup, ModelRegistry, RunStore

_DATASET_FIELDS = ("dataset_id", "source_bucket", "source_key", "rows", "columns", "format", "created_at")
_RUN_FIELDS = ("status", "params", "seed", "environment", "trigger", "created_at")
_PROMOTION_FIELDS = ("alias", "revision", "version", "previous_version", "action", "actor", "reason", "at")


def lineage(
    model: str, version: int, *, registry: ModelRegistry, runs: RunStore, datasets: DatasetLookup
) -> Lineage:
    """Assemble the lineage of ``model`` at ``version`` (``VersionNotFoundError`` if absent)."""
    mv = registry.get_model_version(model, version)
    dataset = _dataset(datasets, model, mv.dataset_id)
    try:
        run: dict[str, Any] = runs.get(model, mv.run_id).to_dict()
    except RunNotFoundError:
        run = {}
    run_view = {
        "run_id": mv.run_id,
        "params": mv.params,
        "seed": mv.seed,
        "environment": mv.environment,
        **_pick(run, _RUN_FIELDS),
    }
    promotions = [
        _pick(move.to_dict(), _PROMOTION_FIELDS)
        for move in registry.alias_history(model)
        if move.version == version
    ]
    return Lineage(
        model=model,
        version=version,
        dataset=_pick(dataset.to_dict() if dataset else {"dataset_id": mv.dataset_id}, _DATASET_FIELDS),
        validation_report_id=mv.report_id or (dataset.report_id if dataset else None),
        run=run_view,
        model_version={k: v for k, v in mv.to_dict().items() if k != "approvals"},
        approvals=list(mv.approvals),
        promotions=promotions,
    )


def _dataset(datasets: DatasetLookup, model: str, dataset_id: str) -> DatasetRecord | None:
    if not dataset_id:
        return None
    try:
        return datasets.get(model, dataset_id)
    except DatasetNotFoundError:
        return None


def _pick(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The named fields that hold something (a run record may not carry its params yet)."""
    return {k: item[k] for k in keys if item.get(k) not in (None, {}, [], "")}
