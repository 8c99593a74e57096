"""A second, extractive look when the model refused: "copy the line that answers the question".

Why: the 1.5B default model refuses answerable questions whose answer is plainly in a segment ("On spare
parts, we spent $900 this month." -> "The videos do not contain this information."), with or without other
segments beside it, while the same model asked to copy the answering line copies it, and replies NONE
for questions the segments do not answer. The copied line is then located in the segments (it must be
one of their lines, nearly word for word), and the answer is that line with its citation: grounded by
construction, and still checked like any answer afterwards.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from clipcite.domain import ScoredSegment, SpeechPart
from engine import lexical
from engine.answer_types import asks_about_screen, asks_moment
from engine.generation import GenerationParams, TextGenerator
from engine.prompting import build_user_message, fmt_time, pictures, timed_picture

log = logging.getLogger(__name__)

EXTRACT_PROMPT = ("Below are numbered video segments and a question. Copy the one line from the segments that "
                  "answers the question, exactly as written, starting with its segment number like [1]. If no "
                  "line answers it, reply NONE.")


@dataclass(frozen=True)
class Extracted:
    number: int  # 1-based segment number
    line: str
    when: tuple[float, float] | None = None  # when a picture is on screen or a sound heard: the answer says it

    def answer(self) -> str:
        line = self.line.strip().rstrip('.')
        if self.when is not None and not re.search(r"\d:\d\d\)?$", line):
            line += f" ({fmt_time(self.when[0])}-{fmt_time(self.when[1])})"
        return f"{line} [{self.number}]."


def locate(reply: str, segments: list[ScoredSegment], min_share: float = 0.7, screen_only: bool = False
           ) -> Extracted | None:
    """The segment line the reply copied: most of the reply's terms in one utterance or on-screen line, or
    a whole line of at least two terms that is half the reply or more (the model copied two adjacent
    lines as one: "3000 Goggles required" from an OCR crumb and its notice). A reply that copies nothing
    (a paraphrase, an invention, NONE) locates nowhere."""
    text = re.sub(r"^\s*\[\d+\]\s*(?:speech:|on screen:)?\s*", "", reply.strip(), flags=re.I).strip().strip('"')
    if not text or re.match(r"none\b", text, re.I):
        return None
    terms = set(lexical.tokens(text))
    if not terms:
        return None
    best: tuple[float, int, str] | None = None
    for n, scored in enumerate(segments, 1):
        seg = scored.segment
        spoken = [] if screen_only else [p.text for p in seg.speech]
        for line in spoken + [s.text for s in seg.screen_lines()]:
            line_terms = set(lexical.tokens(line))
            share = len(terms & line_terms) / len(terms)
            whole = len(line_terms) >= 2 and line_terms <= terms and share >= 0.5
            if (share >= min_share or whole) and (best is None or share > best[0]):
                best = (share, n, line)
    return Extracted(best[1], best[2]) if best else None


# Words of "when is a horse shown?" that say how, not what: left out of the looked-for terms.
_MOMENT_WORDS = frozenset(lexical.tokens(
    "when shown seen see visible displayed pictured appear appears appearing heard hear played audible go goes "
    "off ring rings ringing picture photo image frame video videos moment point time can we you do does is are "
    "like kind sort some any"))


def _asked_thing(question: str) -> set[str]:
    """The terms of what a moment question asks about ("a bird on a branch" in "when is a bird on a branch
    shown?")."""
    return set(lexical.tokens(question)) - _MOMENT_WORDS


def _named(wanted: set[str], terms: set[str]) -> int:
    """How many of the asked terms a text names, or 0 when that is not at least half of them."""
    hits = sum(1 for t in wanted if lexical.has_term(t, terms))
    return hits if hits * 2 >= len(wanted) else 0


def find_moment(question: str, segments: list[ScoredSegment]) -> Extracted | None:
    """For "when is X shown / heard?": the keyframe sentence or sound label that names X, with its time, found
    by its words. No model call: the 1.5B model asked to copy a picture line copied only its number, and
    answered "a horse is shown in the loading bay" from another segment's speech. Most of X's terms must be
    in the one description ("a bird on a branch" finds "... resembling a kingfisher (a kind of bird)").
    Among equals the description the terms say most of wins ("a picture of a cat" over "a cheetah (a kind of
    big cat)" for "a cat"), then the better-retrieved segment."""
    wanted = _asked_thing(question)
    if not wanted:
        return None
    best: tuple[int, float, int, Extracted] | None = None
    for n, scored in enumerate(segments, 1):
        seg = scored.segment
        units = [(timed_picture(text, spans), spans[0]) for text, spans in pictures(seg)] + \
            [(event.text, (event.start_time, event.end_time)) for event in seg.sounds]
        for text, when in units:
            terms = set(lexical.tokens(text)) - _MOMENT_WORDS
            hits = _named(wanted, terms)
            key = (hits, hits / max(1, len(terms)), -n)
            if hits and (best is None or key > best[:3]):
                best = (*key, Extracted(n, text, when))
    return best[3] if best else None


def subject_named(question: str, segments: list[ScoredSegment]) -> bool:
    """Whether some segment names what a moment question asks about (in speech, on screen, a keyframe
    sentence or a sound label). Asked when a picture of galaxies is shown, with no segment saying galaxies,
    the model gave the time of another picture: every word of that answer was in the segments."""
    wanted = _asked_thing(question)
    return not wanted or any(_named(wanted, lexical.segment_terms(s.segment, with_filename=False))
                             for s in segments)


# "What kind of photography is not allowed?", "Is smoking permitted?", "What is forbidden in the hall?"
_PROHIBITION = re.compile(r"\b(?:forbidden|prohibited|banned|(?:can ?not|can't|may not|"
                          r"must not|mustn't)\s+(?:be\s+)?(?:use|used|take|taken|bring|brought|do|done))\b"
                          r"|\b(?:allowed|permitted)\b", re.I)  # "not allowed" is found by "allowed"
_NOTICE = re.compile(r"^\s*no\s+(\w.*)$", re.I)  # a prohibition sign: "No flash photography", "No dogs"
_PROHIBITION_WORDS = frozenset(lexical.tokens(
    "what which kind sort type is are not allowed permitted forbidden prohibited banned can cannot may must be "
    "use used take taken bring brought do done here there inside in the video videos"))


def find_notice(question: str, segments: list[ScoredSegment]) -> Extracted | None:
    """For "what (kind of) X is not allowed?": the on-screen "No ... X" sign that names X. The 1.5B model
    refused "What kind of photography is not allowed?" beside "No flash photography", in the answer and in
    the copy-the-line retry, although the prompt's worked example shows that very reading. A sign about
    something else ("No smoking" for photography) is no answer, so X must be named."""
    if not _PROHIBITION.search(question):
        return None
    wanted = set(lexical.tokens(question)) - _PROHIBITION_WORDS
    for n, scored in enumerate(segments, 1):
        for line in scored.segment.screen_lines():
            m = _NOTICE.match(line.text)
            if m and wanted and _named(wanted, set(lexical.tokens(m.group(1)))):
                return Extracted(n, line.text)
    return None


def extract(generator: TextGenerator, question: str, segments: list[ScoredSegment], char_budget: int,
            speech: dict[int, list[SpeechPart]] | None = None, max_segments: int = 3) -> Extracted | None:
    """Ask for the answering line among the best `max_segments` segments; None when there is none. A
    question about when something is shown or heard is answered from the pictures and sounds instead."""
    shown = segments[:max_segments]
    if not shown:
        return None
    if asks_moment(question):
        found = find_moment(question, segments)
        log.info("moment lookup after a refusal: %s", found)
        return found
    if asks_about_screen(question):  # the line to copy is a shown one: speech pointing at it only distracts
        speech = {i: [] for i in range(len(shown))}  # numbering stays that of the answer's segments
    messages = [{"role": "system", "content": EXTRACT_PROMPT},
                {"role": "user", "content": build_user_message(question, shown, char_budget, speech)}]
    gen = generator.chat(messages, GenerationParams(max_tokens=60, temperature=0.0))
    found = locate(gen.text, shown, screen_only=asks_about_screen(question)) or find_notice(question, shown)
    log.info("extractive retry after a refusal: %r -> %s", gen.text[:120], found)
    return found
