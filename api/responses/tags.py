"""Cloudglue's tags (`VideoTag`, `ListVideoTagsResponse`)."""

from __future__ import annotations

from typing import Literal

from api.responses.common import Page, Wire


class TagObject(Wire):
    id: str
    label: str
    value: str
    type: Literal["file", "segment"]
    file_id: str
    segment_id: str | None = None
    created_at: int | None = None


class TagList(Page[TagObject]):
    pass


class TagDeleted(Wire):
    id: str
