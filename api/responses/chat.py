"""Chat completions (OpenAI's shapes, Cloudglue's citations) and their stream chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.responses.common import Page, TimedText, Wire


class RelevantSource(Wire):
    text: str = Field(description="speech, scene_text, visual_scene_description or audio_description")


class Citation(Wire):
    collection_id: str
    file_id: str
    segment_id: str
    start_time: float = Field(description="where the cited moment starts: the utterances and on-screen text inside "
                                          "the segment that support the answer (the segment's start if none does)")
    end_time: float = Field(description="where the cited moment ends, inside the segment")
    segment_start_time: float = Field(description="the whole segment's start")
    segment_end_time: float = Field(description="the whole segment's end")
    filename: str | None = None
    number: int | None = Field(None, description="the [n] marker in the answer")
    text: str
    context: str | None = Field(None, description="the sentence of the answer that cites the segment")
    relevant_sources: list[RelevantSource] | None = None
    speech: list[TimedText]
    scene_text: list[TimedText]
    visual_scene_description: list[TimedText]
    audio_description: list[TimedText] = Field(default_factory=list, description="non-speech sounds heard in the "
                                               "segment (music, alarm, applause), each with its time")


class ToolCallFunction(Wire):
    name: str
    arguments: str = Field(description="JSON text")


class ToolCall(Wire):
    id: str
    type: Literal["function"]
    function: ToolCallFunction
    index: int | None = Field(None, description="in stream chunks")


class AssistantMessage(Wire):
    role: Literal["assistant"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ToolCitationOut(Wire):
    tool_call_id: str
    text: str = Field(description="the start of the tool result the answer cites")


class Grounding(Wire):
    """How the answer was checked: the numbered evidence lines it cites and, when a check failed, which."""

    lines: list[int] = Field(default_factory=list, description="the evidence lines the model named")
    supported: bool
    failed: str | None = Field(None, description="the check that failed (a figure, code or name in no cited "
                                                 "line; meaning far from the cited lines; no line cited)")
    dropped_sentences: int | None = Field(None, description="sentences cut because they failed the checks")


class ChatChoice(Wire):
    index: int
    message: AssistantMessage
    finish_reason: str | None = None
    logprobs: Any = None
    grounded: bool | None = Field(None, description="False when the answer is not supported by the lines it cites")
    citations: list[Citation] = Field(default_factory=list)
    tool_citations: list[ToolCitationOut] | None = Field(None, description="tool results the answer rests on")
    grounding: Grounding | None = None


class Usage(Wire):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(Wire):
    id: str
    object: Literal["chat.completion"]
    created: int = Field(description="seconds (OpenAI)")
    created_at: int | None = Field(None, description="milliseconds (Cloudglue)")
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None
    payload: dict[str, Any] | None = Field(None, description="echo of the request (Cloudglue)")


class ChatCompletionList(Page[ChatCompletion]):
    pass


class Delta(Wire):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChunkChoice(Wire):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: Any = None
    citations: list[Citation] | None = Field(None, description="on the final content chunk")
    grounded: bool | None = Field(None, description="on the final content chunk")
    tool_citations: list[ToolCitationOut] | None = Field(None, description="on the final content chunk")
    grounding: Grounding | None = Field(None, description="on the final content chunk")


class ChatCompletionChunk(Wire):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = Field(None, description="the usage chunk (`choices: []`) with include_usage")


CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ChatCompletion,
          "description": "A chat completion; with `stream: true`, `text/event-stream` of `chat.completion.chunk` "
                         "objects (ChatCompletionChunk) ending in `data: [DONE]` (citations on the final content "
                         "chunk)",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
}
