"""Grounded chat: retrieve segments for the conversation's question, prompt the model with them,
and map its answer to citations. The engine sees dataclasses only; `api/` converts the wire request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from clipcite.domain import ScoredSegment, Segment
from engine import lexical
from engine.citations import Citation, cite, is_grounded, is_refusal, strip_markers
from engine.filters import Group
from engine.fitting import fit_prompt
from engine.generation import GenerationParams, LlamaGenerator
from engine.prompting import REFUSAL, SYSTEM_PROMPT, TOOLS_SYSTEM_PROMPT, build_user_message, pick_sentences
from engine.retrieval import RetrievalOptions, Retriever, scope_filter
from engine.summary import summarize, wants_summary
from engine.tools import ToolCall, ToolUse, forced_schema, parse_tool_calls, plausible, render_turn, tool_prompt

log = logging.getLogger(__name__)


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    collections: list[str]
    filter: Group | None = None
    file_ids: list[str] | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    retrieval: RetrievalOptions = field(default_factory=RetrievalOptions)
    strict_grounding: bool = True  # replace an answer the segments do not support with the refusal
    tools: ToolUse | None = None  # function calling (tool_choice "none" leaves this None)
    summary: bool = False  # map-reduce over every segment of the one file in scope, not top-k retrieval


@dataclass
class ChatAnswer:
    text: str
    citations: list[Citation]
    segments: list[ScoredSegment]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    timings: dict[str, float] = field(default_factory=dict)
    grounded: bool = True
    tool_calls: list[ToolCall] = field(default_factory=list)


def _plain(message: dict[str, Any]) -> dict[str, str]:
    """A conversation turn as the model reads it (tool calls and results in the tool-prompt format)."""
    if message.get("role") == "tool" or message.get("tool_calls"):
        return render_turn(message)
    return {"role": message["role"], "content": message.get("content") or ""}


def last_user_message(messages: list[dict[str, str]]) -> str:
    users = _user_turns(messages)
    return messages[users[-1]]["content"].strip() if users else ""


def _user_turns(messages: list[dict[str, str]]) -> list[int]:
    """Indices of the user turns that carry text."""
    return [i for i, m in enumerate(messages) if m.get("role") == "user" and (m.get("content") or "").strip()]


def search_query(messages: list[dict[str, str]]) -> str:
    """The latest question as a standalone search query. A short follow-up ("and when does it start?")
    names nothing by itself, so the previous question and the answer it got are added: the answer holds
    the words of the segment it came from, which steers retrieval back to the moment being discussed."""
    users = _user_turns(messages)
    if not users:
        return ""
    latest = messages[users[-1]]["content"].strip()
    if len(users) > 1 and is_follow_up(latest):
        prev = users[-2]
        answer = next((m.get("content") or "" for m in messages[prev + 1:users[-1]] if m.get("role") == "assistant"),
                      "")
        answer = "" if is_refusal(answer) else strip_markers(answer)
        return " ".join(x for x in (messages[prev]["content"].strip(), answer, latest) if x)
    return latest


def prompt_question(messages: list[dict[str, str]]) -> str:
    """The latest question as the prompt states it: a follow-up says what it follows up on, since a small
    model reading "when is that mentioned?" next to four segments does not resolve "that" reliably."""
    users = [messages[i]["content"].strip() for i in _user_turns(messages)]
    if not users:
        return ""
    if len(users) > 1 and is_follow_up(users[-1]):
        return f"{users[-1]} (follow-up to: {users[-2]})"
    return users[-1]


_OPENERS = ("and ", "but ", "also ", "so ", "then ", "what about ", "how about ")
_REFERRING = {"it", "its", "that", "those", "they", "them", "he", "she", "his", "her", "there", "one"}


def is_follow_up(question: str) -> bool:
    """Leans on the conversation: opens with a conjunction, or names almost nothing but a pronoun."""
    low = question.strip().lower()
    words = set(re.findall(r"[a-z']+", low))
    content = lexical.tokens(low)
    return low.startswith(_OPENERS) or len(content) <= 1 or (len(content) <= 3 and bool(words & _REFERRING))


@dataclass
class Prepared:
    """A request's fitted prompt and the segments it shows (citation numbers index `segments`)."""

    request: ChatRequest
    messages: list[dict[str, Any]]
    segments: list[ScoredSegment]
    timings: dict[str, float]


