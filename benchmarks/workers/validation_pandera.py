"""pandera peer (runs in benchmarks/.envs/pandera): the same data-quality checks as a pandera
schema, thresholds from the same spec defaults and the same previous profile."""

from __future__ import annotations

import json
import sys
import warnings

from _measure import emit, measure, peak_above, rss, summary, versions


def build_schema(config, frame):
    import numpy as np
    import pandas as pd
    import pandera.pandas as pa

    gates, target = config["gates"], config["spec"]["target"]
    previous = json.loads(open(config["previous"]).read())["features"]
    features = [c for c in frame.columns if c != target]

    def share_ok(s):
        return bool(s.isna().mean() <= gates["max_null_fraction"])

    def leakage(df):
        sample = df[df[target].notna()]
        if len(sample) > 200_000:
            sample = sample.sample(n=200_000, random_state=0)
        train = np.random.default_rng(0).random(len(sample)) < 0.7
        y = sample[target].astype(str)
        fallback = y[train].mode().iloc[0]
        for column in features:
            x = sample[column]
            if pd.api.types.is_numeric_dtype(x):
                codes = pd.qcut(x, 256, labels=False, duplicates="drop").fillna(-1).astype(int)
            else:
                codes = x.fillna("<missing>").astype(str)
            table = pd.crosstab(codes[train], y[train])
            majority = table.idxmax(axis=1)
            predicted = codes[~train].map(majority).fillna(fallback)
            truth = y[~train]
            accuracy = float((predicted == truth).mean())
            balanced = float(np.mean([(predicted[truth == k] == k).mean() for k in truth.unique()]))
            if min(accuracy, balanced) >= gates["leakage_threshold"]:
                return False
        return True

    columns = {}
    for column in features:
        old = previous.get(column, {})
        checks = [
            pa.Check(share_ok, element_wise=False, ignore_na=False, name="nulls.max_fraction"),
            pa.Check(lambda s: s.nunique() > 1, raise_warning=True, name="columns.constant"),
        ]
        if pd.api.types.is_numeric_dtype(frame[column]):
            width = max(old["max"] - old["min"], 1e-12)
            slack = gates["max_range_shift"] * width
            checks.append(pa.Check.in_range(old["min"] - slack, old["max"] + slack, name="changes.range"))
            columns[column] = pa.Column(float, checks=checks, nullable=True)
        else:
            known = list(old.get("counts", {}))
            checks.append(
                pa.Check(lambda s: s.nunique() <= gates["max_category_count"], name="categories.max_count")
            )
            checks.append(
                pa.Check(
                    lambda s, known=known: (
                        float((~s.dropna().isin(known)).mean()) <= gates["max_new_category_share"]
                    ),
                    ignore_na=False,
                    name="changes.categories",
                )
            )
            columns[column] = pa.Column(str, checks=checks, nullable=True)
    columns[target] = pa.Column(
        str,
        nullable=False,
        checks=[
            pa.Check(
                lambda s: (
                    s.nunique() >= 2 and s.value_counts(normalize=True).min() >= gates["min_class_share"]
                ),
                name="target.class_share",
            )
        ],
    )
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda df: len(df) >= gates["min_rows"], name="rows.min"),
            pa.Check(
                lambda df: float(df.duplicated().mean()) <= gates["max_duplicate_fraction"],
                name="duplicates.max_fraction",
            ),
            pa.Check(leakage, name="leakage"),
        ],
        strict=False,
    )


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    warnings.filterwarnings("ignore")
    import pandas as pd
    import pandera.errors

    frame = pd.read_parquet(config["dataset"])
    schema = build_schema(config, frame)
    baseline = rss()
    failures: list[str] = []

    def check():
        try:
            schema.validate(frame, lazy=True)
            return []
        except pandera.errors.SchemaErrors as exc:
            return sorted(set(exc.failure_cases["check"].astype(str)))

    failures, extra = peak_above(check)
    times = measure(check, warmup=0, min_runs=config["repeats"], max_runs=config["repeats"], budget=0)
    emit(
        {
            "time": summary(times),
            "peak_extra": extra,
            "rss_with_data": baseline,
            "data_bytes": int(frame.memory_usage(deep=True).sum()),
            "status": "rejected" if failures else "accepted",
            "failures": failures,
            "checks": len(schema.columns)
            and sum(len(c.checks) for c in schema.columns.values()) + len(schema.checks),
            "versions": versions("pandera", "pandas", "numpy"),
        }
    )


if __name__ == "__main__":
    main()
