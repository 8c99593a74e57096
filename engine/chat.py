"""Grounded chat: retrieve segments for the conversation's question, prompt the model with them,
and map its answer to citations. The engine sees dataclasses only; `api/` converts the wire request."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from clipcite.domain import ScoredSegment
from engine import lexical
from engine.citations import Citation, cite
from engine.filters import Group
from engine.generation import GenerationParams, LlamaGenerator
from engine.prompting import SYSTEM_PROMPT, build_user_message
from engine.retrieval import RetrievalOptions, Retriever

log = logging.getLogger(__name__)


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    collections: list[str]
    filter: Group | None = None
    file_ids: list[str] | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    retrieval: RetrievalOptions = field(default_factory=RetrievalOptions)


@dataclass
class ChatAnswer:
    text: str
    citations: list[Citation]
    segments: list[ScoredSegment]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    timings: dict[str, float] = field(default_factory=dict)


def last_user_message(messages: list[dict[str, str]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user" and (m.get("content") or "").strip():
            return m["content"].strip()
    return ""


def search_query(messages: list[dict[str, str]]) -> str:
    """The latest question, with the previous user turn added when it is a short follow-up
    ("and when does it start?") that names nothing by itself."""
    users = [m["content"].strip() for m in messages if m.get("role") == "user" and (m.get("content") or "").strip()]
    if not users:
        return ""
    latest = users[-1]
    if len(users) > 1 and len(lexical.tokens(latest)) < 4:
        return f"{users[-2]} {latest}"
    return latest


class ChatService:
    def __init__(self, retriever: Retriever, generator: LlamaGenerator, char_budget: int = 600) -> None:
        self.retriever = retriever
        self.generator = generator
        self.char_budget = char_budget

    def prepare(self, req: ChatRequest) -> tuple[list[dict[str, Any]], list[ScoredSegment], dict[str, float]]:
        t0 = time.perf_counter()
        query = search_query(req.messages)
        segments = self.retriever.retrieve(query, req.collections, req.filter, req.retrieval, req.file_ids)
        t1 = time.perf_counter()
        client_system = "\n".join(m["content"] for m in req.messages if m.get("role") == "system" and m.get("content"))
        system = SYSTEM_PROMPT + ("\n" + client_system if client_system else "")
        history = [{"role": m["role"], "content": m["content"]} for m in req.messages[:-1]
                   if m.get("role") in ("user", "assistant") and m.get("content")]
        final = build_user_message(last_user_message(req.messages), segments, self.char_budget)
        messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": final}]
        return messages, segments, {"retrieve": t1 - t0, "prompt": time.perf_counter() - t1}

    def answer(self, req: ChatRequest) -> ChatAnswer:
        messages, segments, timings = self.prepare(req)
        gen = self.generator.chat(messages, req.params)
        timings.update(gen.timings)
        return ChatAnswer(text=gen.text.strip(), citations=cite(gen.text, segments), segments=segments,
                          prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                          finish_reason=gen.finish_reason, timings=timings)

    def stream(self, req: ChatRequest) -> Iterator[str | ChatAnswer]:
        """Yields text deltas, then one final ChatAnswer (with citations for the whole text)."""
        messages, segments, timings = self.prepare(req)
        parts: list[str] = []
        finish = "stop"
        gen = self.generator.stream(messages, req.params)
        try:
            for delta, reason in gen:
                if delta:
                    parts.append(delta)
                    yield delta
                if reason:
                    finish = reason
        finally:
            gen.close()
        text = "".join(parts)
        prompt_tokens = self.generator.count_tokens("".join(m["content"] for m in messages))
        yield ChatAnswer(text=text.strip(), citations=cite(text, segments), segments=segments,
                         prompt_tokens=prompt_tokens, completion_tokens=self.generator.count_tokens(text) if text else 0,
                         finish_reason=finish, timings=timings)
