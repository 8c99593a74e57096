"""Evidence: the retrieved segments as numbered, timed lines, the unit an answer cites.

Why lines and not segments: a segment is 20 s of speech, screen text, pictures and sounds; an answer rests
on one or two of its lines. Numbering the lines lets the model name exactly what it relies on before it
writes the answer (`engine.answering`), lets the checks compare the answer with just those lines
(`engine.grounding`), and makes each citation the seconds its lines are said or shown. Only the lines
that can answer are shown (fewer prompt tokens on a CPU, less for a small model to be distracted by):
each line is scored against the question by meaning and by rare shared words, and the best are kept
with what completes them (the rest of a sentence, the screen text visible while a kept line is said).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from clipcite.domain import ScoredSegment
from engine import lexical
from engine.embedding import Embedder
from engine.prompting import fmt_time, without_colours

Kind = Literal["said", "screen", "picture", "sound", "tool"]
KIND_LABEL = {"said": "said", "screen": "on screen", "picture": "picture", "sound": "sound", "tool": "tool result"}
_SENTENCE_END = re.compile(r"[.!?…。！？]['\")\]]*$")


@dataclass(frozen=True)
class Line:
    """One timed statement of the evidence (`segment`: index into the retrieved segments; -1 for a tool
    result, which has no time)."""

    kind: Kind
    text: str
    start: float
    end: float
    segment: int
    file_id: str = ""
    speaker: str | None = None
    unsure: tuple[str, ...] = ()  # words the recogniser was unsure of (shown to the model)
    source: str = ""  # a tool line: the tool call id it answers
    lang: str | None = None  # the spoken language of its video, when known

    def key(self) -> tuple:
        return (self.file_id, self.kind, self.text.casefold(), round(self.start, 1))


@dataclass
class Evidence:
    """The numbered lines shown to the model (line n is `lines[n - 1]`) and the segments they come from."""

    lines: list[Line]
    segments: list[ScoredSegment]
    names: dict[str, str] = field(default_factory=dict)  # file id -> file name shown
    ranks: list[int] = field(default_factory=list)  # each line's place in relevance order (0: the best)

    def top(self, k: int) -> Evidence:
        """The k most relevant lines, still in reading order (the prompt fitting drops the least relevant)."""
        if k >= len(self.lines):
            return self
        ranks = self.ranks or list(range(len(self.lines)))
        keep = [i for i in range(len(self.lines)) if ranks[i] < k]
        return Evidence([self.lines[i] for i in keep], self.segments, self.names,
                        [ranks[i] for i in keep])

    def with_neighbours(self, lines: Sequence[Line]) -> list[Line]:
        """The lines, then the lines shown right before and after each of them in the same video. A small
        model points one line off now and then (it names the utterance beside the one that holds the figure);
        the line next to a cited one, in the same video, is the evidence it was looking at."""
        out = list(dict.fromkeys(lines))
        for line in lines:
            if line.kind == "tool" or line not in self.lines:
                continue
            i = self.lines.index(line)
            for j in (i - 1, i + 1):
                if 0 <= j < len(self.lines) and self.lines[j].file_id == line.file_id and self.lines[j] not in out:
                    out.append(self.lines[j])
        return out

    def contexts(self, lines: Sequence[Line]) -> list[str]:
        """What is known around some lines, per video they come from: its name and every line shown of it
        (the title slide names the company whose figure a later slide gives)."""
        files = dict.fromkeys(ln.file_id for ln in lines if ln.kind != "tool")
        return [" ".join([self.names.get(f, f).rsplit(".", 1)[0].replace("_", " "),
                          *(ln.text for ln in self.lines if ln.file_id == f)]) for f in files]

    def cited(self, numbers: Sequence[int]) -> list[Line]:
        return [self.lines[n - 1] for n in dict.fromkeys(numbers) if 1 <= n <= len(self.lines)]

    def render(self) -> str:
        """Lines grouped by file, each with its number, time and kind."""
        if not self.lines:
            return "(no lines matched)"
        out: list[str] = []
        current = None
        for n, line in enumerate(self.lines, 1):
            if line.kind == "tool":
                if current != "tool":
                    out.append("Tool results:")
                    current = "tool"
                out.append(f"[{n}] {line.text}")
                continue
            if line.file_id != current:
                out.append(f"Video {self.names.get(line.file_id, line.file_id)}:")
                current = line.file_id
            when = fmt_time(line.start) if line.end - line.start < 1.5 else \
                f"{fmt_time(line.start)}-{fmt_time(line.end)}"
            who = f" ({line.speaker})" if line.speaker else ""
            unsure = f" [unsure: {', '.join(line.unsure)}]" if line.unsure else ""
            out.append(f"[{n}] {when} {KIND_LABEL[line.kind]}{who}: {line.text}{unsure}")
        return "\n".join(out)


def picture_text(description: str) -> str:
    """A keyframe sentence as evidence, without its colour clause (see `prompting.without_colours`)."""
    return without_colours(description).strip()


def candidate_lines(segments: list[ScoredSegment]) -> list[Line]:
    """Every line of every retrieved segment once: an utterance or screen line on a segment boundary is in
    both segments; a screen line shown across two segments is one line with the joined time."""
    seen: dict[tuple, int] = {}
    out: list[Line] = []

    def add(line: Line) -> None:
        key = (line.file_id, line.kind, line.text.casefold())
        prev = seen.get(key)
        if prev is not None and out[prev].start - 1.0 <= line.start <= out[prev].end + 1.0:
            old = out[prev]
            out[prev] = replace(old, start=min(old.start, line.start), end=max(old.end, line.end))
            return
        seen[key] = len(out)
        out.append(line)

    for i, scored in enumerate(segments):
        seg = scored.segment
        labelled = seg.file_speaker_count > 1 or bool(seg.metadata.get("speakers"))
        lang = seg.video_info.get("language")
        for p in seg.speech:
            if p.text.strip():
                add(Line("said", lexical.tidy_numbers(lexical.join_spoken_numbers(p.text.strip())), p.start_time,
                         p.end_time, i, seg.file_id, seg.speaker_name(p.speaker) if labelled else None,
                         tuple(p.unsure), lang=lang))
        for s in seg.screen_lines():
            if s.text.strip():
                add(Line("screen", s.text.strip(), s.start_time, s.end_time, i, seg.file_id, lang=lang))
        for v in seg.visual_spans:
            text = picture_text(v.text)
            if text:
                add(Line("picture", text, v.start_time, v.end_time, i, seg.file_id, lang="en"))
        for e in seg.sounds:
            add(Line("sound", e.text, e.start_time, e.end_time, i, seg.file_id, lang="en"))
    return out


@dataclass(frozen=True)
class Budget:
    max_lines: int = 14
    max_chars: int = 1600


def select(question: str, lines: list[Line], embedder: Embedder | None, budget: Budget = Budget()
           ) -> tuple[list[Line], list[int]]:
    """The lines worth showing, in reading order (file by retrieval rank, then time), and each one's rank in
    relevance: the best by meaning and by rare shared words, each with what completes it (the rest of its
    sentence; the screen text visible while it is said), within the budget."""
    if not lines:
        return [], []
    scores = _relevance(question, lines, embedder)
    order = sorted(range(len(lines)), key=lambda i: -scores[i])
    chosen: dict[int, int] = {}  # line -> its rank
    chars = 0

    def take(i: int) -> bool:
        nonlocal chars
        if i in chosen:
            return True
        if len(chosen) >= budget.max_lines or chars + len(lines[i].text) > budget.max_chars:
            return False
        chosen[i] = len(chosen)
        chars += len(lines[i].text)
        return True

    for i in order:
        if not take(i):
            break
        for j in _completing(i, lines):
            take(j)
    shown = sorted(chosen, key=lambda i: (_file_rank(lines[i], lines), lines[i].start, lines[i].kind != "screen"))
    return [lines[i] for i in shown], [chosen[i] for i in shown]


def _file_rank(line: Line, lines: list[Line]) -> int:
    return next(k.segment for k in lines if k.file_id == line.file_id) if line.segment >= 0 else 10**6


def _completing(i: int, lines: list[Line]) -> list[int]:
    """What a line needs beside it: an utterance that does not end its sentence brings the next utterance
    of its file (Whisper cuts "we lent out about 600" | "packets, which ..."); one that continues a
    sentence brings the one before; any utterance brings the screen lines shown while it is said (the
    slide spells the name or figure that speech may have misheard)."""
    line = lines[i]
    if line.kind != "said":
        return []
    said = [j for j, k in enumerate(lines) if k.kind == "said" and k.file_id == line.file_id]
    said.sort(key=lambda j: lines[j].start)
    pos = said.index(i)
    out = []
    if not _SENTENCE_END.search(line.text) and pos + 1 < len(said):
        out.append(said[pos + 1])
    if line.text[:1].islower() and pos > 0:
        out.append(said[pos - 1])
    out += [j for j, k in enumerate(lines) if k.kind == "screen" and k.file_id == line.file_id
            and k.start < line.end + 0.5 and line.start - 0.5 < k.end]
    return out


def _relevance(question: str, lines: list[Line], embedder: Embedder | None) -> list[float]:
    """Meaning (the embedder's question-passage cosine, scaled from its unrelated floor) plus the
    rarity-weighted share of the question's terms a line holds; retrieval rank breaks ties."""
    terms = set(lexical.tokens(question))
    line_terms = [set(lexical.tokens(ln.text)) for ln in lines]
    n = len(lines)
    weight = {t: math.log(1 + n / (1 + sum(lexical.has_term(t, lt) for lt in line_terms))) for t in terms}
    total = sum(weight.values()) or 1.0
    lexical_score = [sum(w for t, w in weight.items() if lexical.has_term(t, lt)) / total for lt in line_terms]
    meaning = [0.0] * n
    if embedder is not None and question.strip():
        q = embedder.embed_cached([question], persist=False, query=True)[0]
        vecs = embedder.embed_cached([ln.text for ln in lines])
        sims = (vecs @ q).tolist()
        floor = getattr(embedder, "related_floor", 0.3)
        meaning = [max(0.0, (s - floor) / max(1e-6, 1.0 - floor)) for s in sims]
    return [lexical_score[i] + 2.0 * meaning[i] - 0.01 * max(lines[i].segment, 0) for i in range(n)]


def gather(question: str, segments: list[ScoredSegment], embedder: Embedder | None,
           tools: Sequence[tuple[str, str]] = (), budget: Budget = Budget()) -> Evidence:
    """The evidence for a question: the selected lines of the segments, then any tool results (each a line:
    `tools` holds (call id, result text))."""
    lines, ranks = select(question, candidate_lines(segments), embedder, budget)
    results = [Line("tool", text.strip()[:1500], 0.0, 0.0, -1, source=call_id) for call_id, text in tools
               if text.strip()]
    ranks = [r + len(results) for r in ranks] + list(range(len(results)))  # tool results are kept first
    names = {s.segment.file_id: Path(str(s.segment.file_info.get("filename") or s.segment.file_id)).name
             for s in segments}
    return Evidence(lines + results, segments, names, ranks)


def lines_text(lines: Sequence[Line]) -> str:
    return " ".join(ln.text for ln in lines)


def vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    return embedder.embed_cached(texts, persist=False)
