from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from lockgate import aws
from lockgate.config import settings
from support.platform import Platform, start_platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One local cloud with the real template.yaml for the whole integration package."""
    cloud, platform = start_platform(tmp_path_factory.mktemp("lockgate-state"))
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "REGISTRY_TABLE", "ARTIFACT_BUCKET")}
    # Core adapters used by tests (token creation, registry reads) reach the local cloud.
    os.environ["AWS_ENDPOINT_URL"] = cloud.endpoint
    os.environ["REGISTRY_TABLE"] = platform.table
    os.environ["ARTIFACT_BUCKET"] = platform.artifact_bucket
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
