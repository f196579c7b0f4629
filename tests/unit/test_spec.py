"""The published schema and docs stay true to the spec model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from lockgate.domain.spec import ModelSpec, json_schema, load_spec
from lockgate.errors import SpecInvalidError

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_equals_the_generated_one() -> None:
    committed = (ROOT / "schemas" / "spec.schema.json").read_text()
    assert committed == json_schema(), (
        "regenerate: python -c 'from lockgate.domain.spec import json_schema; ...'"
    )


def test_the_example_in_docs_is_a_valid_spec() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert example
    spec = load_spec(example.group(1))
    assert spec.model and spec.gates.data.min_rows


def test_every_field_is_documented() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    assert all(f"`{name}`" in text for name in ModelSpec.model_fields)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"model": "Churn!", "task": "classification", "target": "y"}, "model"),
        ({"model": "churn", "task": "clustering", "target": "y"}, "task"),
        (
            {"model": "churn", "task": "regression", "target": "y", "gates": {"data": {"min_rowz": 3}}},
            "gates.data.min_rowz",
        ),
    ],
)
def test_a_malformed_spec_names_the_field(doc: dict, field: str) -> None:
    with pytest.raises(SpecInvalidError) as err:
        load_spec(yaml.safe_dump(doc))
    assert field in err.value.message
