"""Shared by every request model: tolerant of unknown fields, strict about wrong values."""

from __future__ import annotations

import datetime as dt
import logging

from pydantic import BaseModel, ConfigDict, model_validator

from clipcite.errors import InvalidRequest

log = logging.getLogger(__name__)


class LenientModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _log_unknown(self) -> LenientModel:
        if self.model_extra:
            log.info("%s: ignoring unknown field(s) %s", type(self).__name__, sorted(self.model_extra))
        return self


def day_ms(day: str | None, param: str) -> int | None:
    """A `created_before` / `created_after` date (YYYY-MM-DD, UTC) as epoch milliseconds."""
    if day is None:
        return None
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        raise InvalidRequest(f"{param} must be a date (YYYY-MM-DD)", param=param) from None
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def require_source(source: str, collections: list[str] | None, files: list[str] | None) -> None:
    """A knowledge base's `source` names what it searches: that list must be given (responses and deep
    search share the shape)."""
    if source == "collections" and not collections:
        raise ValueError("knowledge_base.collections is required for source collections")
    if source == "files" and not files:
        raise ValueError("knowledge_base.files is required for source files")
