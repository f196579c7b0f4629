"""The model gates: an absolute floor and champion/challenger, as pure rules over metric numbers.

The metrics come from ``lockgate.ml.metrics`` (the candidate's and the champion's, on the same
holdout when the champion can be scored on it); the verdict and every number behind it are a
:class:`GateReport`, stored on the run and announced when the candidate is rejected.

>>> from lockgate.domain.spec import parse_spec
>>> spec = parse_spec({"model": "m", "task": "classification", "target": "y"})
>>> evaluate_gates(spec, {"roc_auc": 0.7}, None).reasons
['no champion yet']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lockgate.domain.spec import LOWER_IS_BETTER, ModelSpec


@dataclass(frozen=True)
class GateReport:
    """The verdict on a candidate and every number it was based on."""

    passed: bool
    metric: str
    candidate: float | None
    champion: float | None
    champion_version: int | None
    champion_basis: str  # "none" | "same_holdout" | "recorded_metrics"
    lower_is_better: bool
    min_metric: float | None
    min_improvement_abs: float
    min_improvement_rel: float
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def numbers(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "candidate": self.candidate,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "min_metric": self.min_metric,
            "min_improvement_abs": self.min_improvement_abs,
            "min_improvement_rel": self.min_improvement_rel,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.numbers(),
            "passed": self.passed,
            "champion_basis": self.champion_basis,
            "lower_is_better": self.lower_is_better,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Evaluation:
    """The evaluate task's output: both models' holdout metrics, the gates, and how the champion was judged."""

    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    gates: GateReport
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "champion_metrics": self.champion_metrics,
            "gates": self.gates.to_dict(),
            "notes": list(self.notes),
        }


def _value(metrics: dict[str, Any] | None, name: str) -> float | None:
    if not metrics:
        return None
    value = metrics.get(name)
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def evaluate_gates(
    spec: ModelSpec,
    candidate_metrics: dict[str, Any],
    champion_metrics: dict[str, Any] | None,
    *,
    champion_version: int | None = None,
    champion_basis: str | None = None,
) -> GateReport:
    """Apply the spec's model gates to the primary metric.

    - ``min_metric``: a floor (a ceiling for loss metrics: log_loss, rmse, mae).
    - Champion/challenger: the candidate must improve on the champion by at least
      ``min_improvement_abs`` AND by ``min_improvement_rel`` x |champion|. With zero thresholds a
      tie passes (retraining on fresh data at equal quality is allowed). No champion: this gate passes.
    """
    gates = spec.gates.model
    metric = spec.primary_metric
    lower = metric in LOWER_IS_BETTER
    candidate = _value(candidate_metrics, metric)
    champion = _value(champion_metrics, metric)
    reasons: list[str] = []
    passed = True
    if candidate is None:
        passed = False
        reasons.append(f"{metric} could not be computed on the holdout")
    elif gates.min_metric is not None:
        ok = candidate <= gates.min_metric if lower else candidate >= gates.min_metric
        if not ok:
            passed = False
            bound = "above the maximum" if lower else "below the minimum"
            reasons.append(f"{metric} {candidate:.4f} is {bound} {gates.min_metric:g}")
    if champion_metrics is None:
        reasons.append("no champion yet")
        basis = "none"
    else:
        basis = champion_basis or "recorded_metrics"
        if champion is not None and candidate is not None:
            gain = champion - candidate if lower else candidate - champion
            needed_rel = gates.min_improvement_rel * abs(champion)
            if gain < gates.min_improvement_abs or gain < needed_rel:
                passed = False
                needed = max(gates.min_improvement_abs, needed_rel)
                reasons.append(
                    f"{metric} {candidate:.4f} does not beat the champion's {champion:.4f} "
                    f"(improvement {gain:+.4f}, required {needed:.4f})"
                )
            else:
                reasons.append(f"{metric} {candidate:.4f} beats the champion's {champion:.4f} by {gain:+.4f}")
        elif champion is None:
            reasons.append(f"the champion has no {metric}; champion/challenger skipped")
    return GateReport(
        passed=passed,
        metric=metric,
        candidate=candidate,
        champion=champion,
        champion_version=champion_version,
        champion_basis=basis,
        lower_is_better=lower,
        min_metric=gates.min_metric,
        min_improvement_abs=gates.min_improvement_abs,
        min_improvement_rel=gates.min_improvement_rel,
        reasons=reasons,
    )
