"""Cached boto3 clients.

No client is built at import time (that would defeat moto and force ``sys.modules`` juggling in
tests). boto3 honours ``AWS_ENDPOINT_URL``, which the local cloud sets for every worker, so the same
code reaches AWS or the local cloud. Tests call :func:`reset_clients` between moto contexts.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


@functools.cache
def resource(service: str) -> Any:
    return boto3.resource(service, config=_CONFIG)


def reset_clients() -> None:
    client.cache_clear()
    resource.cache_clear()
