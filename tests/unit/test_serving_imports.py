"""The serving path stays light: after real requests, no pandas/scikit-learn/scipy/pyarrow in the worker.

Runs in a fresh interpreter (this test process has long since imported them) with only what the API
function has on Lambda: its own folder, the core layer and site-packages. The requests go through the
Lambda handler with moto, including a prediction on a real ONNX model built beforehand (the model
bytes are made in the parent, which may import scikit-learn).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from support.serving_models import classifier

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sklearn", "scipy", "pyarrow")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from moto import mock_aws
    import boto3

    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="artifacts")
        boto3.client("dynamodb").create_table(
            TableName="registry", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        boto3.client("events").create_event_bus(Name="bus")
        from lockgate.adapters.s3 import S3ArtifactStore
        from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
        from lockgate.domain.model_version import NewModelVersion
        sha = S3ArtifactStore("artifacts").put_bytes("models", open(MODEL, "rb").read(), ext="onnx").sha256
        registry = DynamoDBModelRegistry("registry")
        v = registry.create_model_version(NewModelVersion(
            model="income", status="Approved", run_id="r", dataset_id="d", model_artifact=sha, baseline_id="b",
            holdout_id="h", spec_id="s", report_id="p", signature=SIGNATURE, metrics={}, params={}, seed=0,
            environment={}, code_version="t", intent="t"))
        registry.set_alias("income", "champion", v.version, actor="t")
        import app
        statuses = []
        for event in EVENTS:
            statuses.append(app.app(event, None)["statusCode"])
        print(json.dumps({"statuses": statuses, "heavy": [m for m in HEAVY if m in sys.modules]}))
    """
)


def test_no_heavy_modules_after_requests(tmp_path: Path) -> None:
    # GIVEN a real model on disk and a predict, a bad predict and a feedback event
    trained = classifier()
    model = tmp_path / "model.onnx"
    model.write_bytes(trained.onnx)
    predict = json.loads((ROOT / "events/api/predict.json").read_text())
    bad = {**predict, "body": '{"instances": [{"age": true}]}'}
    feedback = json.loads((ROOT / "events/api/feedback.json").read_text())
    env = {
        "PATH": "/usr/bin:/bin",
        # the Lambda layout: the function's own folder, then the core layer, then site-packages
        "PYTHONPATH": f"{ROOT / 'functions' / 'api'}:{ROOT / 'layers' / 'core'}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ARTIFACT_BUCKET": "artifacts",
        "REGISTRY_TABLE": "registry",
        "EVENT_BUS_NAME": "bus",
        "POWERTOOLS_METRICS_NAMESPACE": "LockgateTest",
        "POWERTOOLS_SERVICE_NAME": "lockgate",
    }
    prelude = (
        f"ROOT = {str(ROOT)!r}\nMODEL = {str(model)!r}\nHEAVY = {HEAVY!r}\n"
        f"SIGNATURE = {trained.signature!r}\nEVENTS = {[predict, bad, feedback]!r}\n"
    )
    # WHEN they run through the API handler in a fresh interpreter
    done = subprocess.run(
        [sys.executable, "-c", prelude + SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # THEN the requests were really served, and none of the heavy libraries was imported
    assert result["statuses"] == [200, 400, 202]
    assert result["heavy"] == []


PREDICT_ONLY = textwrap.dedent(
    """
    import json, sys
    before = set(sys.modules)
    from lockgate.serving.predictor import Predictor
    from lockgate.serving.signature import Signature, validate_instances
    loaded = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    print(json.dumps([m for m in loaded if m not in sys.stdlib_module_names and m != "lockgate"]))
    """
)


def test_the_serving_path_loads_only_what_the_serving_layer_ships() -> None:
    # GIVEN a fresh interpreter with only the core layer and site-packages, as the serving layer has
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "layers" / "core")}
    # WHEN the predictor and the signature checks are imported
    done = subprocess.run(
        [sys.executable, "-c", PREDICT_ONLY], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # THEN nothing but numpy is loaded (onnxruntime opens on the first prediction; no yaml, pydantic,
    # boto3 or pandas, which the serving layer (layers/serving/requirements.txt) does not ship)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["numpy"]
