"""Admin decisions: approve or reject a version waiting for approval, move an alias."""

from __future__ import annotations

from chalice import Blueprint, Response
from lockgate.errors import InvalidRequestError

from chalicelib.deps import registry
from chalicelib.http import JSON, api, body, comment_param, principal, reply, version_param

routes = Blueprint(__name__)


@routes.route("/models/{model}/versions/{version}/approve", methods=["POST"], content_types=JSON)
@api
def approve(model: str, version: str) -> Response:
    return _decide(model, version, approve=True)


@routes.route("/models/{model}/versions/{version}/reject", methods=["POST"], content_types=JSON)
@api
def reject(model: str, version: str) -> Response:
    return _decide(model, version, approve=False)


def _decide(model: str, version: str, *, approve: bool) -> Response:
    """An admin's decision on a pending version, with an optional comment, recorded by name."""
    request = routes.current_request
    who = principal(request, admin=True)
    comment = comment_param(request.raw_body)
    decide = registry().approve if approve else registry().reject
    decided = decide(model, version_param(version), actor=who.name, comment=comment)
    return reply(200, decided.to_dict())


@routes.route("/models/{model}/aliases/{alias}", methods=["PUT"], content_types=JSON)
@api
def set_alias(model: str, alias: str) -> Response:
    request = routes.current_request
    who = principal(request, admin=True)
    sent = body(request)
    if not isinstance(sent, dict) or "version" not in sent:
        raise InvalidRequestError('send {"version": N, "expected_revision": R (optional), "reason": "..."}')
    version = sent["version"]
    revision = sent.get("expected_revision")
    reason = sent.get("reason", "")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidRequestError("version must be a positive integer", field="version")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 0):
        raise InvalidRequestError(
            "expected_revision must be a non-negative integer", field="expected_revision"
        )
    if not isinstance(reason, str) or len(reason) > 1000:
        raise InvalidRequestError("reason must be a string of at most 1000 characters", field="reason")
    moved = registry().set_alias(
        model, alias, version, actor=who.name, reason=reason, expected_revision=revision
    )
    return reply(200, moved.to_dict())
