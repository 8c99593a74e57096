"""Deep search (Cloudglue `deepSearch`): several searches planned by the model, merged, and explained.

1. Plan: the chat model writes up to three search queries for the request (a grammar keeps the reply
   a JSON list); the request itself is always the first.
2. Search: each query runs through the ordinary search (the same retrieval, filters and scope), and the
   lists are fused by reciprocal rank, so a moment several plans find rises.
3. Explain: one model call writes a short synthesis and, per top result, why it is relevant and whether
   it is a weak match. The synthesis is checked like an answer (its words must come from the results);
   one that is not becomes a plain list of the best moments.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace

from clipcite.domain import ScoredSegment
from engine.generation import GenerationParams, TextGenerator
from engine.grounding import lexically_grounded
from engine.prompting import fmt_time, render_segment
from engine.search import SearchQuery, SearchService

log = logging.getLogger(__name__)

MAX_PLANS = 3
EXPLAINED = 6  # results the synthesis call explains (one call, whatever the limit)
RRF_K = 60

PLAN = ("You plan video searches. Given a request, write up to three short search queries (keywords or a "
        "short phrase each) that together find every relevant moment: the request's key terms, synonyms, "
        "and the things it implies. Reply with JSON.")
EXPLAIN = ("You explain video search results. Given a request and numbered moments, write a one or two "
           "sentence synthesis of what the moments show about the request (only what they say), and for each "
           "moment, in order, one sentence on why it is relevant and whether it is only a weak match.")


@dataclass
class Plan:
    query: str
    result_count: int = 0


@dataclass
class DeepResult:
    hit: ScoredSegment
    score: float
    context: str = ""
    weak: bool = False


@dataclass
class DeepSearchOutcome:
    text: str
    results: list[DeepResult]
    plans: list[Plan]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    search_calls: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class DeepSearcher:
    def __init__(self, search: SearchService, generator: TextGenerator) -> None:
        self.search = search
        self.generator = generator

    def _plan(self, query: str, out: DeepSearchOutcome) -> list[str]:
        schema = {"type": "object", "properties": {"queries": {
            "type": "array", "items": {"type": "string", "maxLength": 120}, "maxItems": MAX_PLANS}},
            "required": ["queries"]}
        gen = self.generator.chat([{"role": "system", "content": PLAN}, {"role": "user", "content": query}],
                                  GenerationParams(max_tokens=120, temperature=0.0,
                                                   response_format={"type": "json_object", "schema": schema}))
        out.prompt_tokens += gen.prompt_tokens
        out.completion_tokens += gen.completion_tokens
        try:
            planned = [q.strip() for q in json.loads(gen.text).get("queries", []) if isinstance(q, str)]
        except (json.JSONDecodeError, AttributeError):
            planned = []
        queries = [query]
        for q in planned:
            if q and q.lower() not in {x.lower() for x in queries}:
                queries.append(q)
        return queries[:MAX_PLANS + 1]

    def _explain(self, query: str, results: list[DeepResult], out: DeepSearchOutcome) -> str:
        shown = results[:EXPLAINED]
        schema = {"type": "object", "properties": {
            "synthesis": {"type": "string", "maxLength": 400},
            "moments": {"type": "array", "minItems": len(shown), "maxItems": len(shown), "items": {
                "type": "object", "properties": {"why": {"type": "string", "maxLength": 200},
                                                 "weak": {"type": "boolean"}}, "required": ["why", "weak"]}}},
            "required": ["synthesis", "moments"]}
        body = "\n".join(render_segment(i + 1, r.hit.segment, 300) for i, r in enumerate(shown))
        gen = self.generator.chat([{"role": "system", "content": EXPLAIN},
                                   {"role": "user", "content": f"Request: {query}\n\nMoments:\n{body}"}],
                                  GenerationParams(max_tokens=120 + 60 * len(shown), temperature=0.0,
                                                   response_format={"type": "json_object", "schema": schema}))
        out.prompt_tokens += gen.prompt_tokens
        out.completion_tokens += gen.completion_tokens
        try:
            data = json.loads(gen.text)
        except json.JSONDecodeError:
            data = {}
        for r, m in zip(shown, data.get("moments") or [], strict=False):
            r.context, r.weak = str(m.get("why") or ""), bool(m.get("weak"))
        text = str(data.get("synthesis") or "").strip()
        if text and lexically_grounded(text, query, [r.hit for r in shown]):
            return text
        log.info("deep search synthesis not supported by its results, listing them: %r", text[:200])
        return self._listing(results)

    @staticmethod
    def _listing(results: list[DeepResult]) -> str:
        if not results:
            return "No moment in the videos matches the request."
        parts = []
        for r in results[:3]:
            s = r.hit.segment
            said = (s.speech_text or " ".join(s.scene_text))[:120]
            parts.append(f"{s.file_info.get('filename')} {fmt_time(s.start_time)}-{fmt_time(s.end_time)}: {said}")
        return "Best matches: " + "; ".join(parts)

    def run(self, q: SearchQuery, exclude_weak: bool = False) -> DeepSearchOutcome:
        out = DeepSearchOutcome(text="", results=[], plans=[])
        fused: dict[str, DeepResult] = {}
        for planned in self._plan(q.query, out):
            hits = self.search.segments(replace(q, query=planned, limit=max(q.limit, 20)))
            out.search_calls += 1
            out.plans.append(Plan(planned, len(hits)))
            for rank, h in enumerate(hits):
                key = h.segment.segment_id
                add = 1.0 / (RRF_K + rank + 1)
                if key in fused:
                    fused[key].score += add
                else:
                    fused[key] = DeepResult(h, add)
        ranked = sorted(fused.values(), key=lambda r: -r.score)[:q.limit]
        top = ranked[0].score if ranked else 1.0
        for r in ranked:
            r.score = round(r.score / top, 6)  # the best result scores 1
        out.text = self._explain(q.query, ranked, out) if ranked else self._listing([])
        out.results = [r for r in ranked if not (exclude_weak and r.weak)]
        return out
