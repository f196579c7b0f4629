"""Starting the state machines: training (:class:`lockgate.ports.TrainingLauncher`) and batch
scoring (:class:`lockgate.ports.BatchLauncher`).

Training executions are named after the content (``lockgate.domain.dataset.execution_name``), so Step
Functions itself refuses a second start for the same data: ``ExecutionAlreadyExists`` means an
earlier delivery of this upload already started it, and its ARN follows from the name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from lockgate.adapters import aws
from lockgate.adapters.dynamodb.table import error_code
from lockgate.domain.batch import BatchJob, Chunk
from lockgate.domain.dataset import execution_arn
from lockgate.domain.training_state import TrainingRequest
from lockgate.errors import ConfigurationError


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


class StepFunctionsBatchLauncher:
    """``start_execution`` on the batch state machine: a Map over the chunks, then the merge."""

    def __init__(self, state_machine_arn: str, *, stepfunctions_client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._sfn = stepfunctions_client

    @property
    def sfn(self) -> Any:
        return self._sfn or aws.client("stepfunctions")

    def start(self, job: BatchJob, chunks: Sequence[Chunk]) -> str:
        if not self.state_machine_arn:
            raise ConfigurationError("missing environment variable(s) BATCH_STATE_MACHINE_ARN")
        payload = {"job": job.to_dict(), "chunks": [chunk.to_dict() for chunk in chunks]}
        arn: str = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, input=json.dumps(payload)
        )["executionArn"]
        return arn
