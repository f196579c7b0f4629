"""Drift reports: JSON shape and a self-contained HTML page with one plot per feature."""

from __future__ import annotations

import re

import numpy as np
from lockgate.ml.drift import detect_drift
from lockgate.reports.drift_report import DriftReport, WindowReport, render_html


def _report() -> DriftReport:
    rng = np.random.default_rng(0)
    ref = {
        "x": rng.normal(0, 1, 500),
        "y": rng.normal(0, 1, 500),
        "c<b>": rng.choice(["a", "b"], 500).tolist(),
    }
    cur = {
        "x": rng.normal(2, 1, 400),
        "y": rng.normal(0, 1, 400),
        "c<b>": rng.choice(["a", "b"], 400).tolist(),
    }
    short = WindowReport(name="short", start="s", end="e", rows=10, min_samples=30, result=None)
    long = WindowReport(
        name="long",
        start="s",
        end="e",
        rows=400,
        min_samples=30,
        result=detect_drift(reference=ref, current=cur),
        performance={
            "labelled": 40,
            "metric": "accuracy",
            "value": 0.7,
            "holdout": 0.9,
            "threshold": 0.05,
            "degraded": True,
            "metrics": {"accuracy": 0.7},
        },
    )
    return DriftReport(
        model="m", version=2, baseline_id="b" * 64, window_end="2026-01-01T00:00:00Z", windows=(short, long)
    )


def test_json_report_has_top_level_verdicts_and_windows() -> None:
    body = _report().to_dict()
    assert body["drifted"] is False  # 1 of 3 features drifted: below the default dataset share
    assert body["performance_degraded"] is True
    assert body["windows"]["short"]["status"] == "insufficient_data"
    assert [f["feature"] for f in body["windows"]["long"]["features"] if f["drifted"]] == ["x"]
    assert body["drifted_features"] == {"long": ["x"]}


def test_html_has_one_svg_per_feature_verdicts_and_no_scripts() -> None:
    page = render_html(_report())
    assert page.count("<svg") == 3
    assert "DRIFT" in page and "DEGRADED" in page and "SKIPPED" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)
    assert "c&lt;b&gt;" in page and "c<b>" not in page  # feature names are escaped