class ChatService:
    def __init__(self, retriever: Retriever, generator: LlamaGenerator, char_budget: int = 600) -> None:
        self.retriever = retriever
        self.generator = generator
        self.char_budget = char_budget

    def prepare(self, req: ChatRequest) -> Prepared:
        """The model's messages: system prompt (+ the client's system text, + tools), the conversation
        before the latest user turn, that turn with the retrieved segments, then any tool calls and tool
        results that followed it (a tool round trip continues from there), fitted to the context window.
        Needs no model slot (retrieval and tokenizing only), so it runs before one is taken."""
        if req.summary:
            return Prepared(req, [], [], {})
        t0 = time.perf_counter()
        query = search_query(req.messages)
        segments = self.retriever.retrieve(query, req.collections, req.filter, req.retrieval, req.file_ids)
        t1 = time.perf_counter()
        client_system = "\n".join(m["content"] for m in req.messages if m.get("role") == "system" and m.get("content"))
        system = (TOOLS_SYSTEM_PROMPT if req.tools is not None else SYSTEM_PROMPT) \
            + ("\n" + client_system if client_system else "")
        if req.tools is not None:
            system += tool_prompt(req.tools.tools)
        turns = [m for m in req.messages if m.get("role") in ("user", "assistant", "tool")]
        last = (_user_turns(turns) or [len(turns)])[-1]
        before = [p for p in (_plain(m) for m in turns[:last]) if p["content"]]
        after = [p for p in (_plain(m) for m in turns[last + 1:]) if p["content"]]
        question = prompt_question(req.messages)
        speech = self._focused_speech(query, segments)
        fitted = fit_prompt(system, before,
                            lambda k: build_user_message(question, segments[:k], self.char_budget, speech),
                            len(segments), after, self.generator.count_tokens, self.generator.n_ctx,
                            req.params.max_tokens)
        return Prepared(req, fitted.messages, segments[:fitted.kept_segments],
                        {"retrieve": t1 - t0, "prompt": time.perf_counter() - t1})

    def _focused_speech(self, query: str, segments: list[ScoredSegment]) -> dict[int, str]:
        """Per segment, the utterances closest to the question (one embedding call for all of them)."""
        parts = [(i, p) for i, s in enumerate(segments) for p in s.segment.speech if p.text]
        if not parts or not query:
            return {}
        embedder = self.retriever.embedder
        vecs = np.concatenate([embedder.embed_cached([query], persist=False),  # retrieval embedded it already
                               embedder.embed_cached([p.text for _, p in parts])])
        sims = (vecs[1:] @ vecs[0]).tolist()
        out: dict[int, str] = {}
        for i in {i for i, _ in parts}:
            idx = [k for k, (j, _) in enumerate(parts) if j == i]
            seg = segments[i].segment
            # Speaker names go with each utterance so "what did Dana say" can be answered.
            texts = [seg.labelled_speech([parts[k][1]]) for k in idx]
            out[i] = pick_sentences(texts, [sims[k] for k in idx])
        return out

    def summarize(self, req: ChatRequest) -> ChatAnswer:
        """Chapters with time ranges and an overview, from all segments of the file in scope."""
        t0 = time.perf_counter()
        scope = scope_filter(req.collections, req.filter, req.file_ids)
        segments = [Segment.from_payload(h.payload) for h in self.retriever.store.scroll(scope)]
        instruction = last_user_message(req.messages)
        result = summarize(segments, self.generator, None if wants_summary(instruction) and len(instruction) < 60
                           else instruction)
        return ChatAnswer(text=result.markdown(), citations=result.citations(), segments=[],
                          prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                          finish_reason="stop", timings={"summary": time.perf_counter() - t0})

    def answer(self, req: ChatRequest, prepared: Prepared | None = None) -> ChatAnswer:
        if req.summary:
            return self.summarize(req)
        prepared = prepared if prepared is not None and prepared.request is req else self.prepare(req)
        messages, segments, timings = prepared.messages, prepared.segments, dict(prepared.timings)
        params = req.params
        if req.tools is not None and req.tools.forced:
            params = replace(params, response_format={"type": "json_object", "schema": forced_schema(req.tools)})
        gen = self.generator.chat(messages, params)
        timings.update(gen.timings)
        if req.tools is not None:
            calls, rest = parse_tool_calls(gen.text, req.tools)
            if calls and not req.tools.forced and not all(plausible(c, last_user_message(req.messages), req.tools)
                                                          for c in calls):
                log.info("dropping tool calls the request does not ask for: %s", [c.name for c in calls])
                return self.answer(replace(req, tools=None))
            if calls:
                return ChatAnswer(text=rest, citations=[], segments=segments, prompt_tokens=gen.prompt_tokens,
                                  completion_tokens=gen.completion_tokens, finish_reason="tool_calls",
                                  timings=timings, tool_calls=calls)
        return self._finish(req, gen.text, segments, gen.prompt_tokens, gen.completion_tokens, gen.finish_reason,
                            timings, replace=True)

    def _finish(self, req: ChatRequest, text: str, segments: list[ScoredSegment], prompt_tokens: int,
                completion_tokens: int, finish_reason: str, timings: dict[str, float], replace: bool) -> ChatAnswer:
        """Citations for the answer; an answer the segments do not support cites nothing and, when not
        already streamed to the client (`replace`), becomes the refusal."""
        text = text.strip()
        # Tool results are sources too: words the answer takes from them count as supported.
        tool_results = " ".join(m.get("content") or "" for m in req.messages if m.get("role") == "tool")
        grounded = is_grounded(text, f"{last_user_message(req.messages)} {tool_results}", segments)
        if not grounded:
            log.info("answer not supported by the retrieved segments: %r", text[:200])
        if not grounded and req.strict_grounding and replace:
            text = REFUSAL
        citations = cite(text, segments) if grounded or not req.strict_grounding else []
        return ChatAnswer(text=text, citations=citations, segments=segments, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=finish_reason, timings=timings,
                          grounded=grounded)

    def stream(self, req: ChatRequest, prepared: Prepared | None = None) -> Iterator[str | ChatAnswer]:
        """Yields text deltas, then one final ChatAnswer (with citations for the whole text). With tools the
        reply is generated whole first: until it ends it is unknown whether it is a call or an answer."""
        if req.tools is not None or req.summary:
            ans = self.answer(req, prepared)
            if ans.text:
                yield ans.text
            yield ans
            return
        prepared = prepared if prepared is not None and prepared.request is req else self.prepare(req)
        messages, segments, timings = prepared.messages, prepared.segments, dict(prepared.timings)
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
        completion_tokens = self.generator.count_tokens(text) if text else 0
        yield self._finish(req, text, segments, prompt_tokens, completion_tokens, finish, timings, replace=False)
