"""Tags on files and segments (Cloudglue)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from api.protocol.common import LenientModel
from engine.filters import key_problem


def _label(label: str | None) -> str | None:
    if label is not None and (problem := key_problem(label)) is not None:
        raise ValueError(f"tag label {label!r} is not allowed (a label is a filter path): {problem}")
    return label


class NewTag(LenientModel):
    label: Annotated[str, AfterValidator(_label)] = Field(min_length=1, max_length=100)  # a label is a filter path
    value: str = Field(min_length=1, max_length=1000)
    file_id: str = Field(min_length=1)
    segment_id: str | None = None


class TagUpdate(LenientModel):
    label: Annotated[str | None, AfterValidator(_label)] = Field(None, min_length=1, max_length=100)
    value: str | None = Field(None, min_length=1, max_length=1000)
