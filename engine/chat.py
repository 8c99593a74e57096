"""Grounded chat: retrieve segments for the conversation's question, prompt the model with them,
and map its answer to citations. The engine sees dataclasses only; `api/` converts the wire request."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from clipcite.domain import ScoredSegment
from clipcite.errors import ContextLengthExceeded, InvalidRequest
from engine import languages
from engine.answering import SYSTEM_PROMPT, Answerer, Outcome, example_terms, user_message
from engine.catalog import Catalog, IndexStatus
from engine.citations import Citation, ToolCitation, from_lines, strip_markers
from engine.conversation import Turn, last_user_message, prompt_question, search_query, user_turns
from engine.crosslingual import CrossLingualCheck
from engine.evidence import Budget, Evidence, gather
from engine.filters import Group
from engine.fitting import fit_prompt
from engine.generation import GenerationParams, TextGenerator
from engine.grounding import Grounding, lexically_grounded, used_lines
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
    tool_citations: list[ToolCitation] = field(default_factory=list)
    grounding: dict[str, Any] = field(default_factory=dict)  # the checks' verdict: lines cited, what failed



# With tools on offer the model decides first whether the request is a call; an answer is then evidence-first.
TOOLS_SYSTEM_PROMPT = (
    "You are a helpful assistant. Call a function only when the user asks for exactly what it does; "
    "otherwise answer from the numbered video lines.")


@dataclass
class Prepared:
    """A request's fitted prompt and the evidence it shows (line n of the prompt is `evidence.lines[n-1]`)."""

    request: ChatRequest
    plan: Plan
    messages: list[dict[str, Any]]
    evidence: Evidence
    timings: dict[str, float]
    cost: int = 0  # the prompt tokens the model would read (its saved states discounted; the fitting's estimate
    # where the chat template is unknown; 0: no model call): orders the wait for the model slot

    @property
    def segments(self) -> list[ScoredSegment]:
        return self.evidence.segments


def relevant(segments: list[ScoredSegment], relative_floor: float) -> list[ScoredSegment]:
    """The segments worth reading: those scoring at least `relative_floor` of the best one. A clear best
    match among five weak ones was refused by the 1.5B model, which the weak ones distracted; fused scores
    are on one scale per query, so the ratio is meaningful whatever the corpus."""
    if not segments or relative_floor <= 0:
        return segments
    top = max(s.score for s in segments)
    return [s for s in segments if s.score >= relative_floor * top] if top > 0 else segments


def _history_message(turn: Turn) -> dict[str, str]:
    """An earlier turn as the model reads it (answers without markers; tool turns in the tool format)."""
    if turn.role == "tool" or turn.tool_calls:
        return render_turn(turn.role, turn.content, turn.tool_calls)
    return {"role": turn.role, "content": strip_markers(turn.content) if turn.role == "assistant" else turn.content}


def _tool_results(turns: list[Turn]) -> list[tuple[str, str]]:
    """Tool results after the latest user turn: (call id, result), the evidence a tool round trip adds."""
    users = user_turns(turns)
    after = turns[users[-1] + 1:] if users else turns
    return [(t.tool_call_id or "", t.content) for t in after if t.role == "tool"]


