"""Wire types (pydantic) for requests, in the order of the OpenAI / Cloudglue docs.

Unknown fields are tolerated and logged (clients send vendor extras); values that are present but
wrong are rejected with `param` naming the field. Extensions to the OpenAI chat request (Cloudglue's
`collections` / `filter`, VideoDB's `collection_id` / `video_id`) sit in one marked block.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from clipcite.errors import InvalidRequest
from clipcite.media import looks_like_video_ref
from engine.filters import check_keys, key_problem

log = logging.getLogger(__name__)


class LenientModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _log_unknown(self) -> LenientModel:
        if self.model_extra:
            log.info("%s: ignoring unknown field(s) %s", type(self).__name__, sorted(self.model_extra))
        return self


def day_ms(day: str | None, param: str) -> int | None:
    """A `created_before` / `created_after` date (YYYY-MM-DD, UTC) as epoch milliseconds."""
    if day is None:
        return None
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        raise InvalidRequest(f"{param} must be a date (YYYY-MM-DD)", param=param) from None
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


# --- collections ---------------------------------------------------------------------------------


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


def _label(label: str | None) -> str | None:
    if label is not None and (problem := key_problem(label)) is not None:
        raise ValueError(f"tag label {label!r} is not allowed (a label is a filter path): {problem}")
    return label


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


# --- chat ------------------------------------------------------------------------------------------


class ContentPart(LenientModel):
    type: str
    text: str | None = None
    video_url: str | dict[str, Any] | None = None  # BibiGPT: a URL or path, or {"url": ...}
    image_url: str | dict[str, Any] | None = None  # OpenAI vision: {"url": ...} (a data URL, http(s) or path)

    def image_ref(self) -> str | None:
        if self.type != "image_url" or self.image_url is None:
            return None
        return self.image_url if isinstance(self.image_url, str) else str(self.image_url.get("url") or "") or None

    def video_ref(self) -> str | None:
        if self.type != "video_url" or self.video_url is None:
            return None
        return self.video_url if isinstance(self.video_url, str) else str(self.video_url.get("url") or "") or None


class FunctionCallIn(LenientModel):
    name: str = Field(min_length=1, max_length=64)
    arguments: str | dict[str, Any] = "{}"


class ToolCallIn(LenientModel):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(LenientModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None  # an assistant turn that called tools
    tool_call_id: str | None = None  # a tool result answers this call

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))
        return ""

    def image_refs(self) -> list[str]:
        return [r for p in self.content if (r := p.image_ref())] if isinstance(self.content, list) else []

    def video_ref(self) -> str | None:
        """A video this message links (a video_url part, or a message that is only a URL / media path)."""
        if isinstance(self.content, list):
            return next((r for p in self.content if (r := p.video_ref())), None)
        return self.content.strip() if isinstance(self.content, str) and looks_like_video_ref(self.content) else None

    def instruction(self) -> str:
        """The text that goes with a linked video (empty when the message is only the link)."""
        return "" if isinstance(self.content, str) and self.video_ref() else self.text()


class FunctionDef(LenientModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] | None = None


class ToolDef(LenientModel):
    type: Literal["function"]
    function: FunctionDef


class StreamOptions(LenientModel):
    include_usage: bool = False


class JsonSchemaFormat(LenientModel):
    name: str = Field("response", max_length=64)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(LenientModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and (self.json_schema is None or not self.json_schema.schema_):
            raise ValueError("json_schema.schema is required when type is json_schema")
        return self

    def to_llama(self) -> dict[str, Any] | None:
        """llama-cpp-python turns {"type": "json_object", "schema": ...} into a grammar."""
        if self.type == "text":
            return None
        if self.type == "json_object":
            return {"type": "json_object"}
        assert self.json_schema is not None  # the model validator requires it for json_schema
        return {"type": "json_object", "schema": self.json_schema.schema_}


LOGPROBS_DOC = ("Not supported (a 400 when asked for): an answer is checked against the lines it cites and may "
                "be replaced by the refusal, so the model's token log-probabilities would describe other text.")


def no_logprobs(asked: bool) -> None:
    if asked:
        raise InvalidRequest("logprobs are not supported: " + LOGPROBS_DOC.split(": ", 1)[1], param="logprobs")


class ChatCompletionRequest(LenientModel):
    messages: list[ChatMessageIn] = Field(min_length=1)
    model: str = "nimbus-001"
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    max_completion_tokens: int | None = Field(None, ge=1, le=32768)
    max_tokens: int | None = Field(None, ge=1, le=32768)
    n: int = Field(1, ge=1, le=1, description="Only one choice is generated.")
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    response_format: ResponseFormat | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    user: str | None = None
    tools: list[ToolDef] | None = Field(None, max_length=64)
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = Field(None, description=LOGPROBS_DOC)
    top_logprobs: int | None = Field(None, ge=0, le=20, description=LOGPROBS_DOC)

    # --- extensions: Cloudglue / VideoDB ---
    collections: list[str] | None = Field(None, min_length=1)
    filter: dict[str, Any] | None = None
    collection_id: str | None = None
    video_id: str | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    strict_grounding: bool | None = Field(
        None, description="Replace answers the segments do not support with a refusal (default: on).")

    @model_validator(mode="after")
    def _rules(self) -> ChatCompletionRequest:
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed when stream is true")
        if isinstance(self.stop, list) and len(self.stop) > 4:
            raise ValueError("stop accepts at most 4 sequences")
        return self

    def stop_list(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


# --- search ----------------------------------------------------------------------------------------


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


# --- responses (OpenAI's Responses API and Cloudglue's, one request shape) -------------------------


class ResponseInputPart(LenientModel):
    type: Literal["input_text", "output_text", "text", "input_image", "image_url", "input_file", "refusal"]
    text: str | None = Field(None, max_length=100_000)
    image_url: str | dict[str, Any] | None = None  # input_image: a URL or data URL (chat's image_url: {"url"})
    file_id: str | None = None
    refusal: str | None = None

    def image_ref(self) -> str | None:
        if self.type not in ("input_image", "image_url") or self.image_url is None:
            return None
        return self.image_url if isinstance(self.image_url, str) else str(self.image_url.get("url") or "") or None


class ResponseInputItem(LenientModel):
    """A message (easy form: role + string content), a function call the model made, or its output."""

    type: Literal["message", "function_call", "function_call_output"] = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[ResponseInputPart] | None = None
    call_id: str | None = Field(None, min_length=1, max_length=200)
    name: str | None = Field(None, min_length=1, max_length=64)
    arguments: str | None = None
    output: str | list[ResponseInputPart] | None = None

    @model_validator(mode="after")
    def _complete(self) -> ResponseInputItem:
        if self.type == "message" and self.role is None:
            raise ValueError("a message item needs a role")
        if self.type == "function_call" and not (self.call_id and self.name):
            raise ValueError("a function_call item needs call_id and name")
        if self.type == "function_call_output" and (not self.call_id or self.output is None):
            raise ValueError("a function_call_output item needs call_id and output")
        return self

    def text(self) -> str:
        body = self.output if self.type == "function_call_output" else self.content
        if isinstance(body, str):
            return body
        return "\n".join(p.text or p.refusal or "" for p in body or [] if p.type != "input_image")

    def image_refs(self) -> list[str]:
        return [r for p in self.content or [] if not isinstance(p, str) and (r := p.image_ref())] \
            if isinstance(self.content, list) else []


class ResponseTool(LenientModel):
    type: str
    name: str | None = Field(None, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _function(self) -> ResponseTool:
        if self.type != "function":
            raise ValueError(f"only function tools are supported (the model runs locally; {self.type!r} is a "
                             "hosted tool)")
        if not self.name:
            raise ValueError("a function tool needs a name")
        return self


class ResponseTextFormat(LenientModel):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = Field(None, max_length=64)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseTextFormat:
        if self.type == "json_schema" and not self.schema_:
            raise ValueError("text.format.schema is required when type is json_schema")
        return self

    def to_llama(self) -> dict[str, Any] | None:
        if self.type == "text":
            return None
        return {"type": "json_object", "schema": self.schema_} if self.schema_ else {"type": "json_object"}


class ResponseText(LenientModel):
    format: ResponseTextFormat | None = None


class KnowledgeBase(LenientModel):
    """Cloudglue's `knowledge_base`: collections (with a filter), files, or every indexed file."""

    source: Literal["collections", "files", "default"] = "collections"
    type: Literal["general_question_answering", "entity_backed_knowledge"] | None = None
    collections: list[str] | None = Field(None, min_length=1, max_length=100)
    files: list[str] | None = Field(None, min_length=1, max_length=1000)
    filter: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _source(self) -> KnowledgeBase:
        if self.source == "collections" and not self.collections:
            raise ValueError("knowledge_base.collections is required for source collections")
        if self.source == "files" and not self.files:
            raise ValueError("knowledge_base.files is required for source files")
        if self.type == "entity_backed_knowledge":
            raise ValueError("entity_backed_knowledge is not supported (no entity collections); use "
                             "general_question_answering")
        return self


