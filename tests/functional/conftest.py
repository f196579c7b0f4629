"""The functional suites' one moto platform.

Functional tests drive the real handlers and adapters against moto, in process. Each test gets a
fresh ``mock_aws`` with the template's buckets, tables and bus created from template.yaml
(:func:`support.resources.create_platform`). The fixture is named ``moto_platform`` so it never
shadows the root conftest's ``platform`` (the shared local cloud of the integration and reliability
suites, a different thing). Modules that need more (a state machine, a registered model, an event
queue) build a module fixture with a descriptive name on top of this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from support.resources import create_platform


@pytest.fixture
def moto_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Inside ``mock_aws``: the template's storage, env vars pointing at it; yields names by env var."""
    with mock_aws():
        yield create_platform(monkeypatch)
