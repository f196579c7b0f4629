"""Model cards render every section from what the registry recorded, deterministically."""

from __future__ import annotations

from lockgate.domain.model_version import PENDING, ModelVersion
from lockgate.domain.spec import parse_spec
from lockgate.domain.training_state import GateResult
from lockgate.reports.model_card import CardContext, render_model_card


def version(**changes: object) -> ModelVersion:
    fields: dict[str, object] = {
        "model": "income",
        "version": 4,
        "status": PENDING,
        "run_id": "r-1",
        "dataset_id": "a" * 64,
        "model_artifact": "d" * 64,
        "baseline_id": "e" * 64,
        "holdout_id": "f" * 64,
        "spec_id": "b" * 64,
        "report_id": "c" * 64,
        "signature": {
            "task": "classification",
            "target": "income",
            "inputs": [{"name": "age", "type": "number"}, {"name": "workclass", "type": "string"}],
        },
        "metrics": {"roc_auc": 0.8912345, "accuracy": 0.84},
        "params": {"max_depth": 3},
        "seed": 42,
        "environment": {"scikit-learn": "1.9.0"},
        "code_version": "0.1.0",
        "intent": "Flag high earners.",
        "model_card_id": None,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    fields.update(changes)
    return ModelVersion(**fields)  # type: ignore[arg-type]


SPEC = parse_spec({"model": "income", "task": "classification", "target": "income", "approval": "manual"})


def test_card_has_every_section_with_the_recorded_numbers() -> None:
    gates = (GateResult(name="min roc_auc 0.8", passed=True, detail="0.891 >= 0.8"),)
    card = render_model_card(version(), CardContext(spec=SPEC, dataset_rows=1000, gates=gates))
    for heading in (
        "## Intent",
        "## Data",
        "## Training",
        "## Metrics on the holdout",
        "## Gates",
        "## Approval",
        "## Limitations and monitoring",
    ):
        assert heading in card
    assert "Flag high earners." in card
    assert "| rows | 1000 |" in card
    assert "| roc_auc | 0.8912 |" in card
    assert "| min roc_auc 0.8 | pass |" in card
    assert "gradient_boosting" in card
    assert "**PendingManualApproval**" in card
    assert "every 60 min" in card
    assert "| workclass | string |" in card


def test_card_without_intent_or_gates_says_so() -> None:
    card = render_model_card(version(intent=""))
    assert "No description was given" in card
    assert "no model gates were configured" in card


def test_card_is_deterministic() -> None:
    ctx = CardContext(spec=SPEC)
    assert render_model_card(version(), ctx) == render_model_card(version(), ctx)
