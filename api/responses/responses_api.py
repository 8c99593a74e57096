"""The Responses API's shapes (OpenAI's `openai.types.responses` and Cloudglue's `Response`): one object
both SDKs parse. Times are integer seconds (Cloudglue's `created_at` is a strict int; OpenAI's float takes
it); each citation is a `cloudglue_citation` annotation on the output text, with OpenAI's `start_index` /
`end_index` of its `[n]` marker in the text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.responses.common import Page, Wire

ResponseStatus = Literal["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]


class ResponseAnnotation(Wire):
    type: Literal["cloudglue_citation"]
    collection_id: str | None = None
    file_id: str
    segment_id: str | None = None
    start_time: float = Field(description="where the cited moment starts (seconds)")
    end_time: float | None = None
    filename: str | None = None
    number: int | None = Field(None, description="the [n] marker in the text")
    start_index: int | None = Field(None, description="where the [n] marker starts in the text")
    end_index: int | None = Field(None, description="where the [n] marker ends in the text")
    context: str | None = Field(None, description="the sentence of the answer that cites the moment")
    relevant_sources: list[str] | None = Field(None, description="with include cloudglue_citations.media_descriptions")
    visual_scene_description: list[str] | None = None
    scene_text: list[str] | None = None
    speech: list[str] | None = None
    audio_description: list[str] | None = None


class OutputText(Wire):
    type: Literal["output_text"]
    text: str
    annotations: list[ResponseAnnotation]
    logprobs: list[Any] = Field(default_factory=list)


class OutputMessage(Wire):
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    role: Literal["assistant"]
    content: list[OutputText]


class FunctionCallItem(Wire):
    type: Literal["function_call"]
    id: str
    call_id: str
    name: str
    arguments: str = Field(description="JSON text")
    status: Literal["in_progress", "completed"]


class ResponseUsage(Wire):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int] = Field(default_factory=lambda: {"cached_tokens": 0})
    output_tokens_details: dict[str, int] = Field(default_factory=lambda: {"reasoning_tokens": 0})


class ResponseErrorOut(Wire):
    message: str
    type: str
    code: str | None = None


class ResponseObject(Wire):
    id: str
    object: Literal["response"]
    created_at: int = Field(description="seconds")
    status: ResponseStatus
    model: str
    instructions: str | None = None
    output: list[OutputMessage | FunctionCallItem]
    usage: ResponseUsage | None = None
    error: ResponseErrorOut | None = None
    incomplete_details: dict[str, Any] | None = None
    previous_response_id: str | None = None
    store: bool = True
    background: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    parallel_tool_calls: bool = False
    tool_choice: Any = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    text: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    grounded: bool | None = Field(None, description="False when the answer's words are not in the segments")


class ResponseListItem(Wire):
    id: str
    object: Literal["response"]
    status: ResponseStatus
    created_at: int
    model: str
    instructions: str | None = None
    usage: ResponseUsage | None = None


class ResponseList(Page[ResponseListItem]):
    pass


class ResponseDeleted(Wire):
    id: str
    object: Literal["response"]
    deleted: bool


class InputItem(Wire):
    """An input item as stored (`GET /v1/responses/{id}/input_items`): a message, function call or output."""

    id: str
    type: Literal["message", "function_call", "function_call_output"]
    role: str | None = None
    content: list[dict[str, Any]] | None = None
    status: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


class InputItemList(Wire):
    object: Literal["list"]
    data: list[InputItem]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool


class ResponseStreamEvent(Wire):
    """One server-sent event (`event: <type>`); the fields after `sequence_number` depend on the type, as in
    OpenAI's `ResponseStreamEvent` union: `response`, `item` + `output_index`, `part` + `content_index`,
    `delta`, `text`, `annotation` + `annotation_index`, `arguments`."""

    type: str
    sequence_number: int


RESPONSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ResponseObject,
          "description": "A response; with `stream: true`, `text/event-stream` of typed events (ResponseStreamEvent): "
                         "response.created, response.in_progress, response.output_item.added, "
                         "response.content_part.added, response.output_text.delta..., "
                         "response.output_text.annotation.added..., response.output_text.done, "
                         "response.content_part.done, response.output_item.done, response.completed (or "
                         "response.failed)",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
}
