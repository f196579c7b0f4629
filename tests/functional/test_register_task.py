"""The register task: a version with the right status, a model card, idempotent on run_id."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.s3 import S3ArtifactStore
from lockgate.domain.model_version import APPROVED, PENDING
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events


def state_with_spec(names: dict[str, str], approval: str) -> dict[str, Any]:
    store = S3ArtifactStore(names["ARTIFACT_BUCKET"])
    spec = {"model": "income", "task": "classification", "target": "income", "approval": approval,
            "description": "Flag applicants likely to earn over 50K."}  # fmt: skip
    event = load_event("register", "candidate")
    event["spec"] = {"id": store.put_json("specs", spec).sha256}
    return event


@pytest.mark.parametrize(("approval", "status"), [("auto", APPROVED), ("manual", PENDING)])
def test_register_creates_a_version_whose_status_follows_the_spec(
    moto_platform: dict[str, str], approval: str, status: str
) -> None:
    # GIVEN a candidate that passed its gates, under a spec with auto or manual approval
    queue = capture_events(moto_platform["EVENT_BUS_NAME"])
    event = state_with_spec(moto_platform, approval)
    # WHEN the register task runs
    result = load_function("register").handler(event, FakeContext("register"))
    # THEN version 1 exists with that status, the run's numbers and the spec's intent
    assert result["version"] == 1 and result["status"] == status
    version = DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"]).get_model_version("income", 1)
    assert version.run_id == event["run_id"]
    assert version.metrics["roc_auc"] == 0.89
    assert version.intent == "Flag applicants likely to earn over 50K."
    # AND its model card is stored content-addressed and names the version
    card = S3ArtifactStore(moto_platform["ARTIFACT_BUCKET"]).get_bytes(
        "cards", result["model_card_id"], ext="md"
    )
    assert card.decode().startswith("# Model card: income v1")
    kinds = [e["detail-type"] for e in drain_events(queue)]
    assert "Model Registered" in kinds
    assert ("Model Approved" in kinds) is (status == APPROVED)


def test_a_retried_register_task_does_not_create_a_second_version(moto_platform: dict[str, str]) -> None:
    event = state_with_spec(moto_platform, "auto")
    handler = load_function("register").handler
    first = handler(event, FakeContext("register"))
    second = handler(event, FakeContext("register"))
    assert first == second
    table = boto3.client("dynamodb").query(
        TableName=moto_platform["REGISTRY_TABLE"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
        ExpressionAttributeValues={":pk": {"S": "MODEL#income"}, ":v": {"S": "VERSION#"}},
    )
    assert table["Count"] == 1


def test_the_approval_task_parks_the_token_until_a_reviewer_decides(moto_platform: dict[str, str]) -> None:
    # GIVEN a version registered under manual approval
    load_function("register").handler(state_with_spec(moto_platform, "manual"), FakeContext("register"))
    # WHEN the waitForTaskToken task runs
    event = load_event("approval", "wait")
    load_function("approval").handler(event, FakeContext("approval"))

    # THEN approving it later resumes the execution with that token
    class Sfn:
        tokens: list[str] = []

        def send_task_success(self, **kwargs: Any) -> None:
            self.tokens.append(kwargs["taskToken"])

    sfn = Sfn()
    registry = DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"], stepfunctions_client=sfn)
    registry.approve("income", 1, actor="alice")
    assert sfn.tokens == [event["token"]]
