"""Response shapes for the OpenAPI document (`/docs`, `/openapi.json`).

Routes build plain dicts in `api.serialize` (the `cloudglue` and `openai` SDK models are the contract);
these models describe them for clients and code generators. They are attached as documented responses,
not as `response_model`, so a documentation gap can never drop a field an SDK reads. The API fuzz test
checks every response against them (schema, status code and content type), which keeps them honest.
`extra="allow"`: objects may carry more fields than documented, as OpenAI's and Cloudglue's do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- errors ---


class ErrorBody(_Open):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error, conflict_error, "
                                  "payload_too_large, overloaded_error, media_error or server_error")
    param: str | None = Field(None, description="the request field at fault, when there is one")
    code: Any = None


class ErrorResponse(_Open):
    error: ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented error responses, all in the one error shape."""
    text = {400: "Invalid request (the `param` names the field)", 401: "Missing or invalid API key",
            404: "Not found", 409: "Conflict with the current state", 413: "Upload too large",
            422: "The media cannot be used (unreadable, no frame at that time)",
            503: "Too many chat requests in flight (see Retry-After)"}
    # Explicit JSON content: routes that answer with video, images or subtitles still fail in JSON.
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    return {c: {"description": text[c], "content": {"application/json": {"schema": schema}}} for c in codes}


# --- files and segments ---


class VideoInfoOut(_Open):
    duration_seconds: float | None = None
    height: int | None = None
    width: int | None = None
    format: str | None = None
    has_audio: bool | None = None


class FileObject(_Open):
    id: str
    object: Literal["file"]
    status: str = Field(description="completed (probed, usable) or failed (see `error`)")
    bytes: int
    created_at: int = Field(description="milliseconds since the epoch")
    filename: str
    uri: str
    metadata: dict[str, Any] | None = None
    video_info: VideoInfoOut | None = None
    error: str | None = None


class _List(_Open):
    object: Literal["list"]
    total: int
    limit: int
    offset: int


class FileList(_List):
    data: list[FileObject]


class Deleted(_Open):
    id: str
    object: str


class SegmentObject(_Open):
    id: str
    file_id: str
    start_time: float
    end_time: float
    thumbnail_url: str
    metadata: dict[str, Any] | None = None
    segmentation_id: str | None = None
    collection_id: str


class SegmentList(_List):
    data: list[SegmentObject]


class TranscriptWord(_Open):
    word: str
    start_time: float
    end_time: float


class TranscriptLine(_Open):
    start_time: float
    end_time: float
    text: str
    speaker: str | None = None
    words: list[TranscriptWord] | None = None


class TranscriptJson(_Open):
    file_id: str
    language: str | None = None
    segments: list[TranscriptLine]


# --- collections ---


class CollectionObject(_Open):
    id: str
    object: Literal["collection"]
    name: str
    description: str | None = None
    collection_type: str
    created_at: int
    file_count: int
    file_status_counts: dict[str, int] = Field(default_factory=dict, description="files by status")
    default_segmentation_config: dict[str, Any] | None = None


class CollectionList(_List):
    data: list[CollectionObject]


class Progress(_Open):
    stage: str = Field(description="queued, speech, speakers, frames or indexing")
    fraction: float = Field(description="0..1 of the whole job")


class CollectionFileObject(_Open):
    collection_id: str
    file_id: str
    object: Literal["collection_file"]
    added_at: int
    status: str = Field(description="pending, processing, completed or failed")
    searchable_status: str | None = None
    segmentation: dict[str, Any] | None = None
    segment_count: int = 0
    file: FileObject | None = None
    progress: Progress | None = Field(None, description="set while a worker processes the file")
    processing_seconds: dict[str, float] | None = Field(None, description="where ingest time went, per stage")
    error: str | None = None


class CollectionFileList(_List):
    data: list[CollectionFileObject]


class RemovedCollectionFile(_Open):
    collection_id: str
    file_id: str
    object: Literal["collection_file"]


