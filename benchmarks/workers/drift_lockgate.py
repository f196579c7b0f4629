"""Lockgate's drift engine (``lockgate.ml.drift.detect_drift``) on the reference and current files."""

from __future__ import annotations

import json
import sys

from _measure import emit, measure, peak_above, summary, versions


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    import pandas as pd
    from lockgate.ml.drift import detect_drift

    reference = pd.read_parquet(config["reference"])
    current = pd.read_parquet(config["current"])
    types = {c: ("number" if pd.api.types.is_numeric_dtype(reference[c]) else "string") for c in reference}

    def columns(frame: pd.DataFrame) -> dict[str, object]:
        return {
            c: frame[c].to_numpy(dtype="float64" if types[c] == "number" else object) for c in frame.columns
        }

    def check():
        return detect_drift(reference=columns(reference), current=columns(current), feature_types=types)

    times = measure(check, warmup=1, min_runs=config["repeats"], max_runs=config["repeats"], budget=0)
    result, extra = peak_above(check)
    emit(
        {
            "time": summary(times),
            "peak_extra": extra,
            "data_bytes": int(
                reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
            ),
            "columns": {
                f.feature: {"test": f.test, "score": f.score, "threshold": f.threshold, "drifted": f.drifted}
                for f in result.features
            },
            "dataset_drift": result.dataset_drift,
            "versions": versions("numpy", "scipy", "pandas"),
        }
    )


if __name__ == "__main__":
    main()
