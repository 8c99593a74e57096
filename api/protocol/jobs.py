"""Jobs on one file (Cloudglue): describe / transcribe, segmentations, extract, find moments, frames."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from api.protocol.common import LenientModel


class Participant(LenientModel):
    name: str = Field(min_length=1, max_length=200)
    scope: str | None = None


class NewMediaJob(LenientModel):
    """Cloudglue's `NewDescribe` / `NewTranscribe`: a file (its URI or id, a local path or an allowed URL),
    which parts to produce, and the segmentation (an existing one, or a config)."""

    url: str = Field(min_length=1, max_length=4096)
    enable_summary: bool = True
    enable_speech: bool = True
    enable_scene_text: bool = True
    enable_visual_scene_description: bool = True
    enable_audio_description: bool | None = None  # describe: on; transcribe: off
    segmentation_id: str | None = None
    segmentation_config: dict[str, Any] | None = None
    thumbnails_config: dict[str, Any] | None = None
    participants: list[Participant] | None = Field(None, max_length=50)
    prompt: str | None = Field(None, max_length=2000)
    use_in_default_index: bool | None = None
    include_metadata: bool = False

    @model_validator(mode="after")
    def _one_segmentation(self) -> NewMediaJob:
        if self.segmentation_id and self.segmentation_config:
            raise ValueError("send either segmentation_id or segmentation_config, not both")
        return self


class NewSegmentation(LenientModel):
    """`POST /files/{id}/segmentations`: the SDK sends the config's fields at the top level; a body with
    a `segmentation_config` object is taken too."""

    segmentation_config: dict[str, Any] | None = None
    strategy: str | None = None
    uniform_config: dict[str, Any] | None = None
    shot_detector_config: dict[str, Any] | None = None
    manual_config: dict[str, Any] | None = None
    narrative_config: dict[str, Any] | None = None
    keyframe_config: dict[str, Any] | None = None
    start_time_seconds: float | None = Field(None, ge=0)
    end_time_seconds: float | None = Field(None, ge=0)
    thumbnails_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _config_given(self) -> NewSegmentation:
        if self.segmentation_config is None and self.strategy is None:
            raise ValueError("strategy (or segmentation_config) is required")
        return self

    def config(self) -> dict[str, Any]:
        if self.segmentation_config is not None:
            return self.segmentation_config
        return self.model_dump(exclude_none=True, exclude={"segmentation_config", "thumbnails_config"})


class NewExtract(LenientModel):
    """Cloudglue's `NewExtract`: a prompt and/or a JSON schema, video- or segment-level."""

    url: str = Field(min_length=1, max_length=4096)
    prompt: str | None = Field(None, min_length=1, max_length=5000)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    enable_video_level_entities: bool | None = None
    enable_segment_level_entities: bool | None = None
    enable_transcript_mode: bool = False
    enable_metadata_mode: bool = False
    segmentation_id: str | None = None
    segmentation_config: dict[str, Any] | None = None
    thumbnails_config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _rules(self) -> NewExtract:
        if not self.prompt and not self.schema_:
            raise ValueError("send a prompt, a schema, or both")
        if self.enable_video_level_entities and self.enable_segment_level_entities:
            raise ValueError("enable_video_level_entities and enable_segment_level_entities are mutually exclusive")
        if self.enable_transcript_mode and self.enable_metadata_mode:
            raise ValueError("enable_transcript_mode and enable_metadata_mode are mutually exclusive")
        if self.segmentation_id and self.segmentation_config:
            raise ValueError("send either segmentation_id or segmentation_config, not both")
        if self.schema_ is not None and self.schema_.get("type", "object") != "object":
            raise ValueError("schema must describe a JSON object (type: object)")
        return self

    def segment_level(self) -> bool:
        return bool(self.enable_segment_level_entities)


class MomentScoring(LenientModel):
    key: str = Field(min_length=1, max_length=64)
    min: float
    max: float
    higher_is_better: bool | None = None
    description: str | None = None


class MomentCriterionIn(LenientModel):
    name: str = Field(min_length=1, max_length=64)
    instructions: str = Field(min_length=1, max_length=20_000)
    moment_schema: dict[str, Any] | None = None
    finding_schema: dict[str, Any] | None = None
    anchors: dict[str, Any] | None = None
    scoring: MomentScoring | None = None


class SpeakerFilterIn(LenientModel):
    speakers: list[str] | None = Field(None, max_length=50)


class NewFindMoments(LenientModel):
    """Cloudglue's `NewFindMoments`: one criterion over one video."""

    url: str = Field(min_length=1, max_length=4096)
    criterion: MomentCriterionIn
    describe_job_id: str | None = None
    signals_required: list[Literal["speech", "visual_scene_description", "scene_text", "audio_description"]] | None \
        = Field(None, min_length=1)
    boundary_policy: Literal["sentence", "tight", "loose"] = "sentence"
    speaker_filter: SpeakerFilterIn | None = None
    min_duration_seconds: float = Field(5, gt=0, le=3600)
    max_duration_seconds: float = Field(300, gt=0, le=36_000)
    cache_policy: Literal["reuse", "refresh"] = "reuse"

    @model_validator(mode="after")
    def _durations(self) -> NewFindMoments:
        if self.min_duration_seconds > self.max_duration_seconds:
            raise ValueError("min_duration_seconds exceeds max_duration_seconds")
        if self.criterion.moment_schema is not None and self.criterion.moment_schema.get("type", "object") != "object":
            raise ValueError("criterion.moment_schema must describe a JSON object")
        return self


class FrameUniformConfig(LenientModel):
    frames_per_second: float = Field(1.0, ge=0.1, le=30)
    max_width: int | None = Field(None, ge=64, le=4096)


class NewFrameExtraction(LenientModel):
    strategy: Literal["uniform"] = "uniform"
    uniform_config: FrameUniformConfig | None = None
    thumbnails_config: dict[str, Any] | None = None
    start_time_seconds: float | None = Field(None, ge=0)
    end_time_seconds: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _window(self) -> NewFrameExtraction:
        if self.start_time_seconds is not None and self.end_time_seconds is not None \
                and self.end_time_seconds <= self.start_time_seconds:
            raise ValueError("end_time_seconds must be after start_time_seconds")
        return self
