"""OpenAI's Responses API and Cloudglue's, one request shape."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from api.protocol.chat import LOGPROBS_DOC
from api.protocol.common import LenientModel, require_source


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
        require_source(self.source, self.collections, self.files)
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
