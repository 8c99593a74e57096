"""Typed errors, mapped once to the API's error shape in `api/errors.py`.

Each carries the OpenAI-style `type`, the offending `param` and the HTTP status, so no layer ever
has to guess a status from a message.
"""

from __future__ import annotations

# Every `type` the API emits, documented as the ErrorBody enum: the classes below plus what the HTTP layer
# maps itself (authentication_error, not_found_error for unknown routes, server_error for the unexpected).
ERROR_TYPES = ("invalid_request_error", "authentication_error", "not_found_error", "conflict_error",
               "overloaded_error", "model_unavailable", "invalid_media", "not_supported_error", "timeout_error",
               "server_error")


class ClipciteError(Exception):
    status_code = 500
    error_type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class InvalidRequest(ClipciteError):
    status_code = 400
    error_type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    """The prompt the request needs (its latest turn, tool results, max_tokens) cannot fit the model's context."""

    def __init__(self, message: str, *, param: str | None = "messages", code: str | None = "context_length_exceeded"):
        super().__init__(message, param=param, code=code)


class Unauthorized(ClipciteError):
    status_code = 401
    error_type = "authentication_error"


class NotFound(ClipciteError):
    status_code = 404
    error_type = "not_found_error"


class Conflict(ClipciteError):
    status_code = 409
    error_type = "conflict_error"


class PayloadTooLarge(ClipciteError):
    status_code = 413
    error_type = "invalid_request_error"


class Overloaded(ClipciteError):
    status_code = 503
    error_type = "overloaded_error"

    def __init__(self, message: str, *, retry_after: int = 5, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RequestTimeout(ClipciteError):
    """The request ran past its server-side deadline (`request_timeout_seconds`); its model work was stopped."""

    status_code = 504
    error_type = "timeout_error"


class UnsafeOperation(ClipciteError):
    """A guard that protects data refused an operation (a bug, never user input): a 500 that changed nothing."""


class ModelUnavailable(ClipciteError):
    """A model's weights are not installed; the message names the package or setting that fixes it."""

    status_code = 503
    error_type = "model_unavailable"


class MediaError(ClipciteError):
    """A file is not usable media (corrupt, empty, no streams); ends its job as `failed`."""

    status_code = 422
    error_type = "invalid_media"


class NotSupported(ClipciteError):
    """A Cloudglue resource that has no offline, self-hosted counterpart (501 with the reason)."""

    status_code = 501
    error_type = "not_supported_error"