class ResponseRequest(LenientModel):
    model: str = "nimbus-001"
    input: str | list[ResponseInputItem]
    instructions: str | None = Field(None, max_length=100_000)
    previous_response_id: str | None = None
    store: bool = True
    background: bool = False
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_output_tokens: int | None = Field(None, ge=1, le=32768)
    tools: list[ResponseTool] | None = Field(None, max_length=64)
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: ResponseText | None = None
    include: list[str] | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20, description=LOGPROBS_DOC)
    metadata: dict[str, str] | None = Field(None, max_length=16)
    user: str | None = None
    # --- Cloudglue ---
    knowledge_base: KnowledgeBase | None = None
    # --- extensions shared with chat completions (OpenAI clients send them in `extra_body`) ---
    collections: list[str] | None = Field(None, min_length=1)
    filter: dict[str, Any] | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    strict_grounding: bool | None = None

    @model_validator(mode="after")
    def _rules(self) -> ResponseRequest:
        if isinstance(self.input, str) and not self.input.strip():
            raise ValueError("input must not be empty")
        if isinstance(self.input, list) and not self.input:
            raise ValueError("input must hold at least one item")
        if self.stream and self.background:
            raise ValueError("stream and background are mutually exclusive")
        if self.background and not self.store:
            raise ValueError("background responses must be stored (store: true)")
        if self.knowledge_base is not None and self.collections:
            raise ValueError("send either knowledge_base or collections, not both")
        return self

    def media_descriptions(self) -> bool:
        return "cloudglue_citations.media_descriptions" in (self.include or [])


