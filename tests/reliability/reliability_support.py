"""Shared pieces of the reliability suites: profiles, figures, S3 events, and the platform invariants.

The invariants (:func:`assert_consistent`) are what "nothing half-written is registered or served"
means here, checked through AWS APIs and HTTP as a user would see them:

- every registered version points at a model, baseline and holdout that exist and hash-verify;
- every alias points at an existing, Approved version, and the API serves exactly that version;
- no version waits for approval without an execution waiting on it;
- no execution of the model is still running and no run record is left ``running``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.table import deserialize
from lockgate.domain.model_version import APPROVED, PENDING
from support.datasets import breast_cancer
from support.platform import Platform, wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # Hypothesis examples per property at the functional level (moto in process)
    cloud_examples: int  # hostile files pushed through the whole local cloud
    api_examples: int  # Schemathesis examples per API operation
    load_seconds: float  # bounded duration of the HTTP load test
    load_clients: int  # concurrent HTTP clients
    burst: int  # uploads at once in the ingestion burst
    threads: int  # registry writers in the concurrency test


PROFILES = {
    "ci": Profile(
        "ci",
        examples=40,
        cloud_examples=4,
        api_examples=15,
        load_seconds=10.0,
        load_clients=8,
        burst=20,
        threads=50,
    ),
    "soak": Profile(
        "soak",
        examples=400,
        cloud_examples=25,
        api_examples=100,
        load_seconds=60.0,
        load_clients=16,
        burst=100,
        threads=50,
    ),
}
PROFILE = PROFILES[os.environ.get("LOCKGATE_PROFILE", "ci")]


class Figures:
    """Numbers the suites measured, for the run summary and docs/reliability.md."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def record(self, name: str, value: Any) -> None:
        with self._lock:
            self.values[name] = value

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.values[name] = int(self.values.get(name, 0)) + amount


# --------------------------------------------------------------------------- models and data

CANCER = {
    "task": "classification",
    "target": "diagnosis",
    "positive_class": "malignant",
    "algorithm": "logistic_regression",
    "description": "Flags biopsies that look malignant (reliability suite).",
}


def cancer_spec(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, **CANCER, **extra}


def cancer_csv(*, frac: float = 1.0, seed: int = 0) -> bytes:
    frame = breast_cancer()
    if frac < 1.0:
        frame = frame.sample(frac=frac, random_state=seed).reset_index(drop=True)
    text: str = frame.to_csv(index=False)
    return text.encode()


def cancer_instances(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    frame = breast_cancer().drop(columns=["diagnosis"]).sample(n=n, random_state=seed, replace=n > 569)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def train(platform: Platform, model: str, body: bytes | None = None, **spec: Any) -> dict[str, Any]:
    """Spec + upload + wait: the finished execution (asserted SUCCEEDED)."""
    platform.put_spec(cancer_spec(model, **spec))
    known = platform.known_executions()
    platform.upload(model, "train.csv", body if body is not None else cancer_csv())
    result = platform.wait_for_pipeline(model, known=known)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    return result


def registry(platform: Platform) -> DynamoDBModelRegistry:
    return DynamoDBModelRegistry(platform.table, dynamodb_client=platform.cloud.client("dynamodb"))


# --------------------------------------------------------------------------- events


def s3_put_event(bucket: str, key: str, *, etag: str, version_id: str, size: int) -> dict[str, Any]:
    """The notification S3 sends for one object version (events/ingest/put.json, filled in)."""
    event = copy.deepcopy(json.loads((ROOT / "events" / "ingest" / "put.json").read_text()))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"].update(
        key=quote_plus(key, safe="/"), size=size, eTag=etag.strip('"'), versionId=version_id
    )
    return event


