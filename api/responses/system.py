"""Health and models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.responses.common import Wire


class Health(Wire):
    status: Literal["ok", "starting", "degraded"] = Field(
        description="starting: the start-up checks are loading the models (no job is claimed yet); degraded: a "
        "model cannot load or run (`reasons`), ingest jobs wait in the queue")
    reasons: list[str] | None = None
    queue_depth: int
    segments: int
    device: str


class ModelObject(Wire):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(Wire):
    object: Literal["list"]
    data: list[ModelObject]
