"""The Lockgate HTTP API: a Chalice app run as a plain Lambda handler (SAM ``Handler: app.app``).

Every route is declared as its own ``Api`` event in the template with the same path, because
Chalice routes by ``requestContext.resourcePath``. The authorizer has already verified the bearer
token; its ``context`` carries ``role`` and ``name``, and admin routes check the role here.
Logic lives in ``lockgate.serving.predictor`` / ``lockgate.serving.capture`` / ``lockgate.adapters.dynamodb.registry``.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice, Response
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.config import settings
from lockgate.errors import ForbiddenError, InvalidRequestError, LockgateError, UnauthorizedError, http_status
from lockgate.serving.capture import S3CaptureLog, validate_labels
from lockgate.serving.predictor import Predictor, parse_json_body, parse_version_param

app = Chalice(app_name="lockgate-api")
logger = Logger()
metrics = Metrics()
JSON = ["application/json"]


@functools.cache
def registry() -> DynamoDBModelRegistry:
    settings().require("registry_table")
    return DynamoDBModelRegistry(settings().registry_table)


@functools.cache
def predictor() -> Predictor:
    settings().require("artifact_bucket")
    store = S3ArtifactStore(settings().artifact_bucket)
    return Predictor(registry=registry(), artifacts=store, max_instances=settings().max_batch_instances)


@functools.cache
def capture_log() -> S3CaptureLog:
    return S3CaptureLog(settings().artifact_bucket, sampling_rate=settings().capture_sampling_rate)


def reply(status: int, body: Any) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, allow_nan=False, default=str)
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json"})


def principal(*, admin: bool = False) -> dict[str, str]:
    context = (app.current_request.context or {}).get("authorizer") or {}
    if context.get("role") not in ("predict", "admin"):
        raise UnauthorizedError("this route needs a bearer token")
    if admin and context["role"] != "admin":
        raise ForbiddenError("this route needs an admin token")
    return {"role": str(context["role"]), "name": str(context.get("name", ""))}


def body() -> Any:
    return parse_json_body(app.current_request.raw_body)


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Map typed errors to their status and JSON body; anything else is a 500 without internals."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        try:
            return view(**kwargs)
        except LockgateError as exc:
            status = http_status(exc)
            metrics.add_metric(
                name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1
            )
            (logger.error if status >= 500 else logger.info)(
                "request refused", extra={"error": exc.code, "reason": exc.message}
            )
            return reply(status, exc.to_dict())
        except Exception:
            metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
            logger.exception("unhandled error")
            return reply(
                500, {"error": "InternalError", "message": "internal error; see the function's logs"}
            )

    return wrapper


@app.middleware("http")
def observe(event: Any, get_response: Callable[[Any], Response]) -> Response:
    started = time.perf_counter()
    response = get_response(event)
    if isinstance(response.body, dict) and "Code" in response.body:  # Chalice's own errors: our shape
        message = str(response.body.get("Message", ""))
        if response.status_code == 415:
            message += "; send Content-Type: application/json"
        response.body = {"error": response.body["Code"], "message": message}
        response.headers["Content-Type"] = "application/json"
    logger.info(
        "request",
        extra={
            "path": getattr(event, "path", ""),
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
    if metrics.metric_set:
        metrics.flush_metrics()
    return response


@app.route("/health", methods=["GET"])
@api
def health() -> Response:
    return reply(200, {"status": "ok", "code_version": settings().code_version})


@app.route("/models", methods=["GET"])
@api
def list_models() -> Response:
    principal()
    return reply(200, {"models": registry().list_models()})


@app.route("/models/{model}", methods=["GET"])
@api
def get_model(model: str) -> Response:
    principal()
    versions = [v.to_dict() for v in registry().list_model_versions(model)]
    summary_keys = ("version", "status", "metrics", "aliases", "created_at", "intent")
    return reply(200, {"model": model, "versions": [{k: v[k] for k in summary_keys} for v in versions]})


@app.route("/models/{model}/versions/{version}", methods=["GET"])
@api
def get_version(model: str, version: str) -> Response:
    principal()
    return reply(200, registry().get_model_version(model, _version(version)).to_dict())


@app.route("/models/{model}/predict", methods=["POST"], content_types=JSON)
@api
def predict(model: str) -> Response:
    principal()
    params = app.current_request.query_params or {}
    request_body = body()
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


@app.route("/models/{model}/feedback", methods=["POST"], content_types=JSON)
@api
def feedback(model: str) -> Response:
    principal()
    labels = validate_labels(body())
    registry().list_model_versions(model)  # 404 for a model that does not exist
    return reply(202, capture_log().record_labels(model, labels).to_dict())


@app.route("/models/{model}/versions/{version}/approve", methods=["POST"], content_types=JSON)
@api
def approve(model: str, version: str) -> Response:
    who = principal(admin=True)
    comment = _comment(app.current_request.raw_body)
    return reply(
        200, registry().approve(model, _version(version), actor=who["name"], comment=comment).to_dict()
    )


@app.route("/models/{model}/versions/{version}/reject", methods=["POST"], content_types=JSON)
@api
def reject(model: str, version: str) -> Response:
    who = principal(admin=True)
    comment = _comment(app.current_request.raw_body)
    return reply(
        200, registry().reject(model, _version(version), actor=who["name"], comment=comment).to_dict()
    )


@app.route("/models/{model}/aliases/{alias}", methods=["PUT"], content_types=JSON)
@api
def set_alias(model: str, alias: str) -> Response:
    who = principal(admin=True)
    request = body()
    if not isinstance(request, dict) or "version" not in request:
        raise InvalidRequestError('send {"version": N, "expected_revision": R (optional), "reason": "..."}')
    version = request["version"]
    revision = request.get("expected_revision")
    reason = request.get("reason", "")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidRequestError("version must be a positive integer", field="version")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 0):
        raise InvalidRequestError(
            "expected_revision must be a non-negative integer", field="expected_revision"
        )
    if not isinstance(reason, str) or len(reason) > 1000:
        raise InvalidRequestError("reason must be a string of at most 1000 characters", field="reason")
    moved = registry().set_alias(
        model, alias, version, actor=who["name"], reason=reason, expected_revision=revision
    )
    return reply(200, moved.to_dict())


def _version(text: str) -> int:
    return parse_version_param(text) or 0  # never 0: a path parameter is never None


def _comment(raw: bytes | str | None) -> str:
    if not raw:
        return ""
    request = parse_json_body(raw)
    comment = request.get("comment", "") if isinstance(request, dict) else None
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidRequestError('send {"comment": "<at most 2000 characters>"} or no body', field="comment")
    return comment
