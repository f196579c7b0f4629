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
from pathlib import Path
from typing import Any

import pytest
from reliability_support import PROFILE, Figures

ROOT = Path(__file__).resolve().parents[2]
_FIGURES = Figures()
# The shared `platform` fixture (the real template.yaml on the local cloud) is in tests/conftest.py.


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
