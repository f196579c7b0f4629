"""Reading the registry: health, the models, a model's versions, one version."""

from __future__ import annotations

from chalice import Blueprint, Response
from lockgate.config import settings

from chalicelib.deps import registry
from chalicelib.http import api, principal, reply, version_param

routes = Blueprint(__name__)

SUMMARY_KEYS = ("version", "status", "metrics", "aliases", "created_at", "intent")


@routes.route("/health", methods=["GET"])
@api
def health() -> Response:
    return reply(200, {"status": "ok", "code_version": settings().code_version})


@routes.route("/models", methods=["GET"])
@api
def list_models() -> Response:
    principal(routes.current_request)
    return reply(200, {"models": [m.to_dict() for m in registry().list_models()]})


@routes.route("/models/{model}", methods=["GET"])
@api
def get_model(model: str) -> Response:
    principal(routes.current_request)
    versions = [v.to_dict() for v in registry().list_model_versions(model)]
    return reply(200, {"model": model, "versions": [{k: v[k] for k in SUMMARY_KEYS} for v in versions]})


@routes.route("/models/{model}/versions/{version}", methods=["GET"])
@api
def get_version(model: str, version: str) -> Response:
    principal(routes.current_request)
    return reply(200, registry().get_model_version(model, version_param(version)).to_dict())
