"""Drift check, 100k x 25 against 100k x 25: ``lockgate.ml.drift.detect_drift`` vs Evidently's DataDriftPreset.

Reference and current are two independent seeded draws of the synthetic table (20 numeric + 5
categorical columns, 2% missing in three of them); drift is then injected into named columns, and
one column gets a shift too small to count, so the verdicts are checked on both sides of the line.
Both sides read the same Parquet files in their own processes and are timed from a DataFrame in
memory to the per-column verdicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.common import (
    PYTHON,
    WORK,
    Section,
    Sizes,
    Table,
    Verdict,
    fmt_mib,
    fmt_ratio,
    fmt_time,
    ratio,
    run_worker,
)
from benchmarks.data import synthetic
from benchmarks.envs import PeerEnv

TARGET = 10.0
INJECTED = {
    "num_00": "mean +0.5 σ",
    "num_01": "σ × 1.6",
    "cat_0": "north 25% → 55%",
    "cat_3": "phone 33% → 60%",
}
TOO_SMALL = {"num_02": "mean +0.03 σ (below any threshold)"}


def make_files(rows: int) -> dict[str, str]:
    reference = synthetic(rows, seed=1).drop(columns="target")
    current = synthetic(rows, seed=2).drop(columns="target")
    rng = np.random.default_rng(3)
    current["num_00"] = current["num_00"] + 0.5
    current["num_01"] = current["num_01"] * 1.6
    current["num_02"] = current["num_02"] + 0.03
    levels = np.asarray(["north", "south", "east", "west"], dtype=object)
    current["cat_0"] = rng.choice(levels, rows, p=[0.55, 0.15, 0.15, 0.15])
    current["cat_3"] = rng.choice(
        np.asarray(["web", "store", "phone"], dtype=object), rows, p=[0.2, 0.2, 0.6]
    )
    folder = WORK / "drift"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"reference": folder / f"reference-{rows}.parquet", "current": folder / f"current-{rows}.parquet"}
    reference.to_parquet(paths["reference"], index=False)
    current.to_parquet(paths["current"], index=False)
    return {k: str(v) for k, v in paths.items()}


def _false_alarms(columns: dict[str, Any]) -> list[str]:
    return sorted(c for c, v in columns.items() if v["drifted"] and c not in INJECTED)


def _missed(columns: dict[str, Any]) -> list[str]:
    return sorted(c for c in INJECTED if not columns.get(c, {}).get("drifted"))


def run(sizes: Sizes, evidently: PeerEnv | None) -> Section:
    rows_n = sizes.drift_rows
    section = Section(
        key="drift",
        title=f"Drift check, {rows_n:,} × 25 vs {rows_n:,} × 25",
        what=(
            "Per-column drift verdicts on every column, reference against current. **Lockgate**: "
            "`lockgate.ml.drift.detect_drift` (columns taken from the DataFrame inside the timed call). "
            "**Evidently**: `Report([DataDriftPreset()]).run(...)` with the same numerical/categorical "
            "column definition (Dataset construction inside the timed call). Injected drift: "
            + ", ".join(f"`{c}` {d}" for c, d in INJECTED.items())
            + "; "
            + ", ".join(f"`{c}` {d}" for c, d in TOO_SMALL.items())
            + ". Every other column is drawn from the same distribution on both sides. Peak memory is the "
            "peak RSS above the process's RSS just before one check."
        ),
    )
    files = make_files(rows_n)
    config = {**files, "repeats": sizes.drift_repeats}
    ours = run_worker(PYTHON, "drift_lockgate.py", config, name="lockgate")
    section.versions["Lockgate env"] = ours["versions"]
    peer: dict[str, Any] | None = None
    if evidently is not None and evidently.ok:
        assert evidently.python is not None
        peer = run_worker(
            evidently.python, "drift_evidently.py", {**config, "repeats": max(1, sizes.drift_repeats - 2)}
        )
        section.versions["Evidently env"] = peer["versions"]
    elif evidently is not None:
        section.notes.append(f"Evidently did not run: {evidently.error}")

    table_rows = []
    for label, res in (("Lockgate", ours), ("Evidently DataDriftPreset", peer)):
        if res is None:
            continue
        alarms = _false_alarms(res["columns"])
        table_rows.append(
            [
                label,
                f"{fmt_time(res['time']['median'])} (n={int(res['time']['n'])})",
                fmt_mib(res["peak_extra"]),
                ", ".join(sorted(c for c, v in res["columns"].items() if v["drifted"])) or "none",
                ", ".join(alarms) or "none",
                ", ".join(_missed(res["columns"])) or "none",
                "1" if res is ours else fmt_ratio(ratio(res["time"]["median"], ours["time"]["median"])),
            ]
        )
    section.tables.append(
        Table(
            [
                "side",
                "median",
                "peak memory",
                "drifted columns",
                "false alarms",
                "missed drift",
                "time ÷ Lockgate",
            ],
            table_rows,
            f"Data in memory: {fmt_mib(ours['data_bytes'])} (both frames).",
        )
    )
    verdict_rows = []
    disagreements = []
    for column, mine in ours["columns"].items():
        theirs = (peer or {}).get("columns", {}).get(column)
        if theirs is not None and theirs["drifted"] != mine["drifted"]:
            disagreements.append(column)
        if column in INJECTED or column in TOO_SMALL or (theirs and theirs["drifted"] != mine["drifted"]):
            verdict_rows.append(
                [
                    column,
                    INJECTED.get(column) or TOO_SMALL.get(column) or "none",
                    f"{mine['test']} {mine['score']:.4f} → {'drift' if mine['drifted'] else 'no drift'}",
                    f"{theirs['test']} {theirs['score']:.4f} → {'drift' if theirs['drifted'] else 'no drift'}"
                    if theirs
                    else "—",
                ]
            )
    section.tables.append(
        Table(
            ["column", "injected", "Lockgate", "Evidently"], verdict_rows, "Verdicts on the injected columns."
        )
    )
    if peer is not None:
        common = set(ours["columns"]) & set(peer["columns"])
        score_diff = max(abs(ours["columns"][c]["score"] - peer["columns"][c]["score"]) for c in common)
        section.notes.append(
            f"Both tools chose the same test for every column; largest score difference {score_diff:.2e}."
            if all(_same_test(ours["columns"][c]["test"], peer["columns"][c]["test"]) for c in common)
            else f"The tools chose different tests for some columns; largest score difference {score_diff:.2e}."
        )
        speedup = ratio(peer["time"]["median"], ours["time"]["median"]) or 0.0
        same = not disagreements
        no_alarms = not _false_alarms(ours["columns"]) and not _missed(ours["columns"])
        met = speedup >= TARGET and same and no_alarms
        detail = f"{fmt_ratio(speedup)} faster; " + (
            "same verdict on every column" if same else f"verdicts differ on {', '.join(disagreements)}"
        )
        detail += (
            "; no false alarms, no missed drift" if no_alarms else "; Lockgate has false alarms or misses"
        )
        if speedup < TARGET:
            detail += f"; speed missed by {TARGET / speedup:.1f}×"
        section.verdicts.append(
            Verdict("≥ 10× faster, same decisions on injected drift, no false alarms", met, detail)
        )
    else:
        section.verdicts.append(Verdict("≥ 10× faster than Evidently", None, "Evidently not run"))
    section.raw = {"lockgate": ours, "evidently": peer}
    return section


def _same_test(ours: str, theirs: str) -> bool:
    names = {
        "wasserstein": "wasserstein",
        "jensenshannon": "jensen",
        "ks": "k-s",
        "chisquare": "chi",
        "z": "z-",
    }
    return names.get(ours, ours) in theirs.lower()
