"""The bare work of one training run, in a fresh process as a warm Lambda worker would do it:
``lockgate.ml.training.train`` + ``lockgate.ml.onnx_export.to_onnx`` on the uploaded CSV's table. One
untimed run on the first 200 rows first (lazy imports inside scikit-learn and skl2onnx, as a warm
worker has them), then ``repeats`` timed runs on the whole table."""

from __future__ import annotations

import json
import sys

from _measure import emit, measure, summary


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    import pandas as pd
    from lockgate.domain.spec import parse_spec
    from lockgate.ml.onnx_export import to_onnx
    from lockgate.ml.training import train

    frame = pd.read_csv(config["csv"])
    spec = parse_spec(config["spec"])

    def work(table: pd.DataFrame) -> None:
        result = train(table, spec)
        to_onnx(result.pipeline, result.signature)

    work(frame.head(200))
    times = measure(
        lambda: work(frame), warmup=0, min_runs=config["repeats"], max_runs=config["repeats"], budget=0
    )
    emit({"time": summary(times)})


if __name__ == "__main__":
    main()
