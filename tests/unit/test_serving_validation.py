"""Serving input validation: every bad input gets its 4xx and a message naming the problem."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from fakes.lifecycle import InMemoryArtifacts, InMemoryModelRegistry
from lockgate.domain.artifacts import artifact_key
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, ModelVersion, NewModelVersion
from lockgate.errors import (
    AliasNotFoundError,
    IntegrityError,
    InvalidRequestError,
    LockgateError,
    ModelServingError,
    PayloadTooLargeError,
    VersionConflictError,
    http_status,
)
from lockgate.serving.predictor import Predictor, clear_session_cache
from lockgate.serving.signature import (
    Feature,
    Signature,
    build_feeds,
    parse_json_body,
    parse_version_param,
    validate_instances,
)
from support.serving_models import classifier, regressor

SIG = Signature(
    task="classification",
    inputs=(Feature("age", "number"), Feature("workclass", "string")),
    classes=("<=50K", ">50K"),
)
GOOD = {"age": 39, "workclass": "Private"}


def refused(body: Any, *, max_instances: int = 1000) -> LockgateError:
    with pytest.raises(LockgateError) as info:
        validate_instances(body, SIG, max_instances=max_instances)
    return info.value


# ------------------------------------------------------------------ bodies


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"", "empty"),
        (None, "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_broken_bodies_are_400_saying_why(raw: bytes | None, needle: str) -> None:
    # GIVEN a body that is not usable JSON / WHEN it is parsed
    with pytest.raises(InvalidRequestError) as info:
        parse_json_body(raw)
    # THEN it is a 400 whose message names the problem
    assert http_status(info.value) == 400
    assert needle in info.value.message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([GOOD], "must be a JSON object"),
        ("instances", "must be a JSON object"),
        ({}, '"instances" must be a list'),
        ({"instances": {"age": 1}}, '"instances" must be a list'),
        ({"instances": []}, "empty"),
        ({"instances": [5]}, "instances[0] must be an object"),
        ({"instances": [GOOD, [1, 2]]}, "instances[1] must be an object"),
    ],
)
def test_wrong_shapes_are_400(body: Any, needle: str) -> None:
    error = refused(body)
    assert http_status(error) == 400
    assert needle in error.message


def test_missing_feature_names_the_instance_and_feature() -> None:
    # GIVEN the second instance lacks workclass
    error = refused({"instances": [GOOD, {"age": 50}]})
    # THEN the 400 says which instance and which feature
    assert http_status(error) == 400
    assert error.message == "instances[1] is missing feature 'workclass'"
    assert error.details["feature"] == "workclass" and error.details["instance"] == 1


@pytest.mark.parametrize(
    ("age", "needle"),
    [
        (True, "must be a number or null, got boolean"),
        ("39", "must be a number or null, got string"),
        ({"v": 1}, "got object"),
        ([39], "got array"),
        (math.nan, "must be finite"),
        (math.inf, "must be finite"),
        (-math.inf, "must be finite"),
        (1e39, "out of range"),
        (10**400, "out of range"),
    ],
)
def test_bad_numbers_are_400_naming_the_field(age: Any, needle: str) -> None:
    error = refused({"instances": [{"age": age, "workclass": "Private"}]})
    assert http_status(error) == 400
    assert "instances[0].age" in error.message and needle in error.message


def test_nan_literal_in_raw_json_is_refused() -> None:
    # GIVEN Python's json accepts the non-standard NaN literal
    body = parse_json_body(b'{"instances": [{"age": NaN, "workclass": "x"}]}')
    # THEN validation still refuses it
    assert "must be finite" in refused(body).message


@pytest.mark.parametrize(
    ("value", "needle"), [(False, "got boolean"), ({"a": 1}, "got object"), ([], "got array")]
)
def test_bad_strings_are_400(value: Any, needle: str) -> None:
    error = refused({"instances": [{"age": 1, "workclass": value}]})
    assert "instances[0].workclass" in error.message and needle in error.message


def test_huge_string_is_400() -> None:
    assert "longer than" in refused({"instances": [{"age": 1, "workclass": "x" * 5000}]}).message


def test_oversized_batch_is_413() -> None:
    error = refused({"instances": [GOOD] * 11}, max_instances=10)
    assert isinstance(error, PayloadTooLargeError)
    assert http_status(error) == 413 and "limit of 10" in error.message


def test_nulls_are_missing_numbers_cast_to_category_and_extra_keys_ignored() -> None:
    # GIVEN nulls, a numeric category and an extra key
    rows = validate_instances(
        {"instances": [{"age": None, "workclass": None}, {"age": 30, "workclass": 3, "id": "x"}]}, SIG
    )
    # THEN nulls are missing, the number is a category string, the extra key is gone
    assert rows == [{"age": None, "workclass": None}, {"age": 30.0, "workclass": "3"}]
    feeds = build_feeds(rows, SIG)
    assert feeds["age"].dtype == np.float32 and feeds["age"].shape == (2, 1)
    assert math.isnan(float(feeds["age"][0, 0])) and feeds["workclass"][0, 0] == ""
    assert feeds["workclass"].dtype == object and feeds["workclass"][1, 0] == "3"


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5", "²", "123456789", ""])
def test_bad_version_parameter_is_400(text: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_version_param(text)


# ------------------------------------------------------------------ predictor with in-memory fakes


RUNS = itertools.count(1)


def register(
    registry: InMemoryModelRegistry, model: str, status: str, model_artifact: str, signature: dict[str, Any]
) -> ModelVersion:
    """A version of ``model`` serving ``model_artifact``; the other fields are not read by serving."""
    return registry.create_model_version(
        NewModelVersion(
            model=model,
            status=status,
            run_id=f"run-{next(RUNS)}",
            dataset_id="d" * 64,
            model_artifact=model_artifact,
            baseline_id="b" * 64,
            holdout_id="h" * 64,
            spec_id="s" * 64,
            report_id="r" * 64,
            signature=signature,
            metrics={},
            params={},
            seed=0,
            environment={},
            code_version="test",
            intent="test",
        )
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> tuple[Predictor, InMemoryModelRegistry, InMemoryArtifacts, Clock]:
    # income v1 Approved (champion), income v2 Pending, price v1 Approved (champion)
    clear_session_cache()
    registry, artifacts, clock = InMemoryModelRegistry(), InMemoryArtifacts(), Clock()
    for name, trained, status in [
        ("income", classifier(), APPROVED),
        ("income", classifier(), PENDING),
        ("price", regressor(), APPROVED),
    ]:
        stored = artifacts.put_bytes("models", trained.onnx, ext="onnx")
        register(registry, name, status, stored.sha256, trained.signature)
    registry.set_alias("income", CHAMPION, 1, actor="test")
    registry.set_alias("price", CHAMPION, 1, actor="test")
    return Predictor(registry=registry, artifacts=artifacts, clock=clock), registry, artifacts, clock


def test_classifier_predictions_match_scikit_learn(served: Any) -> None:
    predictor, *_ = served
    trained = classifier()
    # WHEN the training rows are sent
    result = predictor.predict("income", {"instances": trained.rows})
    # THEN labels equal scikit-learn's and probabilities agree within float32 precision
    expected = trained.pipeline.predict(__import__("pandas").DataFrame(trained.rows))
    assert result.predictions == list(expected)
    proba = trained.pipeline.predict_proba(__import__("pandas").DataFrame(trained.rows))
    got = np.array([[p["<=50K"], p[">50K"]] for p in result.probabilities or []])
    assert np.allclose(got, proba, atol=1e-5)
    assert len(set(result.prediction_ids)) == len(trained.rows)
    json.loads(result.to_json())  # strict JSON, no NaN


def test_regressor_and_unknown_category(served: Any) -> None:
    predictor, *_ = served
    # GIVEN a category never seen in training and a missing size
    result = predictor.predict(
        "price", {"instances": [{"size": 100, "area": "zz"}, {"size": None, "area": 2}]}
    )
    # THEN the model answers (one-hot ignores the unknown) with finite numbers and no probabilities
    assert all(math.isfinite(p) for p in result.predictions)
    assert result.probabilities is None and "probabilities" not in result.to_dict()


def test_pending_version_is_not_served(served: Any) -> None:
    predictor, *_ = served
    with pytest.raises(VersionConflictError) as info:
        predictor.predict("income", {"instances": [GOOD]}, version=2)
    assert "only Approved versions are served" in info.value.message


def test_alias_is_cached_for_a_few_seconds_only(served: Any) -> None:
    predictor, registry, _, clock = served
    row = {"instances": [{"age": 40, "hours": 40, "workclass": "Self"}]}
    assert predictor.predict("income", row).version == 1
    # GIVEN the alias moves to a new version
    artifact = registry.get_model_version("income", 1).model_artifact
    moved = register(registry, "income", APPROVED, artifact, classifier().signature)
    registry.set_alias("income", CHAMPION, moved.version, actor="test")
    assert moved.version != 1
    # THEN within the TTL the old answer stands, after it the new version answers
    clock.now = 1.0
    assert predictor.predict("income", row).version == 1
    clock.now = 6.0
    assert predictor.predict("income", row).version == moved.version


def test_session_is_loaded_once_per_version(served: Any) -> None:
    predictor, _, artifacts, _ = served
    for _ in range(3):
        predictor.predict("income", {"instances": [{"age": 1, "hours": 2, "workclass": "Gov"}]})
    assert artifacts.reads == 1


def test_tampered_model_is_refused_and_never_served(served: Any) -> None:
    predictor, registry, artifacts, _ = served
    sha = registry.get_version_by_alias("price", CHAMPION).model_artifact
    key = ("models", artifact_key("models", sha, "onnx"))
    data = bytearray(artifacts.blobs[key])
    data[-5] ^= 0xFF
    artifacts.blobs[key] = bytes(data)
    for _ in range(2):  # the refusal is not cached into a session
        with pytest.raises(IntegrityError):
            predictor.predict("price", {"instances": [{"size": 1, "area": "1"}]})


def test_signature_that_disagrees_with_graph_is_a_500(served: Any) -> None:
    predictor, registry, _, _ = served
    v = registry.get_model_version("income", 1)
    wrong = {**v.signature, "inputs": [{"name": "age", "type": "number"}]}
    disagreeing = register(registry, "income", APPROVED, v.model_artifact, wrong)
    with pytest.raises(ModelServingError) as info:
        predictor.predict("income", {"instances": [{"age": 1}]}, version=disagreeing.version)
    assert http_status(info.value) == 500


def test_unknown_alias_and_bad_alias_names(served: Any) -> None:
    predictor, *_ = served
    with pytest.raises(AliasNotFoundError):
        predictor.predict("income", {"instances": [GOOD]}, alias="challenger")
    with pytest.raises(InvalidRequestError):
        predictor.predict("income", {"instances": [GOOD]}, alias="")
    with pytest.raises(InvalidRequestError):
        predictor.predict("income", {"instances": [GOOD]}, version=1, alias="champion")
