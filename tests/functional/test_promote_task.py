"""The promote task: champion moves to the new approved version, atomically, with history."""

from __future__ import annotations

import pytest
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.domain.model_version import CHAMPION, PENDING
from lockgate.errors import VersionConflictError
from registry_support import register
from support.handlers import FakeContext, load_event, load_function
from support.resources import capture_events, drain_events


@pytest.fixture
def registry(moto_platform: dict[str, str]) -> DynamoDBModelRegistry:
    return DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"])


def test_promote_makes_the_version_champion_and_reports_the_previous(
    registry: DynamoDBModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    queue = capture_events(os.environ["EVENT_BUS_NAME"])
    register(registry, run_id="r1")
    register(registry, run_id="r2")
    handler = load_function("promote").handler
    event = load_event("promote", "approved")
    assert handler(event, FakeContext("promote")) == {"champion": 1, "previous": None}
    event["registration"]["version"] = 2
    assert handler(event, FakeContext("promote")) == {"champion": 2, "previous": 1}
    # a retry of the same task changes nothing
    assert handler(event, FakeContext("promote"))["champion"] == 2
    assert len(registry.alias_history("income", CHAMPION)) == 2
    promoted = [e for e in drain_events(queue) if e["detail-type"] == "Model Promoted"]
    assert [e["detail"]["version"] for e in promoted] == [1, 2]


def test_promote_refuses_a_version_that_is_not_approved(registry: DynamoDBModelRegistry) -> None:
    register(registry, run_id="r1", status=PENDING)
    with pytest.raises(VersionConflictError):
        load_function("promote").handler(load_event("promote", "approved"), FakeContext("promote"))
