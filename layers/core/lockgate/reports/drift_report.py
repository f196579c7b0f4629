"""Drift reports: the JSON the CLI and automation read, and an HTML page a person would rather look at.

The HTML is one self-contained file (inline CSS and SVG, no scripts, no network): a summary with
verdict badges at the top, then for each window and feature the reference and current
distributions overlaid, the test, its score, the threshold and the verdict.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lockgate.ml.drift import DriftResult, FeatureDrift, FeatureQuality

WindowStatus = Literal["judged", "insufficient_data"]

REF_COLOUR = "#4c78a8"
CUR_COLOUR = "#f58518"


@dataclass(frozen=True)
class WindowReport:
    """One window of one check: its span, how many captured rows it held, and the verdicts."""

    name: str  # "short" | "long"
    start: str
    end: str
    rows: int
    min_samples: int
    result: DriftResult | None  # None when the window held fewer than min_samples rows
    performance: Mapping[str, Any] | None = None

    @property
    def status(self) -> WindowStatus:
        return "judged" if self.result is not None else "insufficient_data"

    @property
    def drifted(self) -> bool:
        return self.result is not None and self.result.drifted

    @property
    def performance_degraded(self) -> bool:
        return bool(self.performance and self.performance.get("degraded"))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "window": self.name,
            "start": self.start,
            "end": self.end,
            "rows": self.rows,
            "min_samples": self.min_samples,
            "status": self.status,
            "drifted": self.drifted,
            "performance": dict(self.performance) if self.performance else None,
        }
        body.update(self.result.to_dict() if self.result else {})
        body["drifted"] = self.drifted
        return body


@dataclass(frozen=True)
class DriftReport:
    """A whole check: both windows against one model version's baseline."""

    model: str
    version: int
    baseline_id: str
    window_end: str
    windows: tuple[WindowReport, ...]

    @property
    def drifted(self) -> bool:
        return any(w.drifted for w in self.windows)

    @property
    def performance_degraded(self) -> bool:
        return any(w.performance_degraded for w in self.windows)

    @property
    def drifted_features(self) -> dict[str, list[str]]:
        return {w.name: w.result.drifted_features for w in self.windows if w.result is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "performance_degraded": self.performance_degraded,
            "model": self.model,
            "version": self.version,
            "baseline_id": self.baseline_id,
            "window_end": self.window_end,
            "drifted_features": self.drifted_features,
            "windows": {w.name: w.to_dict() for w in self.windows},
        }


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.8}main{padding:16px 32px}section{margin-bottom:28px}
.summary{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.tile{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002;min-width:180px}
.tile b{display:block;font-size:20px}.badge{display:inline-block;border-radius:10px;padding:1px 9px;
font-size:12px;font-weight:600;color:#fff}.bad{background:#c8372d}.ok{background:#2e7d32}.skip{background:#888}
.warn{background:#c77700}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0002}
.card.drift{border-left:4px solid #c8372d}.card h3{margin:0 0 4px;font-size:15px;display:flex;
justify-content:space-between;align-items:center}.meta{color:#555;font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;border-radius:2px}
table{border-collapse:collapse;background:#fff}
td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}
ul.issues{margin:4px 0 0;padding-left:18px;color:#8a4b00;font-size:12px}
"""


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {cls}">{html.escape(text)}</span>'


def _verdict(drifted: bool) -> str:
    return _badge("DRIFT", "bad") if drifted else _badge("OK", "ok")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _bars_svg(labels: list[str], reference: list[float], current: list[float], *, numeric: bool) -> str:
    """Overlaid bars: reference (blue) behind current (orange), shares on a shared y-scale."""
    width, height, pad_l, pad_b = 320, 140, 6, 22
    n = max(len(reference), 1)
    top = max([*reference, *current, 1e-9])
    slot = (width - pad_l * 2) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img">',
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_l}" '
        f'y2="{height - pad_b}" stroke="#999"/>',
    ]
    plot_h = height - pad_b - 8
    for i, (r, c) in enumerate(zip(reference, current, strict=False)):
        x = pad_l + i * slot
        tip = labels[i] if not numeric and i < len(labels) else f"bin {i + 1}"
        for share, colour, inset, opacity in ((r, REF_COLOUR, 0.0, 0.55), (c, CUR_COLOUR, 0.25, 0.75)):
            h = plot_h * share / top
            w = slot * (1 - inset) - 1 if numeric else slot * 0.42
            bx = x + (slot * inset / 2 if numeric else (slot * 0.08 if colour == REF_COLOUR else slot * 0.5))
            parts.append(
                f'<rect x="{bx:.1f}" y="{height - pad_b - h:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" '
                f'fill="{colour}" fill-opacity="{opacity}"><title>{html.escape(tip)}'
                f": reference {r:.1%}, current {c:.1%}</title></rect>"
            )
    if numeric and labels:
        parts.append(
            f'<text x="{pad_l}" y="{height - 6}" font-size="10" fill="#555">{html.escape(labels[0])}</text>'
        )
        parts.append(
            f'<text x="{width - pad_l}" y="{height - 6}" font-size="10" fill="#555" text-anchor="end">'
            f"{html.escape(labels[-1])}</text>"
        )
    elif labels:
        for i, label in enumerate(labels):
            short = label if len(label) <= 10 else label[:9] + "…"
            parts.append(
                f'<text x="{pad_l + (i + 0.5) * slot:.1f}" y="{height - 8}" font-size="9" fill="#555" '
                f'text-anchor="middle">{html.escape(short)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def feature_svg(feature: FeatureDrift) -> str:
    dist = feature.distribution
    if "categories" in dist:
        return _bars_svg(
            list(dist["categories"]), list(dist["reference"]), list(dist["current"]), numeric=False
        )
    edges = list(dist.get("edges", []))
    labels = [f"{edges[0]:.4g}", f"{edges[-1]:.4g}"] if edges else []
    return _bars_svg(labels, list(dist.get("reference", [])), list(dist.get("current", [])), numeric=True)


def _feature_card(feature: FeatureDrift, quality: FeatureQuality | None) -> str:
    relation = "below" if feature.score_kind == "p_value" else "at or above"
    issues = "".join(f"<li>{html.escape(i)}</li>" for i in (quality.issues if quality else ()))
    return (
        f'<div class="card{" drift" if feature.drifted else ""}">'
        f"<h3>{html.escape(feature.feature)} {_verdict(feature.drifted)}</h3>"
        f'<div class="meta">{html.escape(feature.kind)} · {html.escape(feature.test)} '
        f"{feature.score_kind.replace('_', '-')} <b>{_fmt(feature.score)}</b> "
        f"(drift when {relation} {_fmt(feature.threshold)}) · "
        f"n={feature.n_reference}/{feature.n_current}</div>"
        f"{feature_svg(feature)}"
        f'<div class="meta legend"><span style="background:{REF_COLOUR}"></span>reference'
        f'<span style="background:{CUR_COLOUR}"></span>current</div>'
        f"{f'<ul class=issues>{issues}</ul>' if issues else ''}</div>"
    )


def _performance_table(perf: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>"
        for k, v in (perf.get("metrics") or {}).items()
    )
    verdict = _badge("DEGRADED", "bad") if perf.get("degraded") else _badge("OK", "ok")
    return (
        f"<h3>Performance on labelled traffic {verdict}</h3>"
        f'<p class="meta">{_fmt(perf.get("labelled", 0))} labelled predictions · primary metric '
        f"{_fmt(perf.get('metric'))} {_fmt(perf.get('value'))} vs holdout {_fmt(perf.get('holdout'))} "
        f"(flag when worse by more than {_fmt(perf.get('threshold'))})</p><table>{rows}</table>"
    )


def _window_section(window: WindowReport) -> str:
    span = f"{html.escape(window.start)} → {html.escape(window.end)}"
    head = f"<h2>{html.escape(window.name.title())} window · {span}</h2>"
    if window.result is None:
        body = (
            f"<p>{_badge('SKIPPED', 'skip')} only {window.rows} captured rows; "
            f"at least {window.min_samples} are needed to judge drift.</p>"
        )
    else:
        res = window.result
        quality = {q.feature: q for q in res.quality}
        cards = [
            _feature_card(f, quality.get(f.feature))
            for f in sorted(res.features, key=lambda f: not f.drifted)
        ]
        pred = (
            f"<h3>Prediction drift</h3><div class='grid'>{_feature_card(res.prediction, None)}</div>"
            if res.prediction
            else ""
        )
        body = (
            f"<p>{_verdict(res.drifted)} {len(res.drifted_features)} of {len(res.features)} features drifted "
            f"(share {res.drift_share:.0%}; dataset drift at {res.drift_share_threshold:.0%}) · "
            f"{window.rows} captured rows</p>{pred}<h3>Features</h3><div class='grid'>{''.join(cards)}</div>"
        )
    perf = _performance_table(window.performance) if window.performance else ""
    return f"<section>{head}{body}{perf}</section>"


def render_html(report: DriftReport) -> str:
    """One self-contained HTML page for a check (inline CSS and SVG; no scripts, no network)."""
    tiles = [
        f'<div class="tile">Verdict<b>{_verdict(report.drifted)}</b></div>',
        '<div class="tile">Performance<b>'
        + (_badge("DEGRADED", "bad") if report.performance_degraded else _badge("OK", "ok"))
        + "</b></div>",
    ]
    for w in report.windows:
        if w.result is None:
            tiles.append(
                f'<div class="tile">{html.escape(w.name)} window<b>{_badge("SKIPPED", "skip")}</b>'
                f"{w.rows} rows</div>"
            )
        else:
            drifted = ", ".join(w.result.drifted_features) or "none"
            tiles.append(
                f'<div class="tile">{html.escape(w.name)} window<b>{_verdict(w.drifted)}</b>'
                f"drifted: {html.escape(drifted)}</div>"
            )
    title = f"Drift report · {report.model} v{report.version}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><header><h1>{html.escape(title)}</h1>"
        f"<p>window ending {html.escape(report.window_end)} · "
        f"baseline {html.escape(report.baseline_id[:12])}</p>"
        f"</header><main><div class='summary'>{''.join(tiles)}</div>"
        f"{''.join(_window_section(w) for w in report.windows)}</main></body></html>"
    )
