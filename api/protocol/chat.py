"""OpenAI's chat completions request, with Cloudglue's and VideoDB's extensions in one marked block."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from api.protocol.common import LenientModel
from clipcite.errors import InvalidRequest
from clipcite.media import looks_like_video_ref


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
