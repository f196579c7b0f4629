"""Process-wide test setup: no real AWS, and the one shared local cloud (``platform``).

Tests import the core layer and the local cloud as installed packages (``pip install -e .``). The
helpers in tests/support and tests/fakes are importable as ``support`` and ``fakes`` because
pyproject's ``[tool.pytest.ini_options] pythonpath`` puts tests/ on the path (configuration, not a
``sys.path`` edit here); it also lists the repository root (``benchmarks``) and functions/api
(the API function's own ``chalicelib``, as on Lambda).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lockgate.adapters import aws
from lockgate.config import settings

# Never talk to real AWS from tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

# What the shared local cloud points the test process's own core adapters at.
_CLOUD_ENV = ("AWS_ENDPOINT_URL", "REGISTRY_TABLE", "ARTIFACT_BUCKET", "EVENT_BUS_NAME")
_ON_THE_CLOUD = ("integration", "reliability")


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local cloud with the real template.yaml, shared by the integration and reliability suites.

    One per process: moto's backends and Lambda hooks are process-wide. Modules with a cloud of
    their own (tests/integration/test_localcloud.py, test_cli.py) run before the first module
    that asks for this one, and the local cloud refuses a second start, loudly, if that changes.
    """
    # Local: the local cloud pulls in moto's server, which unit and functional runs never need.
    from support.platform import start_platform

    cloud, shared = start_platform(tmp_path_factory.mktemp("lockgate-state"))
    saved = {k: os.environ.get(k) for k in _CLOUD_ENV}
    os.environ["AWS_ENDPOINT_URL"] = cloud.endpoint
    os.environ["REGISTRY_TABLE"] = shared.table
    os.environ["ARTIFACT_BUCKET"] = shared.artifact_bucket
    os.environ["EVENT_BUS_NAME"] = shared.bus
    settings.cache_clear()
    aws.reset_clients()
    try:
        yield shared
    finally:
        cloud.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.cache_clear()
        aws.reset_clients()


@pytest.fixture(autouse=True)
def _off_the_cloud(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unit and functional tests never see the shared cloud's endpoint (they use moto in-process)."""
    if any(part in _ON_THE_CLOUD for part in Path(str(request.node.fspath)).parts):
        yield
        return
    touched = [k for k in _CLOUD_ENV if k in os.environ]
    for key in touched:
        monkeypatch.delenv(key)
    if touched:
        settings.cache_clear()
        aws.reset_clients()
    yield
    if touched:
        settings.cache_clear()
        aws.reset_clients()
