"""Every Lockgate error, each with a stable ``code`` and the HTTP ``status`` it answers with.

Step Functions matches these by class name in Retry/Catch, so handlers in state machine tasks let
them escape. The API answers ``error.status`` with ``error.to_dict()``; never by message. A subclass
that does not declare both ``code`` and ``status`` is refused when its module is imported, so no
error can fall through to a default 500.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LockgateError(Exception):
    """Base class: a stable ``code``, an HTTP ``status``, a message a person can act on, details."""

    code: ClassVar[str] = "LockgateError"
    status: ClassVar[int] = 500

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("code", "status") if name not in cls.__dict__]
        if missing:
            raise TypeError(f"{cls.__name__} must declare {' and '.join(missing)} (lockgate.errors)")

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def http_status(error: LockgateError) -> int:
    return error.status


# ------------------------------------------------------------------ the caller's mistakes (4xx)


class InvalidRequestError(LockgateError):
    """The caller sent something malformed (body, parameters, file)."""

    code = "InvalidRequest"
    status = 400


class SpecInvalidError(LockgateError):
    code = "SpecInvalid"
    status = 400


class UnauthorizedError(LockgateError):
    code = "Unauthorized"
    status = 401


class ForbiddenError(LockgateError):
    code = "Forbidden"
    status = 403


class SpecNotFoundError(LockgateError):
    code = "SpecNotFound"
    status = 404


class ModelNotFoundError(LockgateError):
    code = "ModelNotFound"
    status = 404


class VersionNotFoundError(LockgateError):
    code = "VersionNotFound"
    status = 404


class AliasNotFoundError(LockgateError):
    code = "AliasNotFound"
    status = 404


class RunNotFoundError(LockgateError):
    code = "RunNotFound"
    status = 404


class DatasetNotFoundError(LockgateError):
    code = "DatasetNotFound"
    status = 404


class ArtifactNotFoundError(LockgateError):
    """No artifact is stored under the content id asked for."""

    code = "ArtifactNotFound"
    status = 404


class VersionConflictError(LockgateError):
    """A conditional write lost a race or the target is in the wrong state (stale promotion, …)."""

    code = "VersionConflict"
    status = 409


class ModelRejectedError(LockgateError):
    """A candidate failed a model gate (minimum metric, champion/challenger, ONNX parity)."""

    code = "ModelRejected"
    status = 409


class OnnxParityError(ModelRejectedError):
    code = "OnnxParity"
    status = 409


class PayloadTooLargeError(LockgateError):
    code = "PayloadTooLarge"
    status = 413


class DatasetRejectedError(LockgateError):
    """Data failed a quality gate; ``details['reasons']`` lists why."""

    code = "DatasetRejected"
    status = 422


# ------------------------------------------------------------------ Lockgate's own faults (5xx)


class IntegrityError(LockgateError):
    """An artifact's bytes do not hash to the id they were requested by: tampered or corrupt."""

    code = "IntegrityError"
    status = 500


class TrainingError(LockgateError):
    code = "TrainingError"
    status = 500


class ModelServingError(LockgateError):
    """The model, not the caller, is at fault: a non-finite output, a graph that disagrees with its signature."""

    code = "ModelServingError"
    status = 500


class ConfigurationError(LockgateError):
    """A function was deployed without a setting it needs (an empty environment variable)."""

    code = "ConfigurationError"
    status = 500


class EventPublishError(LockgateError):
    """EventBridge refused an event: the caller should retry (the state change itself is recorded)."""

    code = "EventPublishError"
    status = 502
