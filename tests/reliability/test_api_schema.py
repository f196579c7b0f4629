"""Schemathesis against the API's OpenAPI document (docs/openapi.yaml), on the local cloud.

Every operation gets generated requests, valid and invalid (wrong types, missing fields, odd
strings, huge numbers), sent with an admin token to the local API Gateway. Pass: no 5xx, and every
answer is JSON with a stable error code or API Gateway's own message. The ``model`` path parameter
is narrowed to a trained model and a missing one, so generated requests reach validation,
prediction, capture and the registry instead of stopping at "not found".
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from reliability_support import PROFILE, ROOT, Figures, registry, train
from schemathesis import GenerationMode
from support.platform import Platform

OPENAPI = ROOT / "docs" / "openapi.yaml"
MODEL = "api-fuzz"
_SEEN: Counter[int] = Counter()


@pytest.fixture(scope="module")
def api_schema(platform: Platform) -> Any:
    train(platform, MODEL)
    reg = registry(platform)
    reg.set_alias(MODEL, "staging", 1, actor="fuzz")
    document: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    document = copy.deepcopy(document)
    model = document["components"]["parameters"]["Model"]
    model["schema"] = {"type": "string", "enum": [MODEL, "no-such-model"]}
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=platform.api_url)
    return schema


# Schemathesis's pytest plugin (from_fixture) does not run under pytest 9 (it reads Item._nodeid), so
# each operation's Hypothesis strategy is driven directly, one test per operation and mode.
OPERATIONS = [
    f"{op.ok().method.upper()} {op.ok().path}"  # type: ignore[union-attr]  # an Err would fail here, loudly
    for op in schemathesis.openapi.from_dict(yaml.safe_load(OPENAPI.read_text())).get_all_operations()
]


CASES = [
    pytest.param(operation, mode, id=f"{operation}-{mode.value}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (operation == "GET /health" and mode is GenerationMode.NEGATIVE)  # nothing to make invalid
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_generated_requests_never_get_a_server_error(
    api_schema: Any, platform: Platform, figures: Figures, operation: str, mode: GenerationMode
) -> None:
    [op] = [
        o.ok()
        for o in api_schema.get_all_operations()
        if f"{o.ok().method.upper()} {o.ok().path}" == operation
    ]
    headers = {"Authorization": f"Bearer {platform.token('admin')}"}

    @settings(
        max_examples=PROFILE.api_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(headers=headers, timeout=60)
        _SEEN[response.status_code] += 1
        where = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
        body = response.json()
        assert isinstance(body, dict), (where, body)
        if response.status_code >= 400:
            assert "message" in body, (where, body)
            assert "Traceback" not in response.text, where

    check()
    figures.record("api_schema_responses", {str(k): v for k, v in sorted(_SEEN.items())})
