"""What every route shares: the JSON reply, the caller's role, the body, and the one error mapping.

The authorizer has already verified the bearer token; its ``context`` carries ``role`` and ``name``,
and admin routes check the role here. A :class:`LockgateError` answers its own ``status`` with
``to_dict()``; anything else is a 500 that reveals nothing of the internals.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Response
from chalice.app import Request
from lockgate.domain.tokens import ROLES, Principal
from lockgate.errors import ForbiddenError, InvalidRequestError, LockgateError, UnauthorizedError
from lockgate.serving.signature import parse_json_body, parse_version_param

logger = Logger()
metrics = Metrics()
JSON = ["application/json"]
INTERNAL_ERROR = {"error": "InternalError", "message": "internal error; see the function's logs"}


def reply(status: int, body: Any) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, allow_nan=False, default=str)
    return Response(body=text, status_code=status, headers={"Content-Type": "application/json"})


def principal(request: Request, *, admin: bool = False) -> Principal:
    """Who is calling, from the authorizer's context; 401 without a role, 403 for a non-admin."""
    context = (request.context or {}).get("authorizer") or {}
    if context.get("role") not in ROLES:
        raise UnauthorizedError("this route needs a bearer token")
    if admin and context["role"] != "admin":
        raise ForbiddenError("this route needs an admin token")
    return Principal(role=str(context["role"]), name=str(context.get("name", "")))


def body(request: Request) -> Any:
    return parse_json_body(request.raw_body)


def error_reply(exc: Exception) -> Response:
    """The answer for an error a view raised: its own status and body, or an opaque 500."""
    if isinstance(exc, LockgateError):
        status = exc.status
        metrics.add_metric(
            name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1
        )
        (logger.error if status >= 500 else logger.info)(
            "request refused", extra={"error": exc.code, "reason": exc.message}
        )
        return reply(status, exc.to_dict())
    metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    logger.exception("unhandled error")
    return reply(500, INTERNAL_ERROR)


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Every route goes through :func:`error_reply` for whatever it raises."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        try:
            return view(**kwargs)
        except Exception as exc:  # noqa: BLE001 - the one place a request's errors become answers
            return error_reply(exc)

    return wrapper


def version_param(text: str) -> int:
    """A ``{version}`` path parameter: a positive integer, or a 400."""
    return parse_version_param(text) or 0  # never 0: a path parameter is never None


def comment_param(raw: bytes | str | None) -> str:
    """An optional ``{"comment": "..."}`` body of an approval decision."""
    if not raw:
        return ""
    request = parse_json_body(raw)
    comment = request.get("comment", "") if isinstance(request, dict) else None
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidRequestError('send {"comment": "<at most 2000 characters>"} or no body', field="comment")
    return comment
