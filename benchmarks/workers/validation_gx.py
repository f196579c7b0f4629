"""Great Expectations peer (runs in benchmarks/.envs/great_expectations): the checks GX has built-in
expectations for, on the same file, thresholds from the same spec defaults and previous profile.
Not expressible with built-in expectations (so not run here): the minimum class share and leakage."""

from __future__ import annotations

import json
import sys
import warnings

from _measure import emit, measure, peak_above, rss, summary, versions


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    frame = pd.read_parquet(config["dataset"])
    gates, target = config["gates"], config["spec"]["target"]
    previous = json.loads(open(config["previous"]).read())["features"]
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("dataset")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="lockgate-gates"))
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=gates["min_rows"]))
    suite.add_expectation(
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(frame.columns), mostly=1 - gates["max_duplicate_fraction"]
        )
    )
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=target))
    for column in frame.columns:
        if column == target:
            continue
        old = previous.get(column, {})
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=1 - gates["max_null_fraction"])
        )
        if pd.api.types.is_numeric_dtype(frame[column]):
            slack = gates["max_range_shift"] * max(old["max"] - old["min"], 1e-12)
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column, min_value=old["min"] - slack, max_value=old["max"] + slack
                )
            )
            suite.add_expectation(gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=["float64"]))
            suite.add_expectation(gxe.ExpectColumnUniqueValueCountToBeBetween(column=column, min_value=2))
        else:
            suite.add_expectation(
                gxe.ExpectColumnUniqueValueCountToBeBetween(
                    column=column, min_value=2, max_value=gates["max_category_count"]
                )
            )
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=column,
                    value_set=list(old.get("counts", {})),
                    mostly=1 - gates["max_new_category_share"],
                )
            )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name="lockgate-gates")
    )
    baseline = rss()

    def check():
        return validation.run(batch_parameters={"dataframe": frame})

    result, extra = peak_above(check)
    times = measure(check, warmup=0, min_runs=config["repeats"], max_runs=config["repeats"], budget=0)
    failed = sorted(
        r.expectation_config.type + ":" + str(r.expectation_config.kwargs.get("column", ""))
        for r in result.results
        if not r.success
    )
    emit(
        {
            "time": summary(times),
            "peak_extra": extra,
            "rss_with_data": baseline,
            "data_bytes": int(frame.memory_usage(deep=True).sum()),
            "status": "accepted" if result.success else "rejected",
            "failures": failed,
            "checks": len(suite.expectations),
            "versions": versions("great-expectations", "pandas", "numpy"),
        }
    )


if __name__ == "__main__":
    main()
