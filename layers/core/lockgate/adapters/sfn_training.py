"""Starting the training state machine (implements :class:`lockgate.ports.TrainingLauncher`).

Executions are named after the content (``lockgate.domain.dataset.execution_name``), so Step
Functions itself refuses a second start for the same data: ``ExecutionAlreadyExists`` means an
earlier delivery of this upload already started it, and its ARN follows from the name.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import error_code
from lockgate.domain.dataset import execution_arn
from lockgate.domain.training_state import TrainingRequest


class StepFunctionsTrainingLauncher:
    """``start_execution`` on the training state machine, once per name."""

    def __init__(self, state_machine_arn: str, *, stepfunctions_client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._sfn = stepfunctions_client

    @property
    def sfn(self) -> Any:
        return self._sfn or aws.client("stepfunctions")

    def start(self, name: str, request: TrainingRequest) -> str:
        try:
            arn: str = self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(request.to_dict())
            )["executionArn"]
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            return execution_arn(self.state_machine_arn, name)
        return arn
