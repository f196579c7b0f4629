"""Step Functions adapter: resume an execution parked on a task token (``.waitForTaskToken``).

Implements :class:`lockgate.ports.TaskTokens`. The approval task parks the training execution
with a token; a reviewer's decision (CLI or API, through the registry) resumes it here. An
execution that already ended (timed out, stopped) is logged, not raised: the decision stands in
the registry either way.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws

logger = logging.getLogger(__name__)

# Step Functions refuses a longer failure cause.
MAX_CAUSE = 32768
_GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StepFunctionsTaskTokens:
    """``send_task_success`` / ``send_task_failure`` for one token, tolerating a gone execution."""

    def __init__(self, *, stepfunctions_client: Any | None = None) -> None:
        self._sfn = stepfunctions_client

    @property
    def sfn(self) -> Any:
        return self._sfn or aws.client("stepfunctions")

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._send(lambda: self.sfn.send_task_success(taskToken=token, output=json.dumps(output)))

    def fail(self, token: str, *, error: str, cause: str) -> None:
        self._send(lambda: self.sfn.send_task_failure(taskToken=token, error=error, cause=cause[:MAX_CAUSE]))

    @staticmethod
    def _send(call: Any) -> None:
        try:
            call()
        except ClientError as exc:
            if _code(exc) not in _GONE:
                raise
            logger.warning("the execution waiting on this task token is gone: %s", _code(exc))
