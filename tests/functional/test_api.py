"""The API function (Chalice app) driven through its Lambda handler with REST proxy events, on moto."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.domain.model_version import NewModelVersion
from lockgate.serving.predictor import clear_session_cache
from support.handlers import ROOT, FakeContext, load_event, load_function
from support.resources import load_template
from support.serving_models import classifier

MODEL = "income"
ROW = {"age": 39, "hours": 40, "workclass": "Private"}


class Api:
    """Send proxy events built from events/api/*.json through the handler."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def call(
        self,
        case: str,
        *,
        body: Any = None,
        raw: str | None = None,
        query: dict[str, str] | None = None,
        role: str | None = "keep",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        event = copy.deepcopy(load_event("api", case))
        if body is not None:
            event["body"] = json.dumps(body)
        if raw is not None:
            event["body"] = raw
        if query is not None:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        if params:
            event["pathParameters"].update(params)
        if headers is not None:
            event["headers"] = headers
        if role is None:
            event["requestContext"].pop("authorizer", None)
        elif role != "keep":
            event["requestContext"]["authorizer"] = {"role": role, "name": "tester"}
        response = self.module.app(event, FakeContext("api"))
        assert response["headers"]["Content-Type"] == "application/json"
        return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def api_platform(moto_platform: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The moto platform with an ONNX model registered: v1 Approved and champion, v2 pending approval."""
    names = moto_platform
    clear_session_cache()
    trained = classifier()
    store = S3ArtifactStore(names["ARTIFACT_BUCKET"])
    ref = store.put_bytes("models", trained.onnx, ext="onnx")
    registry = DynamoDBModelRegistry(names["REGISTRY_TABLE"])
    common: dict[str, Any] = dict(
        run_id="r-1",
        dataset_id="d" * 64,
        model_artifact=ref.sha256,
        baseline_id="b" * 64,
        holdout_id="h" * 64,
        spec_id="s" * 64,
        report_id="p" * 64,
        signature=trained.signature,
        metrics={"f1": 0.8},
        params={},
        seed=0,
        environment={},
        code_version="test",
        intent="test",
    )
    v1 = registry.create_model_version(NewModelVersion(model=MODEL, status="Approved", **common))
    registry.set_alias(MODEL, "champion", v1.version, actor="test")
    v2 = registry.create_model_version(
        NewModelVersion(model=MODEL, status="PendingManualApproval", **{**common, "run_id": "r-2"})
    )
    module = load_function("api")
    yield {
        "names": names,
        "api": Api(module),
        "module": module,
        "deps": sys.modules["chalicelib.deps"],
        "registry": registry,
        "store": store,
        "artifact": ref.sha256,
        "v1": v1.version,
        "v2": v2.version,
    }
    clear_session_cache()


def s3_lines(bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    out: list[dict[str, Any]] = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        text = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        out.extend(json.loads(line) for line in text.splitlines())
    return out


def test_predict_answers_like_the_trained_model_and_captures(api_platform: dict[str, Any]) -> None:
    # GIVEN the champion is version 1 / WHEN the sample predict event is sent
    status, body = api_platform["api"].call("predict")
    # THEN 200 with labels as in training data, probabilities per class and an id per prediction
    assert status == 200
    instances = load_event("api", "predict")["body"]
    rows = json.loads(instances)["instances"]
    trained = classifier()
    assert body["model"] == MODEL and body["version"] == api_platform["v1"]
    assert body["predictions"] == list(trained.pipeline.predict(pd.DataFrame(rows)))
    proba = trained.pipeline.predict_proba(pd.DataFrame(rows))
    assert np.allclose([[p["<=50K"], p[">50K"]] for p in body["probabilities"]], proba, atol=1e-5)
    assert len(set(body["prediction_ids"])) == 2
    # AND the request was captured, one line per instance, under captures/<model>/date=...
    lines = s3_lines(api_platform["names"]["ARTIFACT_BUCKET"], f"captures/{MODEL}/date=")
    assert [line["prediction_id"] for line in lines] == body["prediction_ids"]
    assert lines[0]["inputs"] == {"age": 39.0, "hours": 40.0, "workclass": "Private"}
    assert lines[0]["version"] == api_platform["v1"] and lines[0]["probabilities"] == body["probabilities"][0]


BAD_INPUTS = [
    ("empty body", {"raw": ""}, 400, "empty"),
    ("not json", {"raw": "{instances: ["}, 400, "not valid JSON"),
    ("deep nesting", {"raw": "[" * 50_000 + "]" * 50_000}, 400, "nested too deeply"),
    ("list body", {"body": [ROW]}, 400, "must be a JSON object"),
    ("no instances", {"body": {"rows": [ROW]}}, 400, '"instances" must be a list'),
    ("empty instances", {"body": {"instances": []}}, 400, "empty"),
    (
        "missing feature",
        {"body": {"instances": [ROW, {"age": 1, "hours": 2}]}},
        400,
        "instances[1] is missing feature 'workclass'",
    ),
    (
        "boolean number",
        {"body": {"instances": [{**ROW, "age": True}]}},
        400,
        "instances[0].age must be a number",
    ),
    ("string number", {"body": {"instances": [{**ROW, "age": "39"}]}}, 400, "got string"),
    ("NaN", {"raw": '{"instances": [{"age": NaN, "hours": 1, "workclass": "x"}]}'}, 400, "finite"),
    ("Infinity", {"raw": '{"instances": [{"age": 1, "hours": -Infinity, "workclass": "x"}]}'}, 400, "finite"),
    ("nested value", {"body": {"instances": [{**ROW, "workclass": {"a": [1]}}]}}, 400, "got object"),
    ("oversized batch", {"body": {"instances": [ROW] * 1001}}, 413, "limit of 1000"),
    ("bad version", {"query": {"version": "one"}}, 400, "positive integer"),
    ("unknown version", {"query": {"version": "99"}}, 404, "no version 99"),
    ("pending version", {"query": {"version": "2"}}, 409, "only Approved versions are served"),
    ("unknown alias", {"query": {"alias": "challenger"}}, 404, "challenger"),
    ("unknown model", {"params": {"model": "nope"}}, 404, "nope"),
    ("invalid model name", {"params": {"model": "../etc"}}, 404, "does not exist"),
    ("wrong content type", {"headers": {"Content-Type": "text/csv"}}, 415, "text/csv"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "needle"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_every_bad_input_gets_its_4xx_naming_the_problem(
    api_platform: dict[str, Any], case: str, kwargs: dict[str, Any], status: int, needle: str
) -> None:
    got, body = api_platform["api"].call("predict", **kwargs)
    assert got == status, body
    assert needle in body["message"] and "error" in body
    assert "Traceback" not in json.dumps(body)


def test_promotion_changes_which_version_answers(api_platform: dict[str, Any]) -> None:
    api, registry = api_platform["api"], api_platform["registry"]
    assert api.call("predict")[1]["version"] == api_platform["v1"]
    # GIVEN an admin approves version 2 and moves the champion alias to it
    assert api.call("approve", params={"version": str(api_platform["v2"])})[0] == 200
    status, moved = api.call("set_alias", body={"version": api_platform["v2"], "expected_revision": 1})
    assert status == 200 and moved["version"] == api_platform["v2"]
    # WHEN the alias cache expires (seconds; zero here)
    api_platform["deps"].predictor().alias_ttl = 0
    api_platform["deps"].predictor()._aliases.clear()
    # THEN version 2 answers, and a stale expected_revision is a 409
    assert api.call("predict")[1]["version"] == api_platform["v2"]
    assert api.call("set_alias", body={"version": api_platform["v1"], "expected_revision": 1})[0] == 409
    assert registry.get_alias(MODEL, "champion").version == api_platform["v2"]


def test_tampered_artifact_is_refused(api_platform: dict[str, Any]) -> None:
    # GIVEN someone overwrote the model's bytes in the bucket
    key = f"models/{api_platform['artifact']}.onnx"
    data = bytearray(classifier().onnx)
    data[100] ^= 0x01
    boto3.client("s3").put_object(Bucket=api_platform["names"]["ARTIFACT_BUCKET"], Key=key, Body=bytes(data))
    # WHEN a prediction is requested / THEN it is refused with the integrity error, no trace
    status, body = api_platform["api"].call("predict")
    assert status == 500 and body["error"] == "IntegrityError" and "predictions" not in body


def test_unauthenticated_and_non_admin_calls_are_refused(api_platform: dict[str, Any]) -> None:
    api = api_platform["api"]
    assert api.call("predict", role=None)[0] == 401
    assert api.call("list_models", role=None)[0] == 401
    for case in ("approve", "reject", "set_alias"):
        status, body = api.call(case, role="predict")
        assert status == 403 and body["error"] == "Forbidden"
    assert (
        api_platform["registry"].get_model_version(MODEL, api_platform["v2"]).status
        == "PendingManualApproval"
    )
    assert (
        api.call("health", role=None) == (200, {"status": "ok", "code_version": "0.1.0"})
        or api.call("health", role=None)[0] == 200
    )


def test_admin_rejects_a_pending_version(api_platform: dict[str, Any]) -> None:
    status, body = api_platform["api"].call("reject", params={"version": str(api_platform["v2"])})
    assert status == 200 and body["status"] == "Rejected"
    assert body["approvals"][-1]["actor"] == "alice"
    assert api_platform["api"].call("reject", body={"comment": 5}, params={"version": "1"})[0] == 400


def test_read_routes(api_platform: dict[str, Any]) -> None:
    api = api_platform["api"]
    status, models = api.call("list_models")
    assert status == 200 and [m["model"] for m in models["models"]] == [MODEL]
    status, model = api.call("get_model")
    assert status == 200 and [v["version"] for v in model["versions"]] == [1, 2]
    assert model["versions"][0]["aliases"] == ["champion"]
    status, version = api.call("get_version")
    assert status == 200 and version["model_artifact"] == api_platform["artifact"]
    assert api.call("get_version", params={"version": "7"})[0] == 404
    assert api.call("get_model", params={"model": "ghost"})[0] == 404


def test_feedback_is_stored_and_validated(api_platform: dict[str, Any]) -> None:
    api = api_platform["api"]
    ids = api.call("predict")[1]["prediction_ids"]
    status, body = api.call("feedback", body={"labels": [{"prediction_id": ids[0], "label": ">50K"}]})
    assert status == 202 and body["accepted"] == 1
    lines = s3_lines(api_platform["names"]["ARTIFACT_BUCKET"], f"labels/{MODEL}/date=")
    assert [(x["prediction_id"], x["label"]) for x in lines] == [(ids[0], ">50K")]
    bad: dict[str, Any]
    for bad in (
        {},
        {"labels": []},
        {"labels": [{"label": "x"}]},
        {"labels": [{"prediction_id": "a/b", "label": 1}]},
        {"labels": [{"prediction_id": "a", "label": None}]},
        {"labels": [{"prediction_id": "a", "label": True}]},
    ):
        assert api.call("feedback", body=bad)[0] == 400, bad
    assert api.call("feedback", params={"model": "ghost"})[0] == 404


def test_every_sample_event_is_handled_without_a_5xx(api_platform: dict[str, Any]) -> None:
    for path in sorted((ROOT / "events" / "api").glob("*.json")):
        status, body = api_platform["api"].call(path.stem)
        assert status < 500, (path.name, body)


def test_template_declares_exactly_the_chalice_routes() -> None:
    # Chalice routes by resourcePath, so every route needs an Api event with the identical path
    resources = load_template()["Resources"]
    declared = {
        (e["Properties"]["Path"], e["Properties"]["Method"])
        for name in ("ApiFunction", "AdminApiFunction")
        for e in resources[name]["Properties"]["Events"].values()
    }
    module = load_function("api")
    routes = {(path, method) for path, methods in module.app.routes.items() for method in methods}
    assert declared == routes
