"""The API's one error mapping: every Lockgate error answers its own status and code, never a 500 by default."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from lockgate.errors import LockgateError
from support.handlers import load_function


def all_error_classes() -> list[type[LockgateError]]:
    found: list[type[LockgateError]] = []
    todo = list(LockgateError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


@pytest.fixture(scope="module")
def http() -> Iterator[ModuleType]:
    load_function("api")  # puts the function's folder on sys.path, as Lambda does
    module = sys.modules["chalicelib.http"]
    yield module
    module.metrics.clear_metrics()


def answer(http: ModuleType, error: Exception) -> tuple[int, dict[str, Any]]:
    def view() -> Any:
        raise error

    response = http.api(view)()
    assert response.headers["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_a_route_raising_a_lockgate_error_answers_its_status_and_code(http: ModuleType, cls: Any) -> None:
    # GIVEN a route that raises this error with details
    error = cls("something specific went wrong", field="x")
    # WHEN the API's error wrapper answers for it
    status, body = answer(http, error)
    # THEN the status is the class's own and the body names its code, message and details
    assert status == cls.status
    assert body == {"error": cls.code, "message": "something specific went wrong", "details": {"field": "x"}}


def test_an_unexpected_error_is_an_opaque_500(http: ModuleType) -> None:
    status, body = answer(http, KeyError("secret internals"))
    assert status == 500
    assert body == {"error": "InternalError", "message": "internal error; see the function's logs"}
    assert "secret" not in json.dumps(body)
