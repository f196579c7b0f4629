"""Lineage with in-memory ports: every link by content id, and unknown links shown as unknown."""

from __future__ import annotations

import pytest
from fakes.lifecycle import InMemoryDatasetLookup, InMemoryModelRegistry, InMemoryRunStore
from lockgate.domain.model_version import CHAMPION, PENDING, NewModelVersion
from lockgate.errors import VersionNotFoundError
from lockgate.services.lineage import lineage


def new(run_id: str, *, status: str = PENDING, report_id: str = "c" * 64) -> NewModelVersion:
    return NewModelVersion(
        model="income",
        status=status,
        run_id=run_id,
        dataset_id="a" * 64,
        model_artifact="d" * 64,
        baseline_id="e" * 64,
        holdout_id="f" * 64,
        spec_id="b" * 64,
        report_id=report_id,
        signature={},
        metrics={},
        params={"max_depth": 3},
        seed=42,
        environment={"python": "3.12"},
        code_version="0.1.0",
        intent="",
    )


@pytest.fixture
def runs() -> InMemoryRunStore:
    return InMemoryRunStore()


@pytest.fixture
def datasets() -> InMemoryDatasetLookup:
    return InMemoryDatasetLookup()


@pytest.fixture
def registry(runs: InMemoryRunStore) -> InMemoryModelRegistry:
    return InMemoryModelRegistry(runs=runs)


def test_lineage_links_dataset_run_version_approvals_and_promotions(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, datasets: InMemoryDatasetLookup
) -> None:
    # GIVEN an accepted dataset, a run on it, and its version approved, promoted, and aliased twice
    datasets.add("income", "a" * 64, source_key="datasets/income/adult.csv", rows=1000)
    runs.start("income", "r1", dataset_id="a" * 64, trigger="upload")
    registry.create_model_version(new("r1"))
    registry.approve("income", 1, actor="alice", comment="ok")
    registry.set_alias("income", CHAMPION, 1, actor="ci")
    registry.set_alias("income", "staging", 1, actor="ci")
    # WHEN its lineage is read
    chain = lineage("income", 1, registry=registry, runs=runs, datasets=datasets)
    # THEN each link is there, and the text names every content id
    assert chain.dataset["source_key"] == "datasets/income/adult.csv" and chain.dataset["rows"] == 1000
    assert chain.validation_report_id == "c" * 64
    assert chain.run["status"] == "running" and chain.run["params"] == {"max_depth": 3}
    assert [a["actor"] for a in chain.approvals] == ["alice"]
    assert [(p["alias"], p["actor"]) for p in chain.promotions] == [(CHAMPION, "ci"), ("staging", "ci")]
    text = chain.render_text()
    assert all(content_id in text for content_id in ("a" * 64, "c" * 64, "d" * 64, "e" * 64))
    assert "approve by alice: ok" in text


def test_the_dataset_report_stands_in_when_the_version_has_none(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, datasets: InMemoryDatasetLookup
) -> None:
    datasets.add("income", "a" * 64, report_id="9" * 64)
    registry.create_model_version(new("r1", report_id=""))
    chain = lineage("income", 1, registry=registry, runs=runs, datasets=datasets)
    assert chain.validation_report_id == "9" * 64


def test_missing_upstream_records_are_unknown_not_errors(
    registry: InMemoryModelRegistry, runs: InMemoryRunStore, datasets: InMemoryDatasetLookup
) -> None:
    registry.create_model_version(new("r9"))
    chain = lineage("income", 1, registry=registry, runs=runs, datasets=datasets)
    assert chain.dataset == {"dataset_id": "a" * 64}
    assert chain.run == {
        "run_id": "r9",
        "params": {"max_depth": 3},
        "seed": 42,
        "environment": {"python": "3.12"},
    }
    assert chain.promotions == [] and "unknown" in chain.render_text()
    with pytest.raises(VersionNotFoundError):
        lineage("income", 2, registry=registry, runs=runs, datasets=datasets)
