"""Lineage: dataset → validation report → run → version → approvals → promotions, by content ids."""

from __future__ import annotations

import pytest
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.adapters.dynamodb.runs import DynamoDBRunStore
from lockgate.adapters.dynamodb.table import serialize
from lockgate.domain.lineage import Lineage
from lockgate.domain.model_version import CHAMPION, PENDING
from lockgate.errors import VersionNotFoundError
from lockgate.services.lineage import lineage
from registry_support import Recorder, register


@pytest.fixture
def registry(moto_platform: dict[str, str]) -> DynamoDBModelRegistry:
    return DynamoDBModelRegistry(moto_platform["REGISTRY_TABLE"], publisher=Recorder())


def lineage_of(registry: DynamoDBModelRegistry, version: int) -> Lineage:
    table = registry.table_name
    return lineage(
        "income",
        version,
        registry=registry,
        runs=DynamoDBRunStore(table),
        datasets=DynamoDBDatasetStore(table),
    )


def test_lineage_links_every_step_by_content_id(registry: DynamoDBModelRegistry) -> None:
    # GIVEN an accepted dataset, a run on it, a version that was approved and promoted
    registry.ddb.put_item(
        TableName=registry.table_name,
        Item=serialize(
            {
                "pk": "MODEL#income",
                "sk": "DATASET#" + "a" * 64,
                "dataset_id": "a" * 64,
                "model": "income",
                "source_bucket": "data",
                "source_key": "datasets/income/adult.csv",
                "rows": 1000,
                "status": "accepted",
                "report_id": "c" * 64,
            }
        ),
    )
    runs = DynamoDBRunStore(registry.table_name)
    runs.start("income", "r1", dataset_id="a" * 64, trigger="upload")
    register(registry, run_id="r1", status=PENDING)
    registry.approve("income", 1, actor="alice", comment="ok")
    registry.set_alias("income", CHAMPION, 1, actor="ci")
    # WHEN its lineage is read
    chain = lineage_of(registry, 1)
    # THEN every link is there
    assert chain.dataset["source_key"] == "datasets/income/adult.csv"
    assert chain.dataset["rows"] == 1000
    assert chain.validation_report_id == "c" * 64
    assert chain.run["run_id"] == "r1" and chain.run["seed"] == 42 and chain.run["status"] == "running"
    assert chain.model_version["model_artifact"] == "d" * 64
    assert [a["actor"] for a in chain.approvals] == ["alice"]
    assert [(p["alias"], p["version"]) for p in chain.promotions] == [(CHAMPION, 1)]
    text = chain.render_text()
    for content_id in ("a" * 64, "c" * 64, "d" * 64, "e" * 64):
        assert content_id in text
    assert "approve by alice: ok" in text
    assert chain.to_dict()["promotions"][0]["actor"] == "ci"


def test_lineage_of_a_missing_version_is_not_found(registry: DynamoDBModelRegistry) -> None:
    with pytest.raises(VersionNotFoundError):
        lineage_of(registry, 3)


def test_lineage_tolerates_missing_upstream_records(registry: DynamoDBModelRegistry) -> None:
    register(registry, run_id="r9")
    chain = lineage_of(registry, 1)
    assert chain.dataset == {"dataset_id": "a" * 64}
    assert "unknown" in chain.render_text()
    assert chain.promotions == []
