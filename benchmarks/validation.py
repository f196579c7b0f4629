"""Validation of 1,000,000 x 25: every Lockgate data-quality gate vs pandera (and Great Expectations).

The dataset is the seeded synthetic table (20 numeric + 5 categorical features and a target),
compared against the profile of an earlier accepted dataset (another seed), with the spec's default
thresholds. Each side reads the same Parquet file in its own process; the time is the validation
alone, and memory is the peak RSS above the process's RSS with the data loaded.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.common import (
    PYTHON,
    WORK,
    MeasurementError,
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

MEMORY_TARGET = 2.0
SPEC = {"model": "bench-validation", "task": "classification", "target": "target"}


def make_files(rows: int) -> dict[str, str]:
    from lockgate.domain.spec import parse_spec
    from lockgate.ml.checks import feature_columns, profile

    folder = WORK / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    dataset = folder / f"dataset-{rows}.parquet"
    previous_path = folder / "previous-profile.json"
    if not dataset.exists():
        synthetic(rows, seed=11).to_parquet(dataset, index=False)
    earlier = synthetic(min(rows, 100_000), seed=12)
    previous_path.write_text(json.dumps(profile(earlier, feature_columns(earlier, parse_spec(SPEC)))))
    return {"dataset": str(dataset), "previous": str(previous_path)}


def run(sizes: Sizes, pandera: PeerEnv | None, gx: PeerEnv | None) -> Section:
    from lockgate.domain.spec import parse_spec

    rows_n = sizes.validation_rows
    section = Section(
        key="validation",
        title=f"Validation, {rows_n:,} × 25",
        what=(
            "Every data-quality gate on one upload, against the previous accepted dataset's profile, "
            "default thresholds. **Lockgate**: `lockgate.ml.checks.validate_dataset` (schema, rows, "
            "nulls, duplicates, constant columns, category counts, target presence and class share, "
            "single-feature leakage on a 200k sample, schema/range/category changes). **pandera**: a "
            "`DataFrameSchema` with the same checks (dtypes, per-column null share, `in_range` against "
            "the previous range, new-category share, category count, constant columns as warnings, "
            "row count, duplicate share, class share, and the leakage check as a custom DataFrame "
            "check), `validate(lazy=True)`. **Great Expectations**: the checks it has built-in "
            "expectations for (it has none for class share or leakage). Peak memory is the peak RSS "
            "above the process's RSS with the data already loaded, against the DataFrame's size in memory."
        ),
    )
    files = make_files(rows_n)
    spec = parse_spec(SPEC)
    config = {
        **files,
        "spec": SPEC,
        "gates": spec.gates.data.model_dump(),
        "repeats": sizes.validation_repeats,
    }
    ours = run_worker(PYTHON, "validation_lockgate.py", config, name="lockgate")
    if ours["status"] != "accepted":
        raise MeasurementError(f"Lockgate rejected the clean benchmark dataset: {ours['checks']}")
    section.versions["Lockgate env"] = ours["versions"]
    results: list[tuple[str, dict[str, Any]]] = [("Lockgate", ours)]
    for label, env, script in (
        ("pandera", pandera, "validation_pandera.py"),
        ("Great Expectations", gx, "validation_gx.py"),
    ):
        if env is None:
            continue
        if not env.ok:
            section.notes.append(f"{label} did not run: {env.error}")
            continue
        assert env.python is not None
        try:
            res = run_worker(env.python, script, {**config, "repeats": max(1, sizes.validation_repeats - 1)})
        except MeasurementError as exc:
            if label == "pandera":
                raise
            section.notes.append(f"{label} did not run: {str(exc).splitlines()[-1][:300]}")
            continue
        section.versions[f"{label} env"] = res["versions"]
        results.append((label, res))

    data = ours["data_bytes"]
    rows = []
    for label, res in results:
        checks = len(res["checks"]) if isinstance(res["checks"], dict) else res["checks"]
        rows.append(
            [
                label,
                str(checks),
                f"{fmt_time(res['time']['median'])} (n={int(res['time']['n'])})",
                fmt_mib(res["peak_extra"]),
                f"{res['peak_extra'] / data:.2f}×",
                res["status"]
                + (f" ({', '.join(res.get('failures', []))[:120]})" if res.get("failures") else ""),
                "1" if res is ours else fmt_ratio(ratio(res["time"]["median"], ours["time"]["median"])),
            ]
        )
    section.tables.append(
        Table(
            [
                "side",
                "checks (as the tool counts them)",
                "median",
                "peak memory",
                "÷ data size",
                "verdict",
                "time ÷ Lockgate",
            ],
            rows,
            f"Data in memory: {fmt_mib(data)} ({rows_n:,} rows × 26 columns incl. the target).",
        )
    )
    pandera_res = dict(results).get("pandera")
    mem_ratio = ours["peak_extra"] / data
    mem_ok = mem_ratio <= MEMORY_TARGET
    mem_detail = f"peak {fmt_mib(ours['peak_extra'])} above the loaded data = {mem_ratio:.2f}× its size"
    if not mem_ok:
        mem_detail += f"; missed by {fmt_mib(ours['peak_extra'] - MEMORY_TARGET * data)}"
    if pandera_res is not None:
        speed = ratio(pandera_res["time"]["median"], ours["time"]["median"]) or 0.0
        detail = f"{fmt_ratio(speed)} pandera's speed"
        if speed <= 1:
            detail += f"; missed: Lockgate takes {1 / speed:.2f}× pandera's time"
        section.verdicts.append(Verdict("faster than pandera", speed > 1, detail))
    else:
        section.verdicts.append(Verdict("faster than pandera", None, "pandera not run"))
    section.verdicts.append(Verdict("peak memory ≤ 2× the data", mem_ok, mem_detail))
    section.raw = dict(results)
    return section
