"""Lockgate's data-quality gates (``lockgate.ml.checks.validate_dataset``) on the dataset file,
compared with the previous accepted dataset's profile, as the validate step runs them."""

from __future__ import annotations

import json
import sys

from _measure import emit, measure, peak_above, rss, summary, versions


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    import pandas as pd
    from lockgate.domain.spec import parse_spec
    from lockgate.ml.checks import validate_dataset

    frame = pd.read_parquet(config["dataset"])
    previous = json.loads(open(config["previous"]).read())
    spec = parse_spec(config["spec"])
    baseline = rss()

    def check():
        return validate_dataset(frame, spec, previous=previous)

    report, extra = peak_above(check)
    times = measure(check, warmup=0, min_runs=config["repeats"], max_runs=config["repeats"], budget=0)
    emit(
        {
            "time": summary(times),
            "peak_extra": extra,
            "rss_with_data": baseline,
            "data_bytes": int(frame.memory_usage(deep=True).sum()),
            "status": report.status,
            "checks": {c.name: c.status for c in report.checks},
            "versions": versions("pandas", "numpy", "pyarrow"),
        }
    )


if __name__ == "__main__":
    main()
