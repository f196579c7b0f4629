"""MLflow peer (runs in benchmarks/.envs/mlflow): save each scikit-learn pipeline as an MLflow model
with a signature (so pyfunc enforces the input schema, as Lockgate validates its input), load it
back as a pyfunc and time ``predict`` on 1 row and on a batch. Also keeps the model folder for
``mlflow models serve``."""

from __future__ import annotations

import json
import shutil
import sys
import warnings

from _measure import emit, measure, summary, versions


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    warnings.filterwarnings("ignore")
    import joblib
    import mlflow.pyfunc
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    results = {}
    for case in config["cases"]:
        pipeline = joblib.load(case["joblib"])
        traffic = pd.read_parquet(case["traffic"])
        shutil.rmtree(case["model_dir"], ignore_errors=True)
        mlflow.sklearn.save_model(
            pipeline,
            case["model_dir"],
            signature=infer_signature(traffic, pipeline.predict_proba(traffic)),
            pyfunc_predict_fn="predict_proba",
            serialization_format="cloudpickle",  # skops (the new default) refuses numpy dtypes
        )
        model = mlflow.pyfunc.load_model(case["model_dir"])
        one, batch = traffic.iloc[:1], traffic.iloc[: config["batch_rows"]]
        entry = {}
        for label, frame in (("1", one), ("batch", batch)):
            times = measure(lambda f=frame, m=model: m.predict(f), budget=config["budget"], max_runs=3000)
            entry[label] = summary(times)
        first = model.predict(one)
        entry["first_row_proba"] = [float(p) for p in list(first[0])]
        results[case["key"]] = entry
    emit({"results": results, "versions": versions("mlflow", "scikit-learn", "pandas", "numpy")})


if __name__ == "__main__":
    main()
