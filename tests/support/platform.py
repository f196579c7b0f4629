"""The whole Lockgate stack on the local cloud, driven as a user drives it.

A :class:`Platform` wraps a started :class:`~localcloud.cloud.LocalCloud` with the real
``template.yaml`` deployed, and offers what a user does: put a spec, upload a file, wait for
the pipeline, call the HTTP API with a token, fire a schedule. Tests observe effects through AWS
APIs and HTTP only; no handler is called directly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml
from localcloud.cloud import LocalCloud
from localcloud.scheduler import FakeClock
from lockgate.adapters.dynamodb.table import DATASET, model_pk, query
from lockgate.adapters.dynamodb.tokens import DynamoDBTokenStore
from lockgate.services.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.2) -> T:
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


class Platform:
    def __init__(self, cloud: LocalCloud, clock: FakeClock) -> None:
        self.cloud = cloud
        self.clock = clock
        out = cloud.outputs
        self.data_bucket = out["DataBucketName"]
        self.artifact_bucket = out["ArtifactBucketName"]
        self.table = out["RegistryTableName"]
        self.bus = out["EventBusName"]
        self.api_url = out["ApiUrl"]
        self.state_machine = out["TrainingStateMachineArn"]
        self.s3 = cloud.client("s3")
        self.sfn = cloud.client("stepfunctions")
        self.ddb = cloud.client("dynamodb")
        self._tokens: dict[str, str] = {}
        self._events_queue = self._capture_events()

    # ------------------------------------------------------------------ data in
    def put_spec(self, spec: dict[str, Any]) -> None:
        self.s3.put_object(
            Bucket=self.data_bucket, Key=f"specs/{spec['model']}.yaml", Body=yaml.safe_dump(spec).encode()
        )

    def upload(self, model: str, name: str, body: bytes, *, metadata: dict[str, str] | None = None) -> str:
        key = f"datasets/{model}/{name}"
        self.s3.put_object(Bucket=self.data_bucket, Key=key, Body=body, Metadata=metadata or {})
        return key

    def executions(self) -> list[dict[str, Any]]:
        return list(self.sfn.list_executions(stateMachineArn=self.state_machine)["executions"])

    def wait_for_pipeline(
        self, model: str, *, known: set[str] | None = None, timeout: float = 180.0
    ) -> dict[str, Any]:
        """The first execution for ``model`` not in ``known``, once it has finished (any status)."""
        known = known or set()

        def finished() -> dict[str, Any] | None:
            for ex in self.executions():
                if (
                    ex["name"].startswith(model + "-")
                    and ex["executionArn"] not in known
                    and ex["status"] != "RUNNING"
                ):
                    return dict(self.sfn.describe_execution(executionArn=ex["executionArn"]))
            return None

        self.cloud.wait_idle(timeout)
        result = wait_for(finished, timeout=timeout)
        assert result, f"no finished pipeline for {model} within {timeout:.0f}s: {self.executions()}"
        return result

    def known_executions(self) -> set[str]:
        return {e["executionArn"] for e in self.executions()}

    def datasets(self, model: str) -> list[dict[str, Any]]:
        return list(query(self.ddb, self.table, model_pk(model), DATASET))

    # ------------------------------------------------------------------ HTTP API
    def token(self, role: str = "admin") -> str:
        if role not in self._tokens:
            tokens = DynamoDBTokenStore(self.table, dynamodb_client=self.ddb)
            self._tokens[role] = create_token(role, f"tests-{role}", tokens=tokens)
        return self._tokens[role]

    def api(
        self, method: str, path: str, *, role: str | None = "predict", **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role:
            headers.setdefault("Authorization", f"Bearer {self.token(role)}")
        return requests.request(method, self.api_url + path, headers=headers, timeout=60, **kwargs)

    def predict(self, model: str, instances: list[dict[str, Any]], **params: Any) -> requests.Response:
        return self.api("POST", f"/models/{model}/predict", json={"instances": instances}, params=params)

    # ------------------------------------------------------------------ events and schedules
    def _capture_events(self) -> str:
        sqs = self.cloud.client("sqs")
        events = self.cloud.client("events")
        url = sqs.create_queue(QueueName="tests-lockgate-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="tests-all-lockgate",
            EventBusName=self.bus,
            EventPattern=json.dumps({"source": ["lockgate"]}),
        )
        events.put_targets(
            Rule="tests-all-lockgate", EventBusName=self.bus, Targets=[{"Id": "q", "Arn": arn}]
        )
        self._seen: list[dict[str, Any]] = []
        return str(url)

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Every Lockgate event seen so far (optionally of one type), oldest first."""
        sqs = self.cloud.client("sqs")
        while True:
            msgs = sqs.receive_message(QueueUrl=self._events_queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not msgs:
                break
            for m in msgs:
                self._seen.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self._events_queue, ReceiptHandle=m["ReceiptHandle"])
        return [e for e in self._seen if detail_type is None or e["detail-type"] == detail_type]

    def invoke(self, logical_id: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        response = self.cloud.client("lambda").invoke(
            FunctionName=self.cloud.function_name(logical_id), Payload=json.dumps(payload).encode()
        )
        return json.loads(response["Payload"].read()), "FunctionError" in response

    def advance(self, minutes: float) -> None:
        """Move the schedule clock forward and let every due schedule fire."""
        self.clock.advance(timedelta(minutes=minutes))
        self.cloud.scheduler.tick()
        self.cloud.wait_idle(300)


def start_platform(state_dir: Path) -> tuple[LocalCloud, Platform]:
    clock = FakeClock(datetime.now(UTC))
    cloud = LocalCloud(
        root=ROOT, clock=clock, state_dir=state_dir, run_scheduler=False, retry_delays=(0.2, 0.2)
    )
    cloud.start()
    try:
        cloud.deploy()
        return cloud, Platform(cloud, clock)
    except BaseException:
        cloud.stop()
        raise
