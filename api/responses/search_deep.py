"""Cloudglue's deep search shapes (`DeepSearch`, `DeepSearchList`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.responses.common import Page, Wire

DeepStatus = Literal["in_progress", "completed", "failed", "cancelled"]


class DeepSearchResultOut(Wire):
    type: Literal["segment", "file"]
    id: str
    file_id: str
    collection_id: str | None = None
    score: float
    context: str | None = Field(None, description="why the model finds it relevant")
    segment_id: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    title: str | None = None
    filename: str | None = None
    thumbnail_url: str | None = None
    metadata: dict[str, Any] | None = None


class DeepSearchObject(Wire):
    id: str
    object: Literal["deep_search"]
    status: DeepStatus
    created_at: float = Field(description="seconds")
    query: str
    scope: Literal["segment", "file"] | None = None
    text: str | None = Field(None, description="the model's synthesis (checked against the results)")
    results: list[DeepSearchResultOut] | None = None
    total: int | None = None
    limit: int | None = None
    search_queries: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None
    error: dict[str, Any] | None = None


class DeepSearchListItem(Wire):
    id: str
    object: Literal["deep_search"]
    status: DeepStatus
    created_at: float
    query: str
    scope: Literal["segment", "file"] | None = None
    total: int | None = None
    usage: dict[str, int] | None = None


class DeepSearchList(Page[DeepSearchListItem]):
    pass


class DeepSearchDeleted(Wire):
    id: str
    object: Literal["deep_search"]
    deleted: bool
