"""Reliability and security suites: one local cloud for the package, profiles, measured figures.

Profiles (``LOCKGATE_PROFILE``): ``ci`` (default) keeps the whole package to a few minutes;
``soak`` (``make soak``) tries more inputs, loads longer and bursts wider. Every suite reads its
sizes from :data:`PROFILE`; none of them asserts on time.

Figures the suites measure (requests/s, percentiles, inputs tried, faults survived) are collected
with the ``figures`` fixture, printed at the end of the run and written to
``.lockgate/reliability-<profile>.json`` for ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lockgate import aws
from lockgate.config import settings
from reliability_support import PROFILE, Figures
from support.platform import Platform, start_platform

ROOT = Path(__file__).resolve().parents[2]
_FIGURES = Figures()
_ENV = ("AWS_ENDPOINT_URL", "REGISTRY_TABLE", "ARTIFACT_BUCKET", "EVENT_BUS_NAME")


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One local cloud with the real template.yaml for the whole reliability package."""
    cloud, platform = start_platform(tmp_path_factory.mktemp("lockgate-reliability"))
    saved = {k: os.environ.get(k) for k in _ENV}
    # Core adapters used by tests (tokens, registry reads and writes) reach the local cloud.
    os.environ["AWS_ENDPOINT_URL"] = cloud.endpoint
    os.environ["REGISTRY_TABLE"] = platform.table
    os.environ["ARTIFACT_BUCKET"] = platform.artifact_bucket
    os.environ["EVENT_BUS_NAME"] = platform.bus
    settings.cache_clear()
    aws.reset_clients()
    try:
        yield platform
    finally:
        cloud.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.cache_clear()
        aws.reset_clients()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES.values:
        return
    terminalreporter.section(f"reliability figures (profile {PROFILE.name})")
    for name, value in sorted(_FIGURES.values.items()):
        terminalreporter.write_line(f"{name}: {json.dumps(value, sort_keys=True)}")
    out = ROOT / ".lockgate" / f"reliability-{PROFILE.name}.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(out.read_text()) if out.exists() else {}
        out.write_text(json.dumps({**previous, **_FIGURES.values}, indent=2, sort_keys=True))
    except (OSError, ValueError):
        terminalreporter.write_line(f"could not write {out}")
