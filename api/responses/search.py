"""Search results (Cloudglue's `/search`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from api.responses.common import Page, TimedText, Wire


class SegmentResult(Wire):
    thumbnail_url: str | None = None
    type: Literal["segment"]
    id: str
    segment_id: str | None = None
    file_id: str
    collection_id: str
    score: float
    start_time: float
    end_time: float
    filename: str | None = None
    title: str | None = None
    speech: list[TimedText]
    scene_text: list[TimedText]
    visual_description: list[TimedText]
    audio_description: list[TimedText] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None


class FileResult(Wire):
    type: Literal["file"]
    id: str
    file_id: str
    collection_id: str
    score: float
    filename: str | None = None
    summary: str


class SegmentGroup(Wire):
    type: Literal["segment_group"]
    file_id: str
    item_count: int
    best_score: float
    matched_items: list[SegmentResult]


SearchResult = Annotated[SegmentResult | FileResult | SegmentGroup, Field(discriminator="type")]


class SearchResponse(Wire):
    id: str
    object: Literal["search"]
    query: str | None = None
    scope: str
    search_modalities: list[str]
    results: list[SearchResult]
    total: int
    limit: int
    created_at: int
    group_by_key: str | None = None
    group_count: int | None = None


class SearchList(Page[SearchResponse]):
    pass
