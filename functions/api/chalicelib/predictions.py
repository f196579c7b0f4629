"""Serving: predictions (validated, captured, measured) and ground-truth feedback."""

from __future__ import annotations

import time
from collections.abc import Mapping

from aws_lambda_powertools.metrics import MetricUnit
from chalice import Blueprint, Response
from lockgate.domain.capture import validate_labels
from lockgate.serving.signature import parse_version_param

from chalicelib.deps import capture_log, predictor, registry
from chalicelib.http import JSON, api, body, metrics, principal, reply

routes = Blueprint(__name__)


@routes.route("/models/{model}/predict", methods=["POST"], content_types=JSON)
@api
def predict(model: str) -> Response:
    request = routes.current_request
    principal(request)
    params: Mapping[str, str] = request.query_params or {}
    request_body = body(request)
    started = time.perf_counter()
    result = predictor().predict(
        model, request_body, version=parse_version_param(params.get("version")), alias=params.get("alias")
    )
    capture_log().capture(result)
    metrics.add_dimension(name="model", value=result.model)
    metrics.add_dimension(name="version", value=str(result.version))
    metrics.add_metric(
        name="PredictLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
    )
    metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=len(result.predictions))
    return reply(200, result.to_json())


@routes.route("/models/{model}/feedback", methods=["POST"], content_types=JSON)
@api
def feedback(model: str) -> Response:
    request = routes.current_request
    principal(request)
    labels = validate_labels(body(request))
    registry().list_model_versions(model)  # 404 for a model that does not exist
    return reply(202, capture_log().record_labels(model, labels).to_dict())
