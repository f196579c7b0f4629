"""Lineage of a model version: how it was made, by content ids, and how it reads as text.

dataset (id, source, rows) → validation report → training run (params, seed, environment) →
model version (artifact, baseline, card) → approvals → promotions (alias moves to this version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
