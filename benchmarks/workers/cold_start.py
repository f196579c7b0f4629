"""One cold start, in a fresh interpreter started with ``-I -S`` (no site-packages): only the folders
the deployment package would hold are put on ``sys.path``, as a Lambda worker sees its layers.

Modes:
- ``serving``: the serving code path: ``lockgate.serving.predictor`` + onnxruntime + numpy, model bytes read
  and turned into a session by ``Predictor``, first prediction.
- ``api``: the whole API function: its Chalice app module (Chalice, Powertools, boto3, the core)
  imported first, then the same as ``serving``.
- ``sklearn``: scikit-learn + pandas + joblib: unpickle the pipeline, first ``predict_proba`` on a
  one-row DataFrame.

Prints one JSON line with ``perf_counter`` stamps (CLOCK_MONOTONIC, comparable with the parent's).
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def serving(config, with_api):
    if with_api:
        import app  # noqa: F401  (the API function's module, as Lambda imports it)
    import hashlib

    import onnxruntime  # noqa: F401
    from lockgate.serving.predictor import Predictor

    imported = time.perf_counter()
    model_bytes = open(config["onnx"], "rb").read()
    sha = hashlib.sha256(model_bytes).hexdigest()
    signature = json.loads(open(config["signature"]).read())

    class Version:
        model, version, status, model_artifact = "m", 1, "Approved", sha

    Version.signature = signature

    class Registry:
        def get_model_version(self, model, version):
            return Version

        def get_version_by_alias(self, model, alias):
            return Version

    class Artifacts:
        def get_bytes(self, kind, digest, *, ext=""):
            if hashlib.sha256(model_bytes).hexdigest() != digest:
                raise ValueError("hash mismatch")
            return model_bytes

    predictor = Predictor(registry=Registry(), artifacts=Artifacts())
    predictor.load(Version)
    loaded = time.perf_counter()
    result = predictor.predict("m", {"instances": [config["instance"]]})
    return imported, loaded, result.probabilities[0]


def sklearn(config):
    import joblib
    import pandas as pd

    imported = time.perf_counter()
    pipeline = joblib.load(config["joblib"])
    loaded = time.perf_counter()
    signature = json.loads(open(config["signature"]).read())
    row = {}
    for feature in signature["inputs"]:
        value = config["instance"][feature["name"]]
        if feature["type"] == "number":
            row[feature["name"]] = [float("nan") if value is None else float(value)]
        else:
            row[feature["name"]] = ["" if value is None else str(value)]
    proba = pipeline.predict_proba(pd.DataFrame(row))[0]
    return imported, loaded, {str(c): float(p) for c, p in zip(pipeline.classes_, proba, strict=True)}


def main():
    config = json.loads(open(sys.argv[1]).read())
    sys.path[:0] = config["paths"]
    mode = config["mode"]
    if mode == "sklearn":
        imported, loaded, proba = sklearn(config)
    else:
        imported, loaded, proba = serving(config, with_api=mode == "api")
    done = time.perf_counter()
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    heavy = sorted(m for m in ("pandas", "sklearn", "scipy", "pyarrow") if m in sys.modules)
    print(
        json.dumps(
            {
                "started": STARTED,
                "imported": imported,
                "loaded": loaded,
                "done": done,
                "proba": proba,
                "heavy_modules": heavy,
                "modules": len(sys.modules),
                "peak_rss": peak,
                "top_modules": sorted({name.split(".")[0] for name in sys.modules}),
            }
        )
    )


if __name__ == "__main__":
    main()