class TimedText(_Open):
    text: str
    start_time: float
    end_time: float
    speaker: str | None = None


class SegmentSummary(_Open):
    id: str
    start_time: float
    end_time: float
    title: str
    summary: str


class ChapterOut(_Open):
    index: int
    start_time: float
    end_time: float
    description: str


class MediaDescription(_Open):
    collection_id: str
    file_id: str
    title: str
    duration_seconds: float | None = None
    content: str = Field(description="markdown: one section per segment")
    speech: list[TimedText] | None = Field(None, description="absent with response_format=markdown")
    scene_text: list[TimedText] | None = None
    visual_scene_description: list[TimedText] | None = None
    segment_summary: list[SegmentSummary] | None = None
    summary: str | None = Field(None, description="with include_summary=true")
    chapters: list[ChapterOut] | None = Field(None, description="with include_summary=true")
    file: FileObject


class MediaDescriptionItem(_Open):
    file_id: str
    added_at: int
    object: Literal["collection_file"]
    duration_seconds: float | None = None
    file: FileObject
    data: dict[str, Any]


class MediaDescriptionList(_List):
    data: list[MediaDescriptionItem]


# --- chat ---


class Citation(_Open):
    collection_id: str
    file_id: str
    segment_id: str
    start_time: float
    end_time: float
    filename: str | None = None
    number: int | None = Field(None, description="the [n] marker in the answer")
    text: str
    speech: list[TimedText]
    scene_text: list[TimedText]
    visual_scene_description: list[TimedText]


class ToolCallFunction(_Open):
    name: str
    arguments: str = Field(description="JSON text")


class ToolCall(_Open):
    id: str
    type: Literal["function"]
    function: ToolCallFunction


class AssistantMessage(_Open):
    role: Literal["assistant"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(_Open):
    index: int
    message: AssistantMessage
    finish_reason: str | None = None
    grounded: bool | None = Field(None, description="False when the answer's words are not in the segments")
    citations: list[Citation] = Field(default_factory=list)


class Usage(_Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(_Open):
    id: str
    object: Literal["chat.completion"]
    created: int = Field(description="seconds (OpenAI)")
    created_at: int | None = Field(None, description="milliseconds (Cloudglue)")
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None
    payload: dict[str, Any] | None = Field(None, description="echo of the request (Cloudglue)")


class ChatCompletionList(_List):
    data: list[ChatCompletion]


CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ChatCompletion,
          "description": "A chat completion; with `stream: true`, `text/event-stream` of `chat.completion.chunk` "
                         "objects ending in `data: [DONE]` (citations on the final content chunk)",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
}


# --- search ---


class SegmentResult(_Open):
    type: Literal["segment"]
    id: str
    file_id: str
    collection_id: str
    score: float
    start_time: float
    end_time: float
    filename: str | None = None
    thumbnail_url: str | None = None
    speech: list[TimedText]
    scene_text: list[TimedText]
    visual_description: list[TimedText]
    metadata: dict[str, Any] | None = None


class FileResult(_Open):
    type: Literal["file"]
    id: str
    file_id: str
    collection_id: str
    score: float
    filename: str | None = None
    summary: str


class SegmentGroup(_Open):
    type: Literal["segment_group"]
    file_id: str
    item_count: int
    best_score: float
    matched_items: list[SegmentResult]


class SearchResponse(_Open):
    id: str
    object: Literal["search"]
    query: str | None = None
    scope: str
    search_modalities: list[str]
    results: list[SegmentResult | FileResult | SegmentGroup]
    total: int
    limit: int
    created_at: int
    group_by_key: str | None = None
    group_count: int | None = None


class SearchList(_List):
    data: list[SearchResponse]


# --- system ---


class Health(_Open):
    status: Literal["ok"]
    queue_depth: int
    segments: int
    device: str


class ModelObject(_Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(_Open):
    object: Literal["list"]
    data: list[ModelObject]
