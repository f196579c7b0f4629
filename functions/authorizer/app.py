"""API Gateway TOKEN authorizer: a Lockgate bearer token in, an allow policy with the role out.

API Gateway answers 401 only when the authorizer raises ``Exception("Unauthorized")``; any other
failure becomes a 500, so lookup errors propagate as they are (the caller may retry).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from lockgate.adapters import wiring
from lockgate.domain.tokens import allow_policy, bearer
from lockgate.errors import UnauthorizedError
from lockgate.services.tokens import verify_token

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = verify_token(bearer(event.get("authorizationToken")), tokens=wiring.token_store())
    except UnauthorizedError as exc:
        logger.info("token refused", extra={"reason": exc.message})
        raise Exception("Unauthorized") from None  # noqa: TRY002 - the exact text API Gateway expects
    logger.info("token accepted", extra={"role": principal.role, "principal": principal.name})
    return allow_policy(principal, str(event["methodArn"]))
