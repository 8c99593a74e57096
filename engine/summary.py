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

from clipcite.domain import ScoredSegment, Segment
from engine import languages
from engine.citations import Citation, relevant_sources
from engine.generation import GenerationParams, TextGenerator
from engine.grounding import lexically_grounded
from engine.prompting import fmt_time, render_segment

log = logging.getLogger(__name__)

_SUMMARY_INTENT = re.compile(r"\b(summar\w*|overview|recap|tl;?dr|gist|key points|chapters?|"
                             r"what (is|was|'s) (this|the) video about|what happens in (this|the) video|"
                             r"resum\w*|résum\w*|zusammenfass\w*|fass\w*\b.{0,40}\bzusammen|riassun\w*|samenvat\w*)\b"
                             r"|总结|概括|摘要|要約|まとめ|요약", re.I)

MAP_PROMPT = ("Write one sentence (at most 25 words) stating the specific facts in these video segments: names, "
              "numbers, dates, places. No preamble.")
REDUCE_PROMPT = ("These are the chapters of one video. Write a two-sentence overview of the whole video with its "
                 "key facts. No preamble.")


BRIEF_PROMPT = ("These are the chapters of one video. Write one sentence (at most 30 words) saying what the whole "
                "video is about, with its key fact. No preamble.")

_BRIEF = re.compile(r"\b(?:one|a single|single|1|a|two|2)[ -](?:sentence|line|liner)s?\b|\bbrief(?:ly)?\b|"
                    r"\bshort(?:ly)?\b|\btl;?dr\b|\bin (?:\d+|a few|few) words\b|\bconcise(?:ly)?\b", re.I)
_BARE = re.compile(r"\b(?:please|can you|could you|give me|write|make|a|an|the|this|that|of|video|clip|for me|"
                   r"summar\w*|overview|recap)\b|[^\w]+", re.I)


def wants_summary(text: str) -> bool:
    return bool(_SUMMARY_INTENT.search(text or ""))


def wants_brief(instruction: str | None) -> bool:
    """"Summarise it in one sentence" wants that sentence, not an overview plus a chapter list."""
    return bool(instruction and _BRIEF.search(instruction))


def is_bare_request(instruction: str | None) -> bool:
    """"Summarize this video." says nothing beyond asking for the summary itself."""
    return not instruction or not _BARE.sub(" ", instruction).strip()


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
    brief: bool = False  # the instruction asked for a sentence: the overview alone (chapters stay cited)

    def markdown(self) -> str:
        if self.brief:
            return self.overview.strip()
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
    """Speech and on-screen text in time order (as answers see them), or the picture labels when there is
    neither; the prompt's header line is left out (the chunk puts the time range first)."""
    lines = render_segment(0, seg, budget).split("\n")[1:]
    text = [line for line in lines if not line.startswith("picture")]
    if not text and seg.visual:
        text = ["picture: " + "; ".join(seg.visual)]
    return " ".join(text)[:budget]


def _extract(chunk: list[Segment], words: int = 25) -> str:
    """A chapter line taken from the chunk itself, for when the model's line says what the segments do not:
    the chunk's first sentences of speech (else its on-screen text), cut at a sentence end."""
    speech = " ".join(s.speech_text for s in chunk if s.speech_text)
    text = speech or " | ".join(line for s in chunk for line in s.scene_text) or "; ".join(
        v for s in chunk for v in s.visual)
    cut = " ".join(text.split()[:words])
    ends = list(_SENTENCE_END.finditer(cut))
    return cut[:ends[-1].end()] if ends and ends[-1].end() > 20 else cut


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


Check = Callable[[str, str, list[ScoredSegment]], bool]
CHUNK_PROMPT_CHARS = 1800  # content per chapter call (~500 tokens): a 2-core CPU reads it in ~12 s
MIN_SEGMENT_CHARS = 60  # each segment still says something (its first words) in a very wide chunk


