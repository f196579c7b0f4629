"""The Lockgate HTTP API: a Chalice app run as a plain Lambda handler (SAM ``Handler: app.app``).

Every route is declared as its own ``Api`` event in the template with the same path, because
Chalice routes by ``requestContext.resourcePath``. The routes live in Blueprints by concern
(``chalicelib/models.py``, ``predictions.py``, ``approvals.py``); what they share (reply, role
checks, the one error mapping) is ``chalicelib/http.py``, the adapters ``chalicelib/deps.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalicelib import approvals, models, predictions
from chalicelib.http import logger, metrics

app = Chalice(app_name="lockgate-api")
for blueprint in (models.routes, predictions.routes, approvals.routes):
    app.register_blueprint(blueprint)


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
