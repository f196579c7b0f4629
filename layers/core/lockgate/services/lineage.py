"""Lineage of a model version: how it was made, by content ids.

dataset (id, source, rows) → validation report → training run (params, seed, environment) →
model version (artifact, baseline, card) → approvals → promotions (alias moves to this version).
Read from the registry table (``DATASET#``, ``RUN#``, ``VERSION#``, ``ALIASLOG#`` items); a link
whose record is missing is shown as unknown rather than failing the whole chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry, ModelVersion


@dataclass(frozen=True)
class Lineage:
    model: str
    version: int
    dataset: dict[str, Any]
    validation_report_id: str | None
    run: dict[str, Any]
    model_version: dict[str, Any]
    approvals: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "dataset": dict(self.dataset),
            "validation_report_id": self.validation_report_id,
            "run": dict(self.run),
            "model_version": dict(self.model_version),
            "approvals": list(self.approvals),
            "promotions": list(self.promotions),
        }

    def render_text(self) -> str:
        """The chain as indented text for ``lockgate lineage <model>@<version>``."""
        d, r, v = self.dataset, self.run, self.model_version
        lines = [
            f"{self.model}@{self.version}",
            f"dataset            {d.get('dataset_id', '?')}",
            f"  source           {d.get('source_key') or 'unknown'}",
            f"  rows             {d.get('rows', 'unknown')}",
            f"validation report  {self.validation_report_id or 'unknown'}",
            f"run                {r.get('run_id', '?')}  ({r.get('status', 'unknown')})",
            f"  params           {_inline(r.get('params', {}))}",
            f"  seed             {r.get('seed', '?')}",
            f"  environment      {_inline(r.get('environment', {}))}",
            f"version            {self.version}  ({v.get('status', '?')})",
            f"  model artifact   {v.get('model_artifact', '?')}",
            f"  baseline         {v.get('baseline_id', '?')}",
            f"  model card       {v.get('model_card_id') or 'none'}",
            f"  code version     {v.get('code_version', '?')}",
            "approvals" + ("" if self.approvals else "          none"),
        ]
        lines += [
            f"  {a.get('at', '')}  {a.get('action', '')} by {a.get('actor', '')}"
            + (f": {a['comment']}" if a.get("comment") else "")
            for a in self.approvals
        ]
        lines.append("promotions" + ("" if self.promotions else "         none"))
        lines += [
            f"  {p.get('at', '')}  {p.get('alias', '')} rev {p.get('revision', '?')} "
            f"{p.get('previous_version') or '-'} → {p.get('version')} "
            f"({p.get('action', 'set')} by {p.get('actor', '')})"
            for p in self.promotions
        ]
        return "\n".join(lines) + "\n"


def _inline(value: dict[str, Any]) -> str:
    return ", ".join(f"{k}={value[k]}" for k in sorted(value)) or "-"


def lineage(model: str, version: int, *, registry: DynamoDBModelRegistry) -> Lineage:
    """Assemble the lineage of ``model`` at ``version`` (``VersionNotFoundError`` if absent)."""
    mv: ModelVersion = registry.get_model_version(model, version)
    records = registry.records(model, ("DATASET#", "RUN#", "ALIASLOG#"))
    dataset = next((i for i in records["DATASET#"] if i.get("dataset_id") == mv.dataset_id), None)
    run = next((i for i in records["RUN#"] if i.get("sk") == f"RUN#{mv.run_id}"), None)
    dataset_view = _pick(
        dataset or {"dataset_id": mv.dataset_id},
        ("dataset_id", "source_bucket", "source_key", "rows", "columns", "format", "created_at"),
    )
    run_view = _pick(run or {}, ("status", "params", "seed", "environment", "trigger", "created_at"))
    run_view = {
        "run_id": mv.run_id,
        "params": mv.params,
        "seed": mv.seed,
        "environment": mv.environment,
        **run_view,
    }
    promotions = [
        _pick(i, ("alias", "revision", "version", "previous_version", "action", "actor", "reason", "at"))
        for i in records["ALIASLOG#"]
        if int(i.get("version", -1)) == version
    ]
    version_view = {k: v for k, v in mv.to_dict().items() if k not in ("approvals",)}
    report_id = mv.report_id or (dataset or {}).get("report_id")
    return Lineage(
        model=model,
        version=version,
        dataset=dataset_view,
        validation_report_id=report_id,
        run=run_view,
        model_version=version_view,
        approvals=list(mv.approvals),
        promotions=promotions,
    )


def _pick(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The named fields that hold something (a run record may not carry its params yet)."""
    return {k: item[k] for k in keys if item.get(k) not in (None, {}, [], "")}