def summarize(segments: list[Segment], generator: TextGenerator, instruction: str | None = None,
              max_chapters: int = 12, on_chapter: Callable[[Chapter], None] | None = None,
              check: Check = lexically_grounded, per_segment: bool = False) -> Summary:
    """Map each chunk to a chapter sentence, then reduce the chapters to an overview. `check(text,
    question, segments)` says whether a line is supported (the chat service's, which also judges a
    summary written in another language than the video). `per_segment`: each segment is a chapter (a
    narrative segmentation's segments are its chapters already)."""
    chunks = [[s] for s in sorted(segments, key=lambda s: s.start_time)] if per_segment else pack(segments)
    if len(chunks) > max_chapters and not per_segment:  # long videos: wider chunks rather than more model calls
        chunks = pack(segments, chunk_chars=900 * (len(chunks) // max_chapters + 1))
    # Written in the instruction's language ("总结这个视频" gets a Chinese summary); English when unknown.
    lang = languages.answer_language(instruction or "")
    # A CJK sentence takes about a token a character: twice the budget, or every line ends cut.
    params = GenerationParams(max_tokens=96 if lang in ("zh", "ja", "ko") else 48, temperature=0.0)
    in_lang = f" Write in {languages.NAMES[lang]}." if lang != "en" and lang in languages.NAMES else ""
    chapters: list[Chapter] = []
    prompt_tokens = completion_tokens = 0
    for chunk in chunks:
        # A wide chunk (a long video) shares one prompt's worth of text among its segments: prompts stay the
        # same size however long the video, so an hour costs max_chapters + 1 calls of bounded length.
        share = max(MIN_SEGMENT_CHARS, CHUNK_PROMPT_CHARS // len(chunk))
        body = "\n".join(f"[{fmt_time(s.start_time)}-{fmt_time(s.end_time)}] {_segment_text(s, min(600, share))}"
                         for s in chunk)
        if not body.strip():
            continue
        gen = generator.chat([{"role": "system", "content": MAP_PROMPT + in_lang},
                              {"role": "user", "content": body}], params)
        prompt_tokens += gen.prompt_tokens
        completion_tokens += gen.completion_tokens
        line = _one_line(whole_sentences(gen.text, gen.finish_reason))
        if not check(line, "", [ScoredSegment(seg, 1.0) for seg in chunk]):
            # Checked like an answer: a chapter line must say what its segments say.
            log.info("chapter line not supported by its segments, using their own words: %r", line[:200])
            line = _one_line(_extract(chunk))
        ch = Chapter(chunk[0].start_time, chunk[-1].end_time, line, list(chunk))
        chapters.append(ch)
        if on_chapter:
            on_chapter(ch)
    if not chapters:
        return Summary(overview="The video has no speech, on-screen text or visual labels to summarise.",
                       chapters=[])
    brief = wants_brief(instruction)
    if len(chapters) == 1:
        overview = chapters[0].text
    else:
        extra = "" if is_bare_request(instruction) else f" Also follow this instruction: {instruction}"
        task = (BRIEF_PROMPT if brief else REDUCE_PROMPT) + extra + in_lang
        body = "\n".join(f"[{fmt_time(c.start_time)}-{fmt_time(c.end_time)}] {c.text}" for c in chapters)
        gen = generator.chat([{"role": "system", "content": task}, {"role": "user", "content": body}],
                             GenerationParams(max_tokens=90, temperature=0.0))
        prompt_tokens += gen.prompt_tokens
        completion_tokens += gen.completion_tokens
        overview = whole_sentences(gen.text, gen.finish_reason).strip()
        if not check(overview, instruction or "", [ScoredSegment(seg, 1.0) for seg in segments]):
            log.info("overview not supported by the video's segments, using the chapter lines: %r", overview[:200])
            overview = " ".join(c.text for c in chapters[:1 if brief else 2])
    return Summary(overview=overview, chapters=chapters, prompt_tokens=prompt_tokens,
                   completion_tokens=completion_tokens, brief=brief)


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
