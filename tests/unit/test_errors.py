"""Every error class says what HTTP status it is; none falls through to a default 500."""

from __future__ import annotations

import pytest
from lockgate import errors
from lockgate.errors import LockgateError


def all_error_classes() -> list[type[LockgateError]]:
    found: list[type[LockgateError]] = []
    todo = list(LockgateError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


def test_every_error_class_declares_its_own_code_and_status() -> None:
    classes = all_error_classes()
    assert len(classes) >= 20  # errors.py's own; more appear when other modules define theirs
    for cls in classes:
        assert "status" in vars(cls), f"{cls.__name__} inherits its status"
        assert "code" in vars(cls), f"{cls.__name__} inherits its code"
        assert 400 <= cls.status < 600, cls
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"


def test_every_error_class_lives_in_errors_py() -> None:
    strays = [cls.__qualname__ for cls in all_error_classes() if cls.__module__ != errors.__name__]
    assert strays == []


def test_a_subclass_that_forgets_its_status_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="must declare status"):

        class Forgetful(LockgateError):
            code = "Forgetful"


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errors.InvalidRequestError, 400),
        (errors.UnauthorizedError, 401),
        (errors.ForbiddenError, 403),
        (errors.ArtifactNotFoundError, 404),
        (errors.RunNotFoundError, 404),
        (errors.DatasetNotFoundError, 404),
        (errors.VersionConflictError, 409),
        (errors.PayloadTooLargeError, 413),
        (errors.DatasetRejectedError, 422),
        (errors.ModelServingError, 500),
        (errors.ConfigurationError, 500),
    ],
)
def test_status_follows_the_kind_of_mistake(cls: type[LockgateError], status: int) -> None:
    assert errors.http_status(cls("x")) == status
    assert cls("what went wrong", field="f").to_dict() == {
        "error": cls.code,
        "message": "what went wrong",
        "details": {"field": "f"},
    }
