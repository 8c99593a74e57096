"""Grounded chat: retrieve segments for the conversation's question, prompt the model with them,
and map its answer to citations. The engine sees dataclasses only; `api/` converts the wire request."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from clipcite.domain import ScoredSegment, SpeechPart
from clipcite.errors import ContextLengthExceeded, InvalidRequest
from engine import languages
from engine.answer_types import answers_kind, asks_moment, name_beside_role, names_screen_text
from engine.catalog import Catalog, IndexStatus
from engine.citations import Citation, adds_nothing, cite, is_grounded, is_refusal
from engine.conversation import Turn, last_user_message, prompt_question, search_query, user_turns
from engine.crosslingual import CrossLingualCheck
from engine.extraction import extract, find_moment, subject_named
from engine.filters import Group
from engine.fitting import fit_prompt
from engine.generation import GenerationParams, TextGenerator
from engine.prompting import SYSTEM_PROMPT, TOOLS_SYSTEM_PROMPT, build_user_message, continue_sentences, pick_parts
from engine.retrieval import RetrievalOptions, Retriever
from engine.scopes import search_scope
from engine.summary import summarize, wants_summary
from engine.tools import ToolCall, ToolUse, forced_schema, parse_tool_calls, plausible, render_turn, tool_prompt

log = logging.getLogger(__name__)

FORCED_CALL_TOKENS = 200  # a forced tool call's arguments (strings bounded to 120 characters) fit in this
# No token of the chat models' vocabularies is longer than this many characters, so a conversation with more
# than n_ctx * this many characters cannot fit whatever it says: refused before any tokenizing or embedding.
MAX_CHARS_PER_TOKEN = 16


def sized(turns: list[Turn], n_ctx: int) -> list[Turn]:
    """The cheap bound, in characters, before any tokenizing or embedding: a 200k-character question was
    tokenized, embedded and searched (115 s of server work, other users' requests waiting) before the
    context check refused it. What must fit (system text, the latest user turn and any tool turns after it)
    is refused at once when no n_ctx tokens can spell it; earlier turns past that many characters are
    dropped here (the prompt fitting would drop them anyway, after tokenizing each)."""
    limit = n_ctx * MAX_CHARS_PER_TOKEN
    last = max((i for i, t in enumerate(turns) if t.role == "user"), default=len(turns))
    needed = sum(len(t.content) for i, t in enumerate(turns) if i >= last or t.role == "system")
    if needed > limit:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {n_ctx} tokens; the latest message holds {needed} "
            f"characters, more than {n_ctx} tokens can spell. Shorten it.")
    keep, room = set(range(last, len(turns))), limit - needed
    for i in range(last - 1, -1, -1):
        if turns[i].role == "system":
            keep.add(i)
        elif len(turns[i].content) <= room:
            keep.add(i)
            room -= len(turns[i].content)
        else:
            room = -1  # an older turn never comes back once a newer one was dropped
    return [t for i, t in enumerate(turns) if i in keep]


@dataclass(frozen=True)
class LinkedVideo:
    """A video the user linked in the conversation (already indexed): it becomes the scope."""

    collection_id: str
    file_id: str
    instruction: str = ""  # the text that came with the link ("" when the message was only the link)


@dataclass
class ChatRequest:
    """What the caller asked, converted from the wire and nothing more; the engine decides the rest."""

    turns: list[Turn]
    collections: list[str] = field(default_factory=list)  # as asked; none: the whole library
    filter: Group | None = None
    video_id: str | None = None  # one file of the scope (VideoDB's `video_id`)
    linked: LinkedVideo | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    retrieval: RetrievalOptions = field(default_factory=RetrievalOptions)
    strict_grounding: bool | None = None  # None: the service's default
    tools: ToolUse | None = None  # function calling (tool_choice "none" leaves this None)


@dataclass(frozen=True)
class Plan:
    """What the engine decided about a request, once: the conversation as answered (a linked video's turn
    rewritten), where to look, and whether this is a summary."""

    turns: list[Turn]
    collections: list[str] | None  # None: every collection
    file_ids: list[str] | None
    summary: bool  # map-reduce over every segment of the one file in scope, not top-k retrieval
    strict_grounding: bool  # replace an answer the segments do not support with the refusal
    language: str = "en"  # the language to answer (and refuse) in: the question's


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


def _model_message(turn: Turn) -> dict[str, str]:
    """A conversation turn as the model reads it (tool calls and results in the tool-prompt format)."""
    if turn.role == "tool" or turn.tool_calls:
        return render_turn(turn.role, turn.content, turn.tool_calls)
    return {"role": turn.role, "content": turn.content}


@dataclass
class Prepared:
    """A request's fitted prompt and the segments it shows (citation numbers index `segments`)."""

    request: ChatRequest
    plan: Plan
    messages: list[dict[str, Any]]
    segments: list[ScoredSegment]
    timings: dict[str, float]
    speech: dict[int, list[SpeechPart]] = field(default_factory=dict)  # utterances picked per segment


def relevant(segments: list[ScoredSegment], relative_floor: float) -> list[ScoredSegment]:
    """The segments worth showing the model: those scoring at least `relative_floor` of the best one.
    A clear best match among five weak ones was refused by the 1.5B model, which the weak ones distracted
    (on-screen "Lost property: desk C" answered alone, refused among five others); fused scores are on
    one scale per query, so the ratio is meaningful whatever the corpus."""
    if not segments or relative_floor <= 0:
        return segments
    top = max(s.score for s in segments)
    return [s for s in segments if s.score >= relative_floor * top] if top > 0 else segments


class ChatService:
    def __init__(self, retriever: Retriever, generator: TextGenerator, catalog: Catalog, char_budget: int = 600,
                 strict_grounding: bool = True, relative_floor: float = 0.4, retry_refusals: bool = True) -> None:
        self.retriever = retriever
        self.generator = generator
        self.catalog = catalog
        self.char_budget = char_budget
        self.strict_grounding = strict_grounding
        self.relative_floor = relative_floor
        self.retry_refusals = retry_refusals
        self.crosslingual = CrossLingualCheck(retriever.embedder)

    def plan(self, req: ChatRequest) -> Plan:
        """Scope, summary mode and the conversation as answered: decided here and nowhere else."""
        library = self.catalog.library
        for cid in req.collections:
            library.get_collection(cid)  # 404 for an unknown collection
        collections: list[str] | None = list(req.collections) or None
        file_ids = None
        if req.video_id:
            library.get_file(req.video_id)
            file_ids = [req.video_id]
        turns = sized(req.turns, self.generator.n_ctx)
        if req.linked is not None:  # the link becomes the scope; its text (or "summarise") the question
            collections, file_ids = [req.linked.collection_id], [req.linked.file_id]
            last = max(i for i, t in enumerate(turns) if t.role == "user")
            turns[last] = replace(turns[last], content=req.linked.instruction or "Summarize the video.")
        question = last_user_message(turns)
        if not question:
            raise InvalidRequest("messages must contain a user message with text", param="messages")
        structured = req.params.response_format is not None
        summary = False
        if wants_summary(question) and req.tools is None and not structured:
            if file_ids is None:
                only = self._single_file(collections)
                file_ids = [only] if only else None
            summary = file_ids is not None
        strict = self.strict_grounding if req.strict_grounding is None else req.strict_grounding
        # Structured output must stay parseable: never swap it for the refusal sentence.
        return Plan(turns=turns, collections=collections, file_ids=file_ids, summary=summary,
                    strict_grounding=False if structured else strict, language=languages.answer_language(question))

    def _single_file(self, collections: list[str] | None) -> str | None:
        """A summary needs one video: a scope of one collection holding exactly one indexed file."""
        library = self.catalog.library
        ids = collections if collections is not None else [c.id for c in library.list_collections(limit=2)[0]]
        if len(ids) != 1:
            return None
        rows, total = library.list_collection_files(ids[0], 1, 0, IndexStatus.COMPLETED)
        return rows[0].file_id if total == 1 else None

    def prepare(self, req: ChatRequest) -> Prepared:
        """The model's messages: system prompt (+ the client's system text, + tools), the conversation
        before the latest user turn, that turn with the retrieved segments, then any tool calls and tool
        results that followed it (a tool round trip continues from there), fitted to the context window.
        Needs no model slot (retrieval and tokenizing only), so it runs before one is taken."""
        plan = self.plan(req)
        if plan.summary:
            return Prepared(req, plan, [], [], {})
        t0 = time.perf_counter()
        query = search_query(plan.turns)
        segments = relevant(self.retriever.retrieve(query, plan.collections, req.filter, req.retrieval,
                                                    plan.file_ids), self.relative_floor)
        t1 = time.perf_counter()
        client_system = "\n".join(t.content for t in plan.turns if t.role == "system" and t.content)
        system = (TOOLS_SYSTEM_PROMPT if req.tools is not None else SYSTEM_PROMPT) \
            + ("\n" + client_system if client_system else "")
        if req.tools is not None:
            system += tool_prompt(req.tools.tools)
        turns = [t for t in plan.turns if t.role in ("user", "assistant", "tool")]
        last = (user_turns(turns) or [len(turns)])[-1]
        before = [p for p in (_model_message(t) for t in turns[:last]) if p["content"]]
        after = [p for p in (_model_message(t) for t in turns[last + 1:]) if p["content"]]
        question = prompt_question(plan.turns)
        if in_language := languages.instruction(plan.language):
            question += "\n" + in_language
        speech = self._focused_speech(query, segments)
        fitted = fit_prompt(system, before,
                            lambda k: build_user_message(question, segments[:k], self.char_budget, speech),
                            len(segments), after, self.generator.count_tokens, self.generator.n_ctx,
                            self._answer_tokens(req))
        return Prepared(req, plan, fitted.messages, segments[:fitted.kept_segments],
                        {"retrieve": t1 - t0, "prompt": time.perf_counter() - t1}, speech)

    @staticmethod
    def _answer_tokens(req: ChatRequest) -> int:
        """Tokens the prompt must leave for the reply (a forced call gets its minimum, see `answer`)."""
        forced = req.tools is not None and req.tools.forced
        return max(req.params.max_tokens, FORCED_CALL_TOKENS) if forced else req.params.max_tokens

    def _focused_speech(self, query: str, segments: list[ScoredSegment]) -> dict[int, list[SpeechPart]]:
        """Per segment after the first, the utterances closest to the question (one embedding call for all of
        them). The best match is shown whole: a question's words may meet only its framing sentence ("This
        video explains the basic rules.") while the sentence that answers shares none of them ("Laser goggles
        are required ..."), and focusing kept the frame and dropped the answer."""
        parts = [(i, p) for i, s in enumerate(segments) if i > 0 for p in s.segment.speech if p.text]
        if not parts or not query:
            return continue_sentences(segments, {})
        embedder = self.retriever.embedder
        vecs = np.concatenate([embedder.embed_cached([query], persist=False, query=True),  # retrieval embedded it
                               embedder.embed_cached([p.text for _, p in parts])])
        sims = (vecs[1:] @ vecs[0]).tolist()
        out: dict[int, list[SpeechPart]] = {}
        for i in {i for i, _ in parts}:
            idx = [k for k, (j, _) in enumerate(parts) if j == i]
            out[i] = [parts[idx[c]][1] for c in pick_parts([sims[k] for k in idx], floor=embedder.related_floor,
                                                            texts=[parts[k][1].text for k in idx])]
        return continue_sentences(segments, out)

    def summarize(self, req: ChatRequest, plan: Plan) -> ChatAnswer:
        """Chapters with time ranges and an overview, from all segments of the file in scope."""
        t0 = time.perf_counter()
        segments = self.retriever.store.segments(search_scope(plan.collections, req.filter, plan.file_ids))
        instruction = last_user_message(plan.turns)
        result = summarize(segments, self.generator, instruction, check=self._summary_line_supported)
        return ChatAnswer(text=result.markdown(), citations=result.citations(), segments=[],
                          prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                          finish_reason="stop", timings={"summary": time.perf_counter() - t0})

    def _prepared(self, req: ChatRequest, prepared: Prepared | None) -> Prepared:
        return prepared if prepared is not None and prepared.request is req else self.prepare(req)

    def answer(self, req: ChatRequest, prepared: Prepared | None = None) -> ChatAnswer:
        prepared = self._prepared(req, prepared)
        plan = prepared.plan
        if plan.summary:
            return self.summarize(req, plan)
        messages, segments, timings = prepared.messages, prepared.segments, dict(prepared.timings)
        params = req.params
        if req.tools is not None and req.tools.forced:
            # A forced call cut at max_tokens is no call at all: it gets room for its (bounded) arguments.
            params = replace(params, response_format={"type": "json_object", "schema": forced_schema(req.tools)},
                             max_tokens=self._answer_tokens(req))
        if (direct := self._moment(req, plan, segments, timings)) is not None:
            return direct
        gen = self.generator.chat(messages, params)
        timings.update(gen.timings)
        if req.tools is not None:
            calls, rest = parse_tool_calls(gen.text, req.tools)
            if calls and not req.tools.forced and not all(plausible(c, last_user_message(plan.turns), req.tools)
                                                          for c in calls):
                log.info("dropping tool calls the request does not ask for: %s", [c.name for c in calls])
                return self.answer(replace(req, tools=None))
            if calls:
                return ChatAnswer(text=rest, citations=[], segments=segments, prompt_tokens=gen.prompt_tokens,
                                  completion_tokens=gen.completion_tokens, finish_reason="tool_calls",
                                  timings=timings, tool_calls=calls)
        text, prompt_tokens, completion_tokens = gen.text, gen.prompt_tokens, gen.completion_tokens
        # A refusal, or an answer the checks would replace with one, gets one extractive second look
        # (never for structured output, which must stay the schema's JSON).
        supported = None if is_refusal(text) else self._supported(plan, text.strip(), segments)
        if self.retry_refusals and segments and req.params.response_format is None and (
                supported is None or (plan.strict_grounding and not supported)):
            t = time.perf_counter()
            found = extract(self.generator, prompt_question(plan.turns), segments, self.char_budget,
                            prepared.speech)
            timings["extract"] = time.perf_counter() - t
            if found is not None:
                text, supported = found.answer(), None
        return self._finish(plan, text, segments, prompt_tokens, completion_tokens, gen.finish_reason,
                            timings, replace=True, supported=supported)

    def _moment(self, req: ChatRequest, plan: Plan, segments: list[ScoredSegment], timings: dict[str, float]
                ) -> ChatAnswer | None:
        """"When is a horse shown?" answered from the keyframe sentence or sound label that names it, with its
        time, without the model: asked, it gave another segment's words ("a horse is shown in the loading
        bay") or another picture's time. None when nothing names it (the model may still find it said)."""
        question = prompt_question(plan.turns)
        if req.tools is not None or req.params.response_format is not None or not asks_moment(question):
            return None
        found = find_moment(question, segments)
        if found is None:
            return None
        return self._finish(plan, found.answer(), segments, 0, 0, "stop", timings, replace=True)

    def _finish(self, plan: Plan, text: str, segments: list[ScoredSegment], prompt_tokens: int,
                completion_tokens: int, finish_reason: str, timings: dict[str, float], replace: bool,
                supported: bool | None = None) -> ChatAnswer:
        """Citations for the answer; an answer the segments do not support cites nothing and, when not
        already streamed to the client (`replace`), becomes the refusal. `supported`: the checks' verdict
        on this very text when the caller has it already."""
        text = text.strip()
        grounded = self._supported(plan, text, segments) if supported is None else supported
        if not grounded:
            log.info("answer not supported by the retrieved segments: %r", text[:200])
        if not grounded and plan.strict_grounding and replace:
            text = languages.refusal(plan.language)
        citations: list[Citation] = []
        if (grounded or not plan.strict_grounding) and segments and not is_refusal(text):
            translated = self.crosslingual.translated(text, segments, plan.language)
            closest = self.crosslingual.closest(text, segments) if translated else None
            citations = cite(text, segments, search_query(plan.turns), closest)
        return ChatAnswer(text=text, citations=citations, segments=segments, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=finish_reason, timings=timings,
                          grounded=grounded)

    def _supported(self, plan: Plan, text: str, segments: list[ScoredSegment]) -> bool:
        """The answer checks: its words come from the segments (or tool results), it is of the kind the
        question asks for, and a question about the screen is answered with on-screen text. An answer in
        another language than its segments cannot share their words: it is checked by meaning instead."""
        if is_refusal(text):
            return True
        if segments and self.crosslingual.translated(text, segments, plan.language):
            question = last_user_message(plan.turns)
            return self.crosslingual.supported(text, question, segments) and answers_kind(question, text)
        # Tool results are sources too: words the answer takes from them count as supported.
        tool_results = " ".join(t.content for t in plan.turns if t.role == "tool")
        question = last_user_message(plan.turns)
        if not tool_results and (adds_nothing(text, question)
                                 or (asks_moment(question) and not subject_named(question, segments))):
            return False
        lines = [(s.segment.file_id, p.text, p.start_time, p.end_time) for s in segments for p in s.segment.speech]
        lines += [(s.segment.file_id, ln.text, ln.start_time, ln.end_time)
                  for s in segments for ln in s.segment.screen_lines()]
        return is_grounded(text, f"{question} {tool_results}", segments) and answers_kind(question, text) \
            and names_screen_text(question, text, [line for s in segments for line in s.segment.scene_text]) \
            and name_beside_role(question, text, lines)

    def _summary_line_supported(self, text: str, question: str, segments: list[ScoredSegment]) -> bool:
        """A chapter line or overview in the video's language shares its words; one in the instruction's
        other language is checked like a translated answer."""
        if segments and self.crosslingual.translated(text, segments, "en"):
            return self.crosslingual.supported(text, question, segments)
        return is_grounded(text, question, segments)

    def stream(self, req: ChatRequest, prepared: Prepared | None = None) -> Iterator[str | ChatAnswer]:
        """Yields text deltas, then one final ChatAnswer (with citations for the whole text). With tools the
        reply is generated whole first: until it ends it is unknown whether it is a call or an answer."""
        prepared = self._prepared(req, prepared)
        if req.tools is not None or prepared.plan.summary:
            ans = self.answer(req, prepared)
            if ans.text:
                yield ans.text
            yield ans
            return
        messages, segments, timings = prepared.messages, prepared.segments, dict(prepared.timings)
        if (direct := self._moment(req, prepared.plan, segments, timings)) is not None:
            yield direct.text
            yield direct
            return
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
        yield self._finish(prepared.plan, text, segments, prompt_tokens, completion_tokens, finish, timings,
                           replace=False)
