"""Find every moment of one video that matches one criterion (Cloudglue `find_moments`).

Candidates are the video's smallest timed pieces: each utterance, each on-screen line while it is visible,
each sound event and keyframe description. They are ranked against the criterion (its name and
instructions) by the embedder and by shared words; the best few, merged where they touch, are judged by
the chat model one by one with a grammar ({"quote", "score", "title", "reason"}, plus the criterion's
`moment_schema` properties). A moment is accepted when the model quotes one of its lines (nearly word for
word) and scores it 3 or more: measured on the dev corpus, the 1.5B model asked for a yes/no verdict
rejected 5 of 7 right moments ("Revenue for the quarter each 1 .8 million" "does not answer" the revenue
question), while asked to copy the line it found them. The accepted ones get boundaries by
`boundary_policy`: whole utterances (`sentence`), the piece itself (`tight`) or two seconds either side
(`loose`), within the duration limits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from clipcite.domain import Segment
from engine import lexical
from engine.embedding import Embedder
from engine.generation import GenerationParams, TextGenerator
from engine.schemas import bounded

log = logging.getLogger(__name__)

MAX_JUDGED = 12  # model calls per run, whatever the video's length
LOOSE_PAD = 2.0
JUDGE = ("You judge a moment of a video against a criterion. Copy the one line of the moment that meets the "
         "criterion or holds what it asks for, exactly as written (an empty quote if no line does), then give a "
         "score from 0 (unrelated) to 10 (exactly what the criterion describes), a short title of the moment, and "
         "the reason in one sentence. Reply with JSON.")


@dataclass(frozen=True)
class Piece:
    start: float
    end: float
    text: str
    signal: str  # speech | scene_text | visual_scene_description | audio_description
    speaker: str | None = None


@dataclass
class Moment:
    start: float
    end: float
    title: str
    reason: str
    score: float  # the model's 0-10 judgement
    similarity: float
    signals: list[str]
    speakers: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> float:
        return round(min(1.0, max(0.0, 0.8 * self.score / 10 + 0.2 * max(self.similarity, 0.0))), 4)


@dataclass(frozen=True)
class Criterion:
    name: str
    instructions: str
    moment_schema: dict[str, Any] | None = None
    signals: tuple[str, ...] = ("speech", "scene_text", "visual_scene_description", "audio_description")
    boundary: str = "sentence"
    min_duration: float = 5.0
    max_duration: float = 300.0
    speakers: tuple[str, ...] = ()


def pieces(segments: list[Segment]) -> list[Piece]:
    """Each timed piece once (an utterance straddling two segments is in both)."""
    seen: set[tuple[str, float, str]] = set()
    out: list[Piece] = []
    for seg in sorted(segments, key=lambda s: s.start_time):
        found = [Piece(p.start_time, p.end_time, p.text, "speech", seg.speaker_name(p.speaker) if p.speaker else None)
                 for p in seg.speech]
        found += [Piece(line.start_time, line.end_time, line.text, "scene_text") for line in seg.screen_lines()]
        found += [Piece(v.start_time, v.end_time, v.text, "visual_scene_description") for v in seg.visual_spans]
        found += [Piece(e.start_time, e.end_time, e.text, "audio_description") for e in seg.sounds]
        for p in found:
            key = (p.signal, round(p.start, 2), p.text)
            if p.text.strip() and key not in seen:
                seen.add(key)
                out.append(p)
    return out


def _merge(chosen: list[tuple[Piece, float]]) -> list[tuple[list[Piece], float]]:
    """Candidates that overlap or touch become one window (best similarity kept)."""
    out: list[tuple[list[Piece], float]] = []
    for p, sim in sorted(chosen, key=lambda c: c[0].start):
        if out and p.start <= max(q.end for q in out[-1][0]) + 0.5:
            out[-1] = (out[-1][0] + [p], max(out[-1][1], sim))
        else:
            out.append(([p], sim))
    return out


class MomentFinder:
    def __init__(self, embedder: Embedder, generator: TextGenerator) -> None:
        self.embedder = embedder
        self.generator = generator

    def candidates(self, crit: Criterion, found: list[Piece]) -> list[tuple[list[Piece], float]]:
        usable = [p for p in found if p.signal in crit.signals
                  and (not crit.speakers or p.signal != "speech" or p.speaker in crit.speakers)]
        if not usable:
            return []
        query = f"{crit.name}: {crit.instructions}"
        vecs = self.embedder.embed_cached([p.text for p in usable])
        sims = (vecs @ self.embedder.embed_cached([query], persist=False, query=True)[0]).tolist()
        terms = {t for t in lexical.tokens(query)}
        lex = [len(terms & set(lexical.tokens(p.text))) / max(len(terms), 1) for p in usable]
        score = [s + 0.5 * w for s, w in zip(sims, lex, strict=True)]
        top = max(score)
        floor = max(self.embedder.related_floor, top - 0.15)  # near the best, and related at all
        ranked = sorted(((p, sc) for p, sc in zip(usable, score, strict=True) if sc >= floor), key=lambda c: -c[1])
        return sorted(_merge(ranked[:MAX_JUDGED]), key=lambda w: -w[1])[:MAX_JUDGED]

    def _judge(self, crit: Criterion, window: list[Piece]) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": {
            "quote": {"type": "string", "maxLength": 200}, "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "title": {"type": "string", "maxLength": 80}, "reason": {"type": "string", "maxLength": 200}},
            "required": ["quote", "score", "title", "reason"]}
        if crit.moment_schema:
            schema["properties"]["properties"] = bounded(crit.moment_schema)
            schema["required"].append("properties")
        content = "\n".join(f"{p.signal.replace('_', ' ')}: {p.text}" for p in window)
        gen = self.generator.chat([{"role": "system", "content": JUDGE}, {"role": "user", "content":
                                   f"Moment:\n{content}\n\nCriterion: {crit.name}: {crit.instructions}"}],
                                  GenerationParams(max_tokens=160, temperature=0.0,
                                                   response_format={"type": "json_object", "schema": schema}))
        try:
            return json.loads(gen.text)
        except json.JSONDecodeError:
            log.info("moment judgement not complete JSON: %r", gen.text[-120:])
            return {"quote": "", "score": 0}

    @staticmethod
    def quoted(quote: str, window: list[Piece]) -> bool:
        """The model's quote is one of the window's lines, nearly word for word (so the match is in the
        moment, not in the model's reading of the criterion)."""
        words = set(lexical.tokens(quote))
        if not words:
            return False
        return any(len(words & set(lexical.tokens(p.text))) >= 0.6 * len(words) for p in window)

    def bounds(self, crit: Criterion, window: list[Piece], found: list[Piece], duration: float) -> tuple[float, float]:
        start, end = min(p.start for p in window), max(p.end for p in window)
        if crit.boundary == "sentence":  # whole utterances that overlap the moment
            said = [p for p in found if p.signal == "speech" and p.start < end and p.end > start]
            start, end = min([start] + [p.start for p in said]), max([end] + [p.end for p in said])
        elif crit.boundary == "loose":
            start, end = start - LOOSE_PAD, end + LOOSE_PAD
        if end - start < crit.min_duration:
            grow = (crit.min_duration - (end - start)) / 2
            start, end = start - grow, end + grow
        start, end = max(0.0, start), min(duration, end)
        if end - start < crit.min_duration:  # against an edge of the video: grow the other way
            start, end = max(0.0, end - crit.min_duration), min(duration, start + crit.min_duration)
        if end - start > crit.max_duration:
            end = start + crit.max_duration
        return round(start, 2), round(end, 2)

    def find(self, crit: Criterion, segments: list[Segment], duration: float) -> list[Moment]:
        found = pieces(segments)
        out: list[Moment] = []
        for window, sim in self.candidates(crit, found):
            verdict = self._judge(crit, window)
            if not self.quoted(str(verdict.get("quote") or ""), window) or int(verdict.get("score", 0)) < 3:
                continue
            start, end = self.bounds(crit, window, found, duration)
            if any(m.start < end and start < m.end for m in out):  # a second window inside an accepted moment
                continue
            out.append(Moment(start, end, str(verdict.get("title") or crit.name), str(verdict.get("reason") or ""),
                              float(verdict["score"]), sim, sorted({p.signal for p in window}),
                              sorted({p.speaker for p in window if p.speaker}), verdict.get("properties") or {}))
        return sorted(out, key=lambda m: -m.rank)

