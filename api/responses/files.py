"""Files, segments, transcripts, collections and media descriptions (Cloudglue's shapes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.responses.common import Page, TimedText, Wire

# --- files and segments ---


class VideoInfoOut(Wire):
    duration_seconds: float | None = None
    height: int | None = None
    width: int | None = None
    format: str | None = None
    has_audio: bool | None = None
    language: str | None = Field(None, description="spoken language (ISO 639-1) identified at indexing; filter "
                                 "segments with video_info path `language`")
    warnings: list[str] | None = Field(None, description="what a partial file indexed anyway is missing")


class MediaInfoOut(Wire):
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool | None = None


class FileObject(Wire):
    id: str
    object: Literal["file"]
    status: str = Field(description="completed (probed, usable) or failed (see `error`)")
    bytes: int
    created_at: int = Field(description="milliseconds since the epoch")
    filename: str
    uri: str
    metadata: dict[str, Any] | None = None
    media_type: str | None = None
    source: str | None = None
    video_info: VideoInfoOut | None = None
    warnings: list[str] | None = None
    media_info: MediaInfoOut | None = None
    error: str | None = None


class FileList(Page[FileObject]):
    pass


class SegmentObject(Wire):
    id: str
    file_id: str
    start_time: float
    end_time: float
    thumbnail_url: str
    metadata: dict[str, Any] | None = None
    segmentation_id: str | None = None
    collection_id: str


class SegmentList(Page[SegmentObject]):
    pass


class TranscriptWord(Wire):
    word: str
    start_time: float
    end_time: float


class TranscriptLine(Wire):
    start_time: float
    end_time: float
    text: str
    speaker: str | None = None
    words: list[TranscriptWord] | None = None


class TranscriptJson(Wire):
    file_id: str
    language: str | None = None
    segments: list[TranscriptLine]


# --- collections ---


class CollectionObject(Wire):
    id: str
    object: Literal["collection"]
    name: str
    description: str | None = None
    collection_type: str
    created_at: int
    file_count: int
    file_status_counts: dict[str, int] = Field(default_factory=dict, description="files by status")
    default_segmentation_config: dict[str, Any] | None = None


class CollectionList(Page[CollectionObject]):
    pass


class Progress(Wire):
    stage: str = Field(description="queued, speech, speakers, frames or indexing")
    fraction: float = Field(description="0..1 of the whole job")


class Segmentation(Wire):
    id: str | None = None
    status: str
    file_id: str
    segmentation_config: dict[str, Any] | None = None


class CollectionFileObject(Wire):
    collection_id: str
    file_id: str
    object: Literal["collection_file"]
    added_at: int
    status: str = Field(description="pending, processing, completed or failed")
    searchable_status: str | None = None
    segmentation: Segmentation | None = None
    segment_count: int = 0
    file: FileObject | None = None
    progress: Progress | None = Field(None, description="set while a worker processes the file")
    error: str | None = None
    error_kind: Literal["media", "environment"] | None = Field(
        None, description="media: the file itself failed (status failed); environment: a model of the server "
        "cannot load, the file waits in the queue until it can (GET /health says why)")
    processing_seconds: dict[str, float] | None = Field(None, description="where ingest time went, per stage")


class CollectionFileList(Page[CollectionFileObject]):
    pass


class RemovedCollectionFile(Wire):
    collection_id: str
    file_id: str
    object: Literal["collection_file"]


# --- media descriptions ---


class SegmentSummary(Wire):
    id: str
    start_time: float
    end_time: float
    title: str
    summary: str


class ChapterOut(Wire):
    index: int
    start_time: float
    end_time: float
    description: str


class VideoSummary(Wire):
    """The cached map-reduce summary of one video (`include_summary=true`)."""

    summary: str
    chapters: list[ChapterOut]
    total_chapters: int


class MediaDescription(Wire):
    collection_id: str
    file_id: str
    title: str
    duration_seconds: float | None = None
    content: str = Field(description="markdown: one section per segment")
    speech: list[TimedText] | None = Field(None, description="absent with response_format=markdown")
    scene_text: list[TimedText] | None = None
    visual_scene_description: list[TimedText] | None = None
    audio_description: list[TimedText] | None = Field(None, description="non-speech sounds, each once with the "
                                                      "time it is heard")
    segment_summary: list[SegmentSummary] | None = None
    file: FileObject
    summary: str | None = Field(None, description="with include_summary=true")
    chapters: list[ChapterOut] | None = Field(None, description="with include_summary=true")
    total_chapters: int | None = Field(None, description="with include_summary=true (json only)")


class MediaDescriptionData(Wire):
    content: str
    title: str
    speech: list[TimedText]
    scene_text: list[TimedText]
    visual_scene_description: list[TimedText]
    audio_description: list[TimedText] = Field(default_factory=list)


class MediaDescriptionItem(Wire):
    file_id: str
    added_at: int
    object: Literal["collection_file"]
    duration_seconds: float | None = None
    file: FileObject
    data: MediaDescriptionData


class MediaDescriptionList(Page[MediaDescriptionItem]):
    pass