def event_for_object(platform: Platform, key: str, version_id: str | None = None) -> dict[str, Any]:
    """The S3 event for an object already in the data bucket (its latest version by default)."""
    kwargs: dict[str, Any] = {"Bucket": platform.data_bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    head = platform.s3.head_object(**kwargs)
    return s3_put_event(
        platform.data_bucket,
        key,
        etag=head["ETag"],
        version_id=head.get("VersionId") or "",
        size=int(head["ContentLength"]),
    )


def invoke(
    platform: Platform, logical_id: str, payload: dict[str, Any], *, asynchronous: bool = False
) -> tuple[dict[str, Any] | None, bool]:
    """Invoke a deployed function through the Lambda API; ``asynchronous`` is an ``Event`` invoke."""
    response = platform.cloud.client("lambda").invoke(
        FunctionName=platform.cloud.function_name(logical_id),
        InvocationType="Event" if asynchronous else "RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    if asynchronous:
        return None, False
    return json.loads(response["Payload"].read()), "FunctionError" in response


# --------------------------------------------------------------------------- observations


def executions_of(platform: Platform, model: str) -> list[dict[str, Any]]:
    return [e for e in platform.executions() if e["name"].startswith(model + "-")]


def items(platform: Platform, model: str, prefix: str) -> list[dict[str, Any]]:
    ddb = platform.cloud.client("dynamodb")
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": platform.table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": {"S": f"MODEL#{model}"}, ":sk": {"S": prefix}},
        "ConsistentRead": True,
    }
    while True:
        page = ddb.query(**kwargs)
        out += [deserialize(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def events_for(platform: Platform, detail_type: str, model: str) -> list[dict[str, Any]]:
    return [e for e in platform.events(detail_type) if e["detail"].get("model") == model]


def wait_until_settled(platform: Platform, model: str, timeout: float = 180.0) -> list[dict[str, Any]]:
    """Every execution of ``model`` once none is running (zero stuck executions, or this fails)."""
    platform.cloud.wait_idle(timeout)

    def settled() -> list[dict[str, Any]] | None:
        found = executions_of(platform, model)
        return None if any(e["status"] == "RUNNING" for e in found) else found

    found = wait_for(settled, timeout=timeout, interval=0.3)
    assert found is not None, f"stuck executions of {model}: {executions_of(platform, model)}"
    return found


def artifact_ok(platform: Platform, key: str, sha: str) -> bool:
    try:
        body = platform.s3.get_object(Bucket=platform.artifact_bucket, Key=key)["Body"].read()
    except platform.s3.exceptions.NoSuchKey:
        return False
    return hashlib.sha256(body).hexdigest() == sha


def assert_consistent(platform: Platform, model: str) -> None:
    """The platform invariants for one model (see the module docstring)."""
    running = [e["executionArn"] for e in executions_of(platform, model) if e["status"] == "RUNNING"]
    versions = {int(v["version"]): v for v in items(platform, model, "VERSION#")}
    pending = [n for n, v in versions.items() if v["status"] == PENDING]
    # Only an execution waiting for a person may still run, and only while a version waits.
    assert len(running) <= len(pending), f"executions still running: {running}"
    for number, version in versions.items():
        assert version["status"] in (PENDING, APPROVED, "Rejected"), version["status"]
        for kind, key in (
            ("model", f"models/{version['model_artifact']}.onnx"),
            ("baseline", f"baselines/{version['baseline_id']}.json"),
            ("holdout", f"holdouts/{version['holdout_id']}.parquet"),
        ):
            sha = key.split("/", 1)[1].split(".", 1)[0]
            assert artifact_ok(platform, key, sha), f"version {number}: {kind} {key} missing or corrupt"
        if version["status"] == APPROVED:  # registration finished: the model card was written
            card = version.get("model_card_id")
            assert card and artifact_ok(platform, f"cards/{card}.md", card), f"version {number} has no card"
        if version["status"] == PENDING:
            assert running, f"version {number} waits for approval but no execution waits for it"
    for alias in items(platform, model, "ALIAS#"):
        target = versions.get(int(alias["version"]))
        assert target is not None, f"alias {alias['alias']} points at missing version {alias['version']}"
        assert target["status"] == APPROVED, f"alias {alias['alias']} points at a {target['status']} version"
    stuck_runs = [r for r in items(platform, model, "RUN#") if r.get("status") == "running"]
    assert not stuck_runs, f"runs left running: {[r['run_id'] for r in stuck_runs]}"
    champion = next((a for a in items(platform, model, "ALIAS#") if a["alias"] == "champion"), None)
    response = platform.predict(model, cancer_instances(1)) if versions else None
    if champion is None:
        assert response is None or response.status_code == 404, response.text if response else ""
    else:
        assert response is not None and response.status_code == 200, response.text if response else ""
        assert response.json()["version"] == int(champion["version"])
