"""Serving over HTTP on the local cloud: predictions, strict inputs, promotion, integrity, auth, batch."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import onnxruntime as ort
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.domain.model_version import NewModelVersion
from support.datasets import make_synthetic
from support.platform import Platform, wait_for

MODEL = "serve-synth"
SPEC = {
    "model": MODEL,
    "task": "classification",
    "target": "target",
    "positive_class": "yes",
    "algorithm": "logistic_regression",
    "monitoring": {"min_samples": 20},
}


@pytest.fixture(scope="module")
def served(platform: Platform) -> dict:
    platform.put_spec(SPEC)
    platform.upload(MODEL, "train.csv", make_synthetic(800, seed=11).to_csv(index=False).encode())
    result = platform.wait_for_pipeline(MODEL)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    return {"registry": DynamoDBModelRegistry(platform.table, dynamodb_client=platform.ddb)}


def _instances(n: int, seed: int = 5) -> list[dict]:
    frame = make_synthetic(n, seed=seed, missing_fraction=0.0).drop(columns=["target"])
    return json.loads(frame.to_json(orient="records"))


def test_predictions_match_the_registered_model(platform: Platform, served: dict) -> None:
    instances = _instances(25)
    response = platform.predict(MODEL, instances)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == MODEL and body["version"] == 1
    assert len(body["predictions"]) == 25 == len(set(body["prediction_ids"]))
    assert set(body["predictions"]) <= {"yes", "no"}
    # the same ONNX bytes the registry points at, run directly, give the same answers
    version = served["registry"].get_version_by_alias(MODEL, "champion")
    onnx = platform.s3.get_object(
        Bucket=platform.artifact_bucket, Key=f"models/{version.model_artifact}.onnx"
    )["Body"].read()
    session = ort.InferenceSession(onnx)
    feeds = {}
    for spec in version.signature["inputs"]:
        values = [row[spec["name"]] for row in instances]
        if spec["type"] == "number":
            feeds[spec["name"]] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
        else:
            feeds[spec["name"]] = np.asarray(values, dtype=object).reshape(-1, 1)
    labels, probabilities = session.run(["label", "probabilities"], feeds)
    assert list(labels) == body["predictions"]
    served_p = np.asarray([[p[c] for c in version.signature["classes"]] for p in body["probabilities"]])
    assert np.allclose(served_p, probabilities, atol=1e-6)


def test_unknown_categories_and_missing_values_are_handled_by_the_model(
    platform: Platform, served: dict
) -> None:
    instance = _instances(1)[0] | {"cat_0": "atlantis", "num_03": None}
    response = platform.predict(MODEL, [instance])
    assert response.status_code == 200, response.text
    assert "NaN" not in response.text


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("", 400, ""),
        ("not json", 400, "JSON"),
        ({"instances": []}, 400, "instances"),
        ({"rows": [{}]}, 400, "instances"),
        ("missing", 400, "num_00"),
        ("bool", 400, "num_01"),
        ("nan", 400, "num_02"),
        ("nested", 400, "cat_0"),
        ("deep", 400, ""),
        ("oversized", 413, ""),
    ],
)
def test_every_bad_input_gets_a_named_4xx(
    platform: Platform, served: dict, body, status: int, needle: str
) -> None:
    good = _instances(1)[0]
    payload: object
    if body == "missing":
        payload = {"instances": [{k: v for k, v in good.items() if k != "num_00"}]}
    elif body == "bool":
        payload = {"instances": [good | {"num_01": True}]}
    elif body == "nan":
        payload = '{"instances": [' + json.dumps(good)[:-1] + ', "num_02": NaN}]}'
    elif body == "nested":
        payload = {"instances": [good | {"cat_0": {"a": [1]}}]}
    elif body == "deep":
        payload = '{"instances": ' + "[" * 5000 + "]" * 5000 + "}"
    elif body == "oversized":
        payload = {"instances": [good] * 1001}
    else:
        payload = body
    data = payload if isinstance(payload, str) else json.dumps(payload)
    response = platform.api(
        "POST", f"/models/{MODEL}/predict", data=data, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()
    assert "message" in error and "Traceback" not in response.text
    assert needle in json.dumps(error)


def test_unknown_model_and_version_are_404(platform: Platform, served: dict) -> None:
    assert platform.predict("no-such-model", _instances(1)).status_code == 404
    assert platform.predict(MODEL, _instances(1), version=99).status_code == 404


def test_unauthenticated_and_non_admin_calls_are_refused(platform: Platform, served: dict) -> None:
    assert (
        platform.api(
            "POST", f"/models/{MODEL}/predict", role=None, json={"instances": _instances(1)}
        ).status_code
        == 401
    )
    bad = platform.api("GET", "/models", role=None, headers={"Authorization": "Bearer lg_forged"})
    assert bad.status_code == 401
    move = platform.api("PUT", f"/models/{MODEL}/aliases/champion", role="predict", json={"version": 1})
    assert move.status_code == 403
    assert platform.api("GET", "/health", role=None).status_code == 200


def test_a_promotion_changes_which_version_answers(platform: Platform, served: dict) -> None:
    known = platform.known_executions()
    platform.upload(MODEL, "more.csv", make_synthetic(3000, seed=12).to_csv(index=False).encode())
    result = platform.wait_for_pipeline(MODEL, known=known)
    registry = served["registry"]
    versions = [v.version for v in registry.list_model_versions(MODEL)]
    assert result["status"] == "SUCCEEDED", result.get(
        "cause"
    )  # more data from the same process: at least as good
    assert versions == [1, 2]
    # serving resolves aliases with a short cache: the new champion answers within seconds, no redeploy
    assert wait_for(lambda: platform.predict(MODEL, _instances(1)).json()["version"] == 2, timeout=15)
    alias = registry.get_alias(MODEL, "champion")
    moved = platform.api(
        "PUT",
        f"/models/{MODEL}/aliases/champion",
        role="admin",
        json={"version": 1, "expected_revision": alias.revision},
    )
    assert moved.status_code == 200, moved.text
    assert wait_for(lambda: platform.predict(MODEL, _instances(1)).json()["version"] == 1, timeout=15)
    stale = platform.api(
        "PUT",
        f"/models/{MODEL}/aliases/champion",
        role="admin",
        json={"version": 2, "expected_revision": alias.revision},
    )
    assert stale.status_code == 409
    assert platform.predict(MODEL, _instances(1), version=2).json()["version"] == 2


def test_a_tampered_artifact_is_refused(platform: Platform, served: dict) -> None:
    registry = served["registry"]
    version = registry.get_version_by_alias(MODEL, "champion")
    # a version no worker has loaded yet: register a copy pointing at a tampered object
    key = f"models/{version.model_artifact}.onnx"
    original = platform.s3.get_object(Bucket=platform.artifact_bucket, Key=key)["Body"].read()
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    fake_id = "f" * 64
    platform.s3.put_object(
        Bucket=platform.artifact_bucket, Key=f"models/{fake_id}.onnx", Body=bytes(tampered)
    )
    copy = registry.create_model_version(
        NewModelVersion(
            model=MODEL,
            status="Approved",
            run_id="tampered-run",
            dataset_id=version.dataset_id,
            model_artifact=fake_id,
            baseline_id=version.baseline_id,
            holdout_id=version.holdout_id,
            spec_id=version.spec_id,
            report_id=version.report_id,
            signature=version.signature,
            metrics=version.metrics,
            params=version.params,
            seed=version.seed,
            environment=version.environment,
            code_version=version.code_version,
            intent="tampered",
        )
    )
    response = platform.predict(MODEL, _instances(1), version=copy.version)
    assert response.status_code == 500
    assert response.json()["error"] == "IntegrityError"
    assert platform.predict(MODEL, _instances(1)).status_code == 200  # the champion still answers


def test_captured_inferences_land_in_the_artifact_bucket(platform: Platform, served: dict) -> None:
    platform.predict(MODEL, _instances(3))
    keys = [
        o["Key"]
        for o in platform.s3.list_objects_v2(Bucket=platform.artifact_bucket, Prefix=f"captures/{MODEL}/")[
            "Contents"
        ]
    ]
    assert keys and all("/date=" in k and k.endswith(".jsonl") for k in keys)
    line = json.loads(
        platform.s3.get_object(Bucket=platform.artifact_bucket, Key=keys[-1])["Body"].read().splitlines()[0]
    )
    assert {"prediction_id", "model", "version", "timestamp", "inputs", "prediction"} <= set(line)


def test_a_batch_file_is_scored(platform: Platform, served: dict) -> None:
    frame = make_synthetic(120, seed=21, missing_fraction=0.0).drop(columns=["target"])
    platform.s3.put_object(
        Bucket=platform.data_bucket, Key=f"batch/{MODEL}/nightly.csv", Body=frame.to_csv(index=False).encode()
    )
    platform.cloud.wait_idle(120)

    def outputs():
        listing = platform.s3.list_objects_v2(Bucket=platform.artifact_bucket, Prefix=f"predictions/{MODEL}/")
        return [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".csv")]

    keys = wait_for(outputs, timeout=120)
    assert keys, "no batch output"
    rows = list(
        csv.DictReader(
            io.StringIO(
                platform.s3.get_object(Bucket=platform.artifact_bucket, Key=keys[0])["Body"].read().decode()
            )
        )
    )
    assert len(rows) == 120
    assert {r["prediction"] for r in rows} <= {"yes", "no"}
    assert any(e["detail"].get("model") == MODEL for e in platform.events("Batch Scored"))