class ChatService:
    def __init__(self, retriever: Retriever, generator: TextGenerator, catalog: Catalog,
                 strict_grounding: bool = True, relative_floor: float = 0.4, budget: Budget | None = None) -> None:
        self.retriever = retriever
        self.generator = generator
        self.catalog = catalog
        self.strict_grounding = strict_grounding
        self.relative_floor = relative_floor
        self.budget = budget or Budget()
        self.grounding = Grounding(retriever.embedder, example_terms())
        self.answerer = Answerer(generator, self.grounding)
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
        """Retrieval, the evidence lines, and the model's messages (system prompt, earlier turns, the latest
        question with its lines) fitted to the context window. Needs no model slot, so it runs before one
        is taken."""
        plan = self.plan(req)
        if plan.summary:
            return Prepared(req, plan, [], Evidence([], []), {})
        t0 = time.perf_counter()
        query = search_query(plan.turns)
        segments = relevant(self.retriever.retrieve(query, plan.collections, req.filter, req.retrieval,
                                                    plan.file_ids), self.relative_floor)
        t1 = time.perf_counter()
        question = prompt_question(plan.turns)
        evidence = gather(query, segments, self.retriever.embedder, _tool_results(plan.turns), self.budget)
        client_system = "\n".join(t.content for t in plan.turns if t.role == "system" and t.content)
        deciding = req.tools is not None and not _tool_results(plan.turns)
        system = (TOOLS_SYSTEM_PROMPT + tool_prompt(req.tools.tools) if deciding and req.tools else SYSTEM_PROMPT) \
            + ("\n" + client_system if client_system else "")
        turns = [t for t in plan.turns if t.role in ("user", "assistant", "tool")]
        last = (user_turns(turns) or [len(turns)])[-1]
        before = [p for p in (_history_message(t) for t in turns[:last]) if p["content"]]
        fitted = fit_prompt(system, before, lambda k: user_message(question, evidence.top(k), plan.language),
                            len(evidence.lines), [], self.generator.count_tokens, self.generator.n_ctx,
                            self._answer_tokens(req))
        unread = self.generator.unread(fitted.messages)
        return Prepared(req, plan, fitted.messages, evidence.top(fitted.kept_segments),
                        {"retrieve": t1 - t0, "prompt": time.perf_counter() - t1},
                        fitted.prompt_tokens if unread is None else unread)

    @staticmethod
    def _answer_tokens(req: ChatRequest) -> int:
        """Tokens the prompt must leave for the reply (the line numbers come first: a few more)."""
        forced = req.tools is not None and req.tools.forced
        return max(req.params.max_tokens, FORCED_CALL_TOKENS) if forced else req.params.max_tokens + 24

    def summarize(self, req: ChatRequest, plan: Plan) -> ChatAnswer:
        """Chapters with time ranges and an overview, from all segments of the file in scope."""
        t0 = time.perf_counter()
        segments = self.retriever.store.segments(search_scope(plan.collections, req.filter, plan.file_ids))
        instruction = last_user_message(plan.turns)
        result = summarize(segments, self.generator, instruction, check=self._summary_line_supported)
        return ChatAnswer(text=result.markdown(), citations=result.citations(), segments=[],
                          prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                          finish_reason="stop", timings={"summary": time.perf_counter() - t0})

    def _summary_line_supported(self, text: str, question: str, segments: list[ScoredSegment]) -> bool:
        """A chapter line or overview in the video's language shares its words; one in the instruction's
        other language is checked like a translated answer."""
        if segments and self.crosslingual.translated(text, segments, "en"):
            return self.crosslingual.supported(text, question, segments)
        return lexically_grounded(text, question, segments)

    def _prepared(self, req: ChatRequest, prepared: Prepared | None) -> Prepared:
        return prepared if prepared is not None and prepared.request is req else self.prepare(req)

    def answer(self, req: ChatRequest, prepared: Prepared | None = None) -> ChatAnswer:
        """The whole reply: the streamed path's text, joined (so both are the same answer)."""
        final = None
        for item in self.stream(req, prepared):
            if isinstance(item, ChatAnswer):
                final = item
        assert final is not None
        return final

    def stream(self, req: ChatRequest, prepared: Prepared | None = None) -> Iterator[str | ChatAnswer]:
        """Yields the answer's text as it is released, then one final ChatAnswer (citations, grounding)."""
        prepared = self._prepared(req, prepared)
        plan = prepared.plan
        if plan.summary:
            ans = self.summarize(req, plan)
            yield ans.text
            yield ans
            return
        if req.params.response_format is not None:
            ans = self._structured(req, prepared)
            yield ans.text
            yield ans
            return
        if req.tools is not None and not _tool_results(plan.turns):
            called = self._tool_decision(req, prepared)
            if called is not None:
                if called.text:
                    yield called.text
                yield called
                return
            prepared = self._answering(prepared)
        yield from self._evidence_answer(req, prepared)

    def _evidence_answer(self, req: ChatRequest, prepared: Prepared) -> Iterator[str | ChatAnswer]:
        plan, evidence, timings = prepared.plan, prepared.evidence, dict(prepared.timings)
        question = prompt_question(plan.turns)
        t0 = time.perf_counter()
        outcome: Outcome | None = None
        for item in self.answerer.run(prepared.messages, evidence, question, plan.language, req.params,
                                      strict=plan.strict_grounding):
            if isinstance(item, Outcome):
                outcome = item
            else:
                yield item
        assert outcome is not None
        timings["generate"] = time.perf_counter() - t0
        timings.update(outcome.timings)
        verdict = outcome.verdict
        grounded = outcome.grounded
        citations: list[Citation] = []
        tool_cites: list[ToolCitation] = []
        if not outcome.refused:
            citations, tool_cites = from_lines(outcome.cited, evidence, outcome.text)
        report: dict[str, Any] = {"lines": outcome.numbers, "supported": grounded}
        if verdict is not None and verdict.failed:
            report["failed"] = verdict.failed
        if outcome.dropped:
            report["dropped_sentences"] = outcome.dropped
        prompt_tokens = self.generator.count_tokens("".join(m["content"] for m in prepared.messages))
        yield ChatAnswer(text=outcome.text, citations=citations, segments=evidence.segments,
                         prompt_tokens=prompt_tokens, completion_tokens=outcome.completion_tokens,
                         finish_reason=outcome.finish_reason, timings=timings,
                         grounded=grounded, tool_citations=tool_cites, grounding=report)

    def _answering(self, prepared: Prepared) -> Prepared:
        """The same evidence with the answering system prompt (after a tool decision that called nothing)."""
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, *prepared.messages[1:]]
        return replace(prepared, messages=messages)

    def _tool_decision(self, req: ChatRequest, prepared: Prepared) -> ChatAnswer | None:
        """With tools on offer: is the request a call? A forced choice is constrained to a call; in `auto`
        mode a call is kept only when the request names what the tool does (the 1.5B model otherwise calls
        tools for questions the videos answer). None: not a call, answer from the evidence."""
        assert req.tools is not None
        params = req.params
        if req.tools.forced:
            params = replace(params, response_format={"type": "json_object", "schema": forced_schema(req.tools)},
                             max_tokens=self._answer_tokens(req))
        gen = self.generator.chat(prepared.messages, params)
        calls, rest = parse_tool_calls(gen.text, req.tools)
        question = last_user_message(prepared.plan.turns)
        if calls and not req.tools.forced and not all(plausible(c, question, req.tools) for c in calls):
            log.info("dropping tool calls the request does not ask for: %s", [c.name for c in calls])
            return None
        if not calls:
            return None
        return ChatAnswer(text=rest, citations=[], segments=prepared.segments, prompt_tokens=gen.prompt_tokens,
                          completion_tokens=gen.completion_tokens, finish_reason="tool_calls",
                          timings=dict(prepared.timings, **gen.timings), tool_calls=calls)

    def _structured(self, req: ChatRequest, prepared: Prepared) -> ChatAnswer:
        """JSON the caller's schema describes, from the same evidence; cited by the lines it takes from."""
        messages = [{"role": "system", "content": "Reply with JSON built only from the numbered video lines."},
                    *prepared.messages[1:]]
        gen = self.generator.chat(messages, req.params)
        lines = used_lines(gen.text, prompt_question(prepared.plan.turns), prepared.evidence.lines,
                           prepared.plan.language) if prepared.evidence.lines else []
        shared = [ln for ln in lines if ln in prepared.evidence.lines] if len(lines) < len(prepared.evidence.lines) \
            else []
        citations, tools = from_lines(shared, prepared.evidence, gen.text)
        return ChatAnswer(text=gen.text, citations=citations, segments=prepared.segments,
                          prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                          finish_reason=gen.finish_reason, timings=dict(prepared.timings, **gen.timings),
                          grounded=True, tool_citations=tools)
