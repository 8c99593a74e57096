"""Shapes shared across features: the error body, list pages and the timed-text part."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from clipcite.errors import ERROR_TYPES

T = TypeVar("T")


class Wire(BaseModel):
    """Base of every response shape. Fields are declared in the order they are sent (pydantic serializes in
    declaration order); `extra="allow"`: objects may carry more than documented, as OpenAI's and Cloudglue's
    do. Routes serialize with `exclude_unset`, so a field the builder did not set is absent, not `null`."""

    model_config = ConfigDict(extra="allow")


# --- errors ---


class ErrorBody(Wire):
    message: str
    type: str = Field(description="one of: " + ", ".join(ERROR_TYPES), json_schema_extra={"enum": list(ERROR_TYPES)})
    param: str | None = Field(None, description="the request field at fault, when there is one")
    code: Any = None


class ErrorResponse(Wire):
    error: ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented error responses, all in the one error shape."""
    text = {400: "Invalid request (the `param` names the field)", 401: "Missing or invalid API key",
            404: "Not found", 409: "Conflict with the current state", 413: "Upload too large",
            422: "The media cannot be used (unreadable, no frame at that time)",
            503: "Too many chat requests in flight (see Retry-After), or a model is not installed"}
    # Explicit JSON content: routes that answer with video, images or subtitles still fail in JSON.
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    return {c: {"description": text[c], "content": {"application/json": {"schema": schema}}} for c in codes}


# --- lists ---


class Page(Wire, Generic[T]):
    """Both families' list conventions at once: Cloudglue's `total` / `limit` / `offset`, and OpenAI's
    `has_more` / `first_id` / `last_id` (its SDKs page on these; without them they asked forever)."""

    object: Literal["list"]
    data: list[T]
    total: int
    limit: int
    offset: int
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class Deleted(Wire):
    id: str
    object: str


# --- the timed-text part (speech, scene text, visual descriptions) ---


class TimedText(Wire):
    text: str
    start_time: float
    end_time: float
    speaker: str | None = None
