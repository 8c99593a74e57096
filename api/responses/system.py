"""Health and models."""

from __future__ import annotations

from typing import Literal

from api.responses.common import Wire


class Health(Wire):
    status: Literal["ok"]
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
