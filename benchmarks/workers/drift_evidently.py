"""Evidently peer (runs in benchmarks/.envs/evidently): ``Report([DataDriftPreset()])`` on the same files."""

from __future__ import annotations

import json
import re
import sys
import warnings

from _measure import emit, measure, peak_above, summary, versions

P_VALUE = re.compile(r"p_value|p-value|K-S|chi-square|Z-test", re.IGNORECASE)


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    warnings.filterwarnings("ignore")
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(config["reference"])
    current = pd.read_parquet(config["current"])
    numbers = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    strings = [c for c in reference.columns if c not in numbers]
    definition = DataDefinition(numerical_columns=numbers, categorical_columns=strings)

    def check():
        report = Report([DataDriftPreset()])
        return report.run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )

    times = measure(check, warmup=1, min_runs=config["repeats"], max_runs=config["repeats"], budget=0)
    snapshot, extra = peak_above(check)
    columns = {}
    dataset_drift = None
    for metric in snapshot.dict()["metrics"]:
        cfg = metric.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            method, threshold, score = cfg["method"], float(cfg["threshold"]), float(metric["value"])
            drifted = score < threshold if P_VALUE.search(method) else score >= threshold
            columns[cfg["column"]] = {
                "test": method,
                "score": score,
                "threshold": threshold,
                "drifted": drifted,
            }
        elif cfg.get("type", "").endswith("DriftedColumnsCount"):
            dataset_drift = metric["value"]["share"] >= float(cfg.get("drift_share", 0.5))
    emit(
        {
            "time": summary(times),
            "peak_extra": extra,
            "data_bytes": int(
                reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
            ),
            "columns": columns,
            "dataset_drift": dataset_drift,
            "versions": versions("evidently", "pandas", "numpy", "scipy"),
        }
    )


if __name__ == "__main__":
    main()
