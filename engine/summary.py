"""Whole-video summaries by map-reduce over every segment (not top-k retrieval).

Map: consecutive segments are packed into chunks that fit a small prompt and each chunk becomes a
chapter line with its time range. Reduce: the chapter lines become a two-sentence overview. Every
chapter cites the segments it was written from, so the summary is as traceable as an answer.
Prompts stay short because a 1.5B model on a 2-core CPU reads ~40 prompt tokens per second.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from clipcite.domain import Segment
from engine.citations import Citation, relevant_sources
from engine.generation import GenerationParams, TextGenerator
from engine.prompting import fmt_time

log = logging.getLogger(__name__)

_SUMMARY_INTENT = re.compile(r"\b(summar\w*|overview|recap|tl;?dr|gist|key points|chapters?|"
                             r"what (is|was|'s) (this|the) video about|what happens in (this|the) video)\b", re.I)

MAP_PROMPT = ("Write one sentence (at most 25 words) stating the specific facts in these video segments: names, "
              "numbers, dates, places. No preamble.")
REDUCE_PROMPT = ("These are the chapters of one video. Write a two-sentence overview of the whole video with its "
                 "key facts. No preamble.")


def wants_summary(text: str) -> bool:
    return bool(_SUMMARY_INTENT.search(text or ""))


@dataclass
class Chapter:
    start_time: float
    end_time: float
    text: str
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Summary:
    overview: str
    chapters: list[Chapter]
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def markdown(self) -> str:
        lines = [self.overview, "", "Chapters:"]
        lines += [f"- [{fmt_time(c.start_time)}–{fmt_time(c.end_time)}] {c.text} [{i}]"
                  for i, c in enumerate(self.chapters, 1)]
        return "\n".join(lines).strip()

    def citations(self) -> list[Citation]:
        out: list[Citation] = []
        for i, ch in enumerate(self.chapters, 1):
            for seg in ch.segments:
                out.append(Citation(segment=seg, number=i, sources=relevant_sources(seg, ch.text), context=ch.text))
        return out


def _segment_text(seg: Segment, budget: int) -> str:
    parts = []
    if seg.speech_text:
        parts.append(seg.speech_text)
    if seg.scene_text:
        parts.append("On screen: " + " | ".join(seg.scene_text))
    if not parts and seg.visual:
        parts.append("Visual: " + "; ".join(seg.visual))
    return " ".join(parts)[:budget]


def pack(segments: list[Segment], chunk_chars: int = 900, per_segment: int = 600) -> list[list[Segment]]:
    """Consecutive segments in chunks of about `chunk_chars` characters of content (at least one each)."""
    chunks: list[list[Segment]] = []
    size = 0
    for seg in sorted(segments, key=lambda s: s.start_time):
        n = len(_segment_text(seg, per_segment))
        if chunks and size + n <= chunk_chars:
            chunks[-1].append(seg)
            size += n
        else:
            chunks.append([seg])
            size = n
    return chunks


def summarize(segments: list[Segment], generator: TextGenerator, instruction: str | None = None,
              max_chapters: int = 12, on_chapter: Callable[[Chapter], None] | None = None) -> Summary:
    """Map each chunk to a chapter sentence, then reduce the chapters to an overview."""
    chunks = pack(segments)
    if len(chunks) > max_chapters:  # long videos: wider chunks rather than more model calls
        chunks = pack(segments, chunk_chars=900 * (len(chunks) // max_chapters + 1))
    params = GenerationParams(max_tokens=48, temperature=0.0)
    chapters: list[Chapter] = []
    prompt_tokens = completion_tokens = 0
    for chunk in chunks:
        body = "\n".join(f"[{fmt_time(s.start_time)}-{fmt_time(s.end_time)}] {_segment_text(s, 600)}" for s in chunk)
        if not body.strip():
            continue
        gen = generator.chat([{"role": "system", "content": MAP_PROMPT}, {"role": "user", "content": body}], params)
        prompt_tokens += gen.prompt_tokens
        completion_tokens += gen.completion_tokens
        ch = Chapter(chunk[0].start_time, chunk[-1].end_time, _one_line(whole_sentences(gen.text, gen.finish_reason)),
                     list(chunk))
        chapters.append(ch)
        if on_chapter:
            on_chapter(ch)
    if not chapters:
        return Summary(overview="The video has no speech, on-screen text or visual labels to summarise.",
                       chapters=[])
    if len(chapters) == 1:
        overview = chapters[0].text
    else:
        task = REDUCE_PROMPT + (f" Also follow this instruction: {instruction}" if instruction else "")
        body = "\n".join(f"[{fmt_time(c.start_time)}-{fmt_time(c.end_time)}] {c.text}" for c in chapters)
        gen = generator.chat([{"role": "system", "content": task}, {"role": "user", "content": body}],
                             GenerationParams(max_tokens=90, temperature=0.0))
        prompt_tokens += gen.prompt_tokens
        completion_tokens += gen.completion_tokens
        overview = whole_sentences(gen.text, gen.finish_reason).strip()
    return Summary(overview=overview, chapters=chapters, prompt_tokens=prompt_tokens,
                   completion_tokens=completion_tokens)


_SENTENCE_END = re.compile(r"[.!?](?:[\"')\]]*)(?=\s|$)")


def whole_sentences(text: str, finish_reason: str) -> str:
    """A summary that hit its token budget ends at its last complete sentence, never mid-word ("... A silv");
    text without any complete sentence is kept as it is (something beats nothing)."""
    text = text.strip()
    if finish_reason != "length" or _SENTENCE_END.search(text[-3:] if text else ""):
        return text
    ends = list(_SENTENCE_END.finditer(text))
    return text[:ends[-1].end()] if ends else text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
