"""Typed errors with stable codes.

Step Functions matches these by class name in Retry/Catch, so handlers in state machine tasks let
them escape. The API maps ``code`` to an HTTP status through :data:`HTTP_STATUS`; never by message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LockgateError(Exception):
    """Base class: a stable ``code``, a message a person can act on, and optional details."""

    code: ClassVar[str] = "LockgateError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidRequestError(LockgateError):
    """The caller sent something malformed (body, parameters, file)."""

    code = "InvalidRequest"


class SpecInvalidError(LockgateError):
    code = "SpecInvalid"


class SpecNotFoundError(LockgateError):
    code = "SpecNotFound"


class DatasetRejectedError(LockgateError):
    """Data failed a quality gate; ``details['reasons']`` lists why."""

    code = "DatasetRejected"


class PayloadTooLargeError(LockgateError):
    code = "PayloadTooLarge"


class ModelNotFoundError(LockgateError):
    code = "ModelNotFound"


class VersionNotFoundError(LockgateError):
    code = "VersionNotFound"


class AliasNotFoundError(LockgateError):
    code = "AliasNotFound"


class VersionConflictError(LockgateError):
    """A conditional write lost a race or the target is in the wrong state (stale promotion, …)."""

    code = "VersionConflict"


class ModelRejectedError(LockgateError):
    """A candidate failed a model gate (minimum metric, champion/challenger, ONNX parity)."""

    code = "ModelRejected"


class OnnxParityError(ModelRejectedError):
    code = "OnnxParity"


class IntegrityError(LockgateError):
    """An artifact's bytes do not hash to the id they were requested by: tampered or corrupt."""

    code = "IntegrityError"


class UnauthorizedError(LockgateError):
    code = "Unauthorized"


class ForbiddenError(LockgateError):
    code = "Forbidden"


class TrainingError(LockgateError):
    code = "TrainingError"


HTTP_STATUS: dict[str, int] = {
    InvalidRequestError.code: 400,
    SpecInvalidError.code: 400,
    DatasetRejectedError.code: 422,
    PayloadTooLargeError.code: 413,
    SpecNotFoundError.code: 404,
    ModelNotFoundError.code: 404,
    VersionNotFoundError.code: 404,
    AliasNotFoundError.code: 404,
    VersionConflictError.code: 409,
    ModelRejectedError.code: 409,
    OnnxParityError.code: 409,
    UnauthorizedError.code: 401,
    ForbiddenError.code: 403,
    IntegrityError.code: 500,
    TrainingError.code: 500,
}


def http_status(error: LockgateError) -> int:
    return HTTP_STATUS.get(error.code, 500)


class ModelServingError(LockgateError):
    """The model, not the caller, is at fault: a non-finite output, a graph that disagrees with its signature."""

    code = "ModelServingError"


HTTP_STATUS[ModelServingError.code] = 500
