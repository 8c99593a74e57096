"""Search and deep search requests (Cloudglue)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from api.protocol.common import LenientModel, require_source


class SearchRequest(LenientModel):
    scope: Literal["segment", "file", "face", "moment"] = "segment"
    collections: list[str] = Field(min_length=1)
    query: str | None = Field(None, min_length=1, max_length=2000)
    limit: int = Field(10, ge=1, le=100)
    filter: dict[str, Any] | None = None
    threshold: float | None = None
    group_by_key: Literal["file"] | None = None
    sort_by: Literal["score", "item_count"] | None = None
    search_modalities: list[str] | None = Field(None, min_length=1, max_length=6)
    source_image: Any | None = None
    label_filters: list[str] | None = None


class DeepSearchKnowledgeBase(LenientModel):
    source: Literal["collections", "files", "default"] = "collections"
    collections: list[str] | None = Field(None, min_length=1, max_length=100)
    files: list[str] | None = Field(None, min_length=1, max_length=1000)
    filter: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _source(self) -> DeepSearchKnowledgeBase:
        require_source(self.source, self.collections, self.files)
        return self


class NewDeepSearch(LenientModel):
    knowledge_base: DeepSearchKnowledgeBase
    query: str = Field(min_length=1, max_length=2000)
    scope: Literal["segment", "file"] | None = None
    limit: int = Field(20, ge=1, le=500)
    exclude_weak_results: bool = False
    include: list[Literal["search_queries"]] | None = None
    stream: bool = False
    background: bool = False

    @model_validator(mode="after")
    def _modes(self) -> NewDeepSearch:
        if self.stream and self.background:
            raise ValueError("stream and background are mutually exclusive")
        if self.stream:
            raise ValueError("streamed deep search is not supported; use background: true and poll, or wait "
                             "for the response")
        return self
