"""Cloudglue's describe and transcribe jobs (`Describe`, `Transcribe`, their lists): a job's status is its
file's status in the job's collection; once completed, `data` holds the parts the job asked for."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.responses.common import Page, Wire
from api.responses.files import ChapterOut, FileObject

JobStatus = Literal["pending", "processing", "completed", "failed", "not_applicable"]


class WordOut(Wire):
    word: str
    start_time: float
    end_time: float


class PartOut(Wire):
    text: str
    start_time: float
    end_time: float
    speaker: str | None = None
    words: list[WordOut] | None = Field(None, description="speech only, with include_word_timestamps")


class SegmentSummaryOut(Wire):
    title: str
    summary: str
    start_time: float
    end_time: float


class MediaJobData(Wire):
    speech: list[PartOut] | None = None
    scene_text: list[PartOut] | None = None
    visual_scene_description: list[PartOut] | None = None
    audio_description: list[PartOut] | None = None
    content: str | None = Field(None, description="markdown, or the transcript in the speech_* formats")
    title: str | None = None
    summary: str | None = None
    segment_summary: list[SegmentSummaryOut] | None = None


class MediaJobConfig(Wire):
    enable_summary: bool
    enable_speech: bool
    enable_scene_text: bool
    enable_visual_scene_description: bool
    enable_audio_description: bool | None = None
    participants: list[dict[str, Any]] | None = None
    prompt: str | None = None


class MediaJob(Wire):
    job_id: str
    status: JobStatus
    url: str
    duration_seconds: float | None = None
    created_at: int = Field(description="milliseconds")
    describe_config: MediaJobConfig | None = Field(None, description="describe jobs")
    transcribe_config: MediaJobConfig | None = Field(None, description="transcribe jobs")
    data: MediaJobData | None = None
    error: str | None = None
    segmentation_id: str | None = None
    chapters: list[ChapterOut] | None = None
    total_chapters: int | None = None
    file: FileObject | None = None


class MediaJobList(Page[MediaJob]):
    pass


class JobDeleted(Wire):
    id: str


# --- segmentations (Cloudglue `Segmentation`, `SegmentationList`) ---


class SegmentationSegment(Wire):
    id: str
    start_time: float
    end_time: float
    thumbnail_url: str | None = None


class SegmentationChapter(Wire):
    index: int
    start_time: float
    end_time: float
    description: str


class SegmentationData(Wire):
    object: Literal["list"]
    segments: list[SegmentationSegment]
    chapters: list[SegmentationChapter] | None = Field(None, description="narrative segmentations, with "
                                                       "include_chapters: each chapter described by the model")
    total: int
    limit: int
    offset: int


class SegmentationObject(Wire):
    segmentation_id: str
    status: JobStatus
    created_at: int = Field(description="milliseconds")
    file_id: str
    collection_id: str = Field(description="the collection whose index holds these segments")
    segmentation_config: dict[str, Any]
    thumbnails_config: dict[str, Any]
    total_segments: int | None = None
    total_chapters: int | None = None
    error: str | None = None
    data: SegmentationData | None = None


class SegmentationList(Page[SegmentationObject]):
    pass


# --- extract (Cloudglue `Extract`, `ExtractList`) ---


class SegmentEntities(Wire):
    start_time: float
    end_time: float
    entities: dict[str, Any]
    segment_id: str | None = None


class ExtractData(Wire):
    entities: dict[str, Any] | None = Field(None, description="video-level entities")
    segment_entities: list[SegmentEntities] | None = Field(None, description="segment-level entities, paged")


class ExtractJob(Wire):
    job_id: str
    status: JobStatus
    url: str
    created_at: int = Field(description="milliseconds")
    extract_config: dict[str, Any]
    segmentation_id: str | None = None
    data: ExtractData | None = None
    total: int | None = None
    limit: int | None = None
    offset: int | None = None
    error: str | None = None


class ExtractList(Page[ExtractJob]):
    pass


# --- find moments (Cloudglue `FindMoments`, `FindMomentsList`) ---


class CriterionScoreOut(Wire):
    key: str
    value: float
    min: float
    max: float


class MomentOut(Wire):
    moment_id: str
    start_time: float
    end_time: float
    title: str
    reason: str
    speakers: list[str] | None = None
    criterion_score: CriterionScoreOut | None = None
    rank_score: float = Field(ge=0, le=1)
    properties: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None


class FindMomentsJob(Wire):
    job_id: str
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    created_at: int = Field(description="milliseconds")
    url: str
    find_moments_config: dict[str, Any]
    moments: list[MomentOut] | None = None
    total_moments: int | None = None
    error: str | None = None


class FindMomentsList(Wire):
    runs: list[FindMomentsJob]
    total: int
    next_cursor: str | None = Field(None, description="the offset of the next page, as text")


class FindMomentsDeleted(Wire):
    job_id: str
    deleted: bool
    refunded: bool


# --- frame extractions (Cloudglue `FrameExtraction`, `FrameExtractionList`) ---


class FrameOut(Wire):
    id: str
    timestamp: float
    thumbnail_url: str | None = None


class FrameData(Wire):
    object: Literal["list"]
    frames: list[FrameOut]
    total: int
    limit: int
    offset: int


class FrameExtractionObject(Wire):
    frame_extraction_id: str
    status: Literal["pending", "processing", "completed", "failed"]
    created_at: int = Field(description="milliseconds")
    file_id: str
    frame_extraction_config: dict[str, Any]
    frame_count: int | None = None
    data: FrameData | None = None


class FrameExtractionList(Page[FrameExtractionObject]):
    pass
