"""Model cards: a Markdown page per model version, stored content-addressed as ``cards/<sha>.md``.

The card is written when the version is registered (``lockgate.services.register`` stores it
through the artifact store), from what the registry and the run recorded: intent, data, training,
holdout metrics, gates, approval state, limitations and monitoring. This module only renders a
domain :class:`~lockgate.domain.model_version.ModelVersion`; the registry keeps the card's id
(``model_card_id``); later approvals are in the registry and in lineage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.domain.model_version import ModelVersion
from lockgate.domain.spec import ModelSpec
from lockgate.domain.training_state import GateResult

# Where a card is stored: ``cards/<sha>.md`` in the artifact store.
CARD_KIND = "cards"
CARD_EXT = "md"
CARD_CONTENT_TYPE = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class CardContext:
    """What a card says beyond the version itself (all optional)."""

    spec: ModelSpec | None = None
    dataset_rows: int | None = None
    dataset_source: str | None = None
    gates: tuple[GateResult, ...] = ()
    champion_metrics: dict[str, Any] | None = None


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, sort_keys=True, default=str) + "`"
    return str(value).replace("|", "\\|")


def _table(rows: list[tuple[str, Any]], header: tuple[str, str]) -> list[str]:
    if not rows:
        return ["_none recorded_"]
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines += [f"| {name} | {_value(value)} |" for name, value in rows]
    return lines


def _gate_lines(gates: Sequence[GateResult]) -> list[str]:
    if not gates:
        return ["_no model gates were configured_"]
    lines = ["| gate | result | detail |", "|---|---|---|"]
    for gate in gates:
        verdict = "pass" if gate.passed else "FAIL"
        lines.append(f"| {_value(gate.name or '?')} | {verdict} | {_value(gate.detail or '')} |")
    return lines


def render_model_card(version: ModelVersion, context: CardContext | None = None) -> str:
    """Render the Markdown card. Deterministic: the same inputs give the same bytes (and id)."""
    ctx = context or CardContext()
    spec = ctx.spec
    env = version.environment
    out = [
        f"# Model card: {version.model} v{version.version}",
        "",
        "## Intent",
        version.intent or "_No description was given (set `description` in the spec)._",
        "",
        "## Data",
        *_table(
            [
                ("dataset id", version.dataset_id),
                ("source", ctx.dataset_source or "unknown"),
                ("rows", ctx.dataset_rows if ctx.dataset_rows is not None else "unknown"),
                ("validation report", version.report_id),
                ("holdout", version.holdout_id),
            ],
            ("", ""),
        ),
        "",
        "## Training",
        *_table(
            [
                ("task", version.signature.get("task", spec.task if spec else "?")),
                ("target", version.signature.get("target", spec.target if spec else "?")),
                ("algorithm", spec.estimator if spec else version.params.get("algorithm", "?")),
                ("params", version.params),
                ("seed", version.seed),
                ("run", version.run_id),
                ("code version", version.code_version),
                ("environment", env),
                ("model artifact", f"models/{version.model_artifact}.onnx"),
                ("baseline", version.baseline_id),
            ],
            ("", ""),
        ),
        "",
        "## Inputs",
        *_table(
            [(i.get("name", "?"), i.get("type", "?")) for i in version.signature.get("inputs", [])],
            ("feature", "type"),
        ),
        "",
        "## Metrics on the holdout",
        *_table(sorted(version.metrics.items()), ("metric", "value")),
    ]
    if ctx.champion_metrics:
        out += [
            "",
            "Champion at registration, same holdout:",
            *_table(sorted(ctx.champion_metrics.items()), ("metric", "value")),
        ]
    out += [
        "",
        "## Gates",
        *_gate_lines(ctx.gates),
        "",
        "## Approval",
        f"Status at registration: **{version.status}**",
    ]
    out += [
        f"- {a.get('at', '')} {a.get('actor', '')}: {a.get('action', '')} {a.get('comment', '')}".rstrip()
        for a in version.approvals
    ]
    out += ["", "## Limitations and monitoring", *_limitations(version, spec), ""]
    return "\n".join(out)


def _limitations(version: ModelVersion, spec: ModelSpec | None) -> list[str]:
    lines = [
        "- Trained and evaluated on one dataset; performance on data unlike it is unknown.",
        "- Inputs outside the baseline's ranges or unseen categories are accepted (imputed / ignored) "
        "and flagged by drift monitoring, not refused.",
    ]
    if spec is not None:
        mon = spec.monitoring
        lines += [
            f"- Drift checked every {mon.cadence_minutes} min over a {mon.short_window_minutes} min and a "
            f"{mon.long_window_minutes} min window (at least {mon.min_samples} samples); dataset drift when "
            f"{mon.drift_share:.0%} of features drift; on drift: {mon.on_drift}.",
            f"- Performance alert when {spec.primary_metric} on labelled traffic falls "
            f"{mon.performance_drop} below its holdout value.",
        ]
    return lines
