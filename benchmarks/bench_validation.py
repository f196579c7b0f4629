"""Validation time and peak memory at 1,000,000 rows x 25 columns (20 numeric + 5 categorical).

Run: ``.venv/bin/python benchmarks/bench_validation.py [rows]``. Prints wall time for reading the CSV
and for validating, the peak traced Python/numpy allocation (tracemalloc) during validation, and the
process's peak RSS. Seeded; no assertions (timings are not tests).
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
from lockgate.spec import parse_spec
from lockgate.tabular import read_table
from lockgate.validation import validate_dataset


def synthetic(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {f"x{i}": rng.normal(i, 1 + i / 10, rows) for i in range(20)}
    for j in range(5):
        data[f"c{j}"] = rng.choice([f"cat{k}" for k in range(5 + 10 * j)], rows)
    frame = pd.DataFrame(data)
    frame.loc[rng.random(rows) < 0.02, "x3"] = np.nan
    score = frame["x0"] + 0.5 * frame["x1"] + rng.normal(0, 1, rows)
    frame["label"] = np.where(score > score.median(), "yes", "no")
    return frame


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    spec = parse_spec({"model": "bench", "task": "classification", "target": "label"})
    frame = synthetic(rows)
    csv = frame.to_csv(index=False).encode()
    previous = None
    print(f"rows={rows:,} columns={frame.shape[1] - 1} features + target; CSV {len(csv) / 2**20:.0f} MiB")

    start = time.perf_counter()
    parsed = read_table(csv, "csv", max_rows=5_000_000, max_decompressed_bytes=2**31)
    print(f"read_table:       {time.perf_counter() - start:6.2f} s")
    del csv

    # A first run produces the profile the second run compares against (the realistic steady state).
    previous = validate_dataset(parsed, spec).profile
    tracemalloc.start()
    start = time.perf_counter()
    report = validate_dataset(parsed, spec, previous=previous)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"validate_dataset: {elapsed:6.2f} s  (status {report.status}, {len(report.checks)} checks)")
    print(f"validation peak traced allocation: {peak / 2**20:.0f} MiB")
    print(f"DataFrame in memory: {parsed.memory_usage(deep=True).sum() / 2**20:.0f} MiB")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for check in report.checks:
        print(f"  {check.status:4} {check.name:24} {check.message[:90]}")


if __name__ == "__main__":
    main()
