"""Collections, files and segments: creating, adding, updating."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from api.protocol.common import LenientModel
from clipcite.errors import InvalidRequest
from engine.filters import check_keys


class NewCollection(LenientModel):
    collection_type: Literal["media-descriptions", "rich-transcripts", "entities"] = "media-descriptions"
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    default_segmentation_config: dict[str, Any] | None = None


class CollectionUpdate(LenientModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)


def _filterable(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Every key of user metadata can be named by a filter path (`engine.filters.key_problem`): a key that
    cannot is refused here, before anything is written, with the key in the message."""
    if metadata is not None:
        try:
            check_keys(metadata, "metadata")
        except InvalidRequest as exc:
            raise ValueError(exc.message) from None
    return metadata


Metadata = Annotated[dict[str, Any] | None, AfterValidator(_filterable)]


class AddCollectionFile(LenientModel):
    file_id: str | None = None
    url: str | None = None
    segmentation_id: str | None = None
    segmentation_config: dict[str, Any] | None = None
    metadata: Metadata = None

    @model_validator(mode="after")
    def _one_source(self) -> AddCollectionFile:
        if not self.file_id and not self.url:
            raise ValueError("either file_id or url is required")
        return self


class SegmentUpdate(LenientModel):
    metadata: Metadata = None


class FileUpdate(LenientModel):
    metadata: Metadata = None
    filename: str | None = Field(None, min_length=1, max_length=255)
