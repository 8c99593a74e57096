"""Errors in one shape, mapped once: `{"error": {"message", "type", "param", "code"}}`, status = code.

Handlers are registered per exception class in the app factory; routes raise typed errors and never
build error responses themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import ErrorBody, ErrorResponse
from clipcite.errors import ClipciteError, Overloaded

log = logging.getLogger(__name__)


def error_body(message: str, type_: str, param: str | None = None, code: Any = None) -> dict[str, Any]:
    """The one error shape (ErrorResponse), as JSON-ready data."""
    return ErrorResponse(error=ErrorBody(message=message, type=type_, param=param, code=code)).model_dump(mode="json")


def _loc_to_param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or None


async def _clipcite_error(_: Request, exc: ClipciteError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Overloaded) else None
    return JSONResponse(error_body(exc.message, exc.error_type, exc.param, exc.code or exc.status_code),
                        status_code=exc.status_code, headers=headers)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {}
    param = _loc_to_param(tuple(first.get("loc", ())))
    msg = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        msg, param = "request body is not valid JSON", None
    message = f"{param}: {msg}" if param else msg
    return JSONResponse(error_body(message, "invalid_request_error", param, 400), status_code=400)


def http_error_type(status_code: int) -> str:
    """The error `type` for a plain HTTP error (unknown route, wrong method, missing key); one of ERROR_TYPES."""
    return {401: "authentication_error", 404: "not_found_error"}.get(
        status_code, "invalid_request_error" if status_code < 500 else "server_error")


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    type_ = http_error_type(exc.status_code)
    return JSONResponse(error_body(str(exc.detail), type_, None, exc.status_code), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", exc)
    return JSONResponse(error_body("internal server error", "server_error", None, 500), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types handlers as taking Exception; each of ours takes the class it is registered for.
    app.add_exception_handler(ClipciteError, _clipcite_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unhandled)