# --- describe / transcribe jobs (Cloudglue) --------------------------------------------------------


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


class EmbeddingRequest(LenientModel):
    """OpenAI's `/v1/embeddings`: `model` is the server's embedding model (`CLIPCITE_EMBED_MODEL`)."""

    input: str | list[str] = Field(description="a text or a list of texts (token arrays are not accepted)")
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None
    # --- extension: e5-style models embed questions and passages differently ---
    input_type: Literal["passage", "query"] = Field(
        "passage", description="query: embed the texts as search questions (e5's `query:`); passage: as documents")

    @model_validator(mode="after")
    def _texts(self) -> EmbeddingRequest:
        texts = [self.input] if isinstance(self.input, str) else self.input
        if not texts or len(texts) > 2048:
            raise ValueError("input must hold 1 to 2048 texts")
        if any(not t for t in texts):
            raise ValueError("input texts must not be empty")
        return self

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class NewTag(LenientModel):
    label: Annotated[str, AfterValidator(_label)] = Field(min_length=1, max_length=100)  # a label is a filter path
    value: str = Field(min_length=1, max_length=1000)
    file_id: str = Field(min_length=1)
    segment_id: str | None = None


class TagUpdate(LenientModel):
    label: Annotated[str | None, AfterValidator(_label)] = Field(None, min_length=1, max_length=100)
    value: str | None = Field(None, min_length=1, max_length=1000)


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


class DeepSearchKnowledgeBase(LenientModel):
    source: Literal["collections", "files", "default"] = "collections"
    collections: list[str] | None = Field(None, min_length=1, max_length=100)
    files: list[str] | None = Field(None, min_length=1, max_length=1000)
    filter: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _source(self) -> DeepSearchKnowledgeBase:
        if self.source == "collections" and not self.collections:
            raise ValueError("knowledge_base.collections is required for source collections")
        if self.source == "files" and not self.files:
            raise ValueError("knowledge_base.files is required for source files")
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


# --- internal: ingest workers hand finished points to the process that owns the embedded store ---
class WireSparse(BaseModel):
    indices: list[int]
    values: list[float]

    @model_validator(mode="after")
    def _paired(self) -> WireSparse:
        if len(self.indices) != len(self.values):
            raise ValueError("a sparse vector needs one value per index")
        return self


class WirePoint(BaseModel):
    id: int = Field(ge=0)
    dense: list[float]
    payload: dict[str, Any]
    sparse: dict[str, WireSparse] = Field(default_factory=dict)
    image: list[float] | None = None


class SegmentBatch(BaseModel):
    """One batch of a job's points (`ingest.sinks.OwnerSink`); `keep` (all the job's point ids) marks the
    last batch, after which the file's other points in the collection are dropped."""

    job_id: str
    owner: str
    collection_id: str
    file_id: str
    points: list[WirePoint] = Field(max_length=1024)
    keep: list[int] | None = None
