"""Time and peak memory of the drift engine: 100,000 x 25 reference against 100,000 x 25 current.

20 numeric and 5 categorical columns, seeded; x0 shifted and c0's frequencies changed so the run
also reports which columns were flagged. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_drift.py [--rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from lockgate.drift import detect_drift

CATEGORIES = np.array(["a", "b", "c", "d", "e"], dtype=object)


def make(rng: np.random.Generator, rows: int, *, drift: bool) -> dict[str, object]:
    data: dict[str, object] = {
        f"x{i}": rng.normal(0.5 if drift and i == 0 else 0.0, 1.0, rows) for i in range(20)
    }
    for j in range(5):
        p = [0.1, 0.15, 0.2, 0.25, 0.3] if drift and j == 0 else [0.3, 0.25, 0.2, 0.15, 0.1]
        data[f"c{j}"] = rng.choice(CATEGORIES, rows, p=p).tolist()  # lists: as captures arrive
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    reference, current = make(rng, args.rows, drift=False), make(rng, args.rows, drift=True)
    detect_drift(reference=reference, current=current)  # warm: imports and first-call costs
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = detect_drift(reference=reference, current=current)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    detect_drift(reference=reference, current=current)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"drift check {args.rows:,} x 25 vs {args.rows:,} x 25")
    print(
        f"  median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}, n={args.repeat})"
    )
    print(f"  peak traced memory above inputs: {peak / 2**20:.1f} MiB")
    print(f"  tests: {sorted({f.test for f in result.features})}")
    print(f"  drifted: {result.drifted_features} (expected ['x0', 'c0'])")


if __name__ == "__main__":
    main()
