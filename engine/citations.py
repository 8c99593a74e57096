"""Map an answer to the segments it relies on (`Citation`s; `api.serialize` makes the wire objects).

Markers `[n]` (also `[n, m]`, `[n][m]`, `segment n`) pick segments by number. A model that answered
without markers is attributed by content overlap (answer terms found in a segment), so small models
still cite, but only segments whose words the answer actually uses. A refusal cites nothing, and
numbers that name no segment are dropped rather than invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clipcite.domain import ScoredSegment, Segment
from engine import lexical
from engine.languages import REFUSALS
from engine.prompting import REFUSAL

_MARKER = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]|\bsegments?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)", re.I)
_REFUSAL_PATTERNS = re.compile(
    r"(do(?:es)? not contain|don't contain|not (?:mentioned|provided|stated|available|specified)|"
    r"no information|cannot (?:find|answer|determine)|can't (?:find|answer|determine)|"
    r"unable to (?:find|answer|determine)|"
    r"not (?:in|found in) the (?:segments|videos))", re.I)


# Words an answer uses to talk about the videos themselves; they need no support in the segments.
META_TERMS = frozenset(lexical.tokens(
    "video videos segment segments shown show shows screen frame picture clip time minute minutes second seconds "
    "speaker says said mention mentioned according answer question provided information "
    "first second third last beginning end start begin later earlier next previous appear appears"))


@dataclass
class Citation:
    segment: Segment
    number: int
    sources: list[str] = field(default_factory=list)
    context: str = ""
    start_time: float = -1.0  # the moment inside the segment that supports the answer (see `moment`)
    end_time: float = -1.0

    def __post_init__(self) -> None:
        if self.start_time < 0 or self.end_time < 0:
            self.start_time, self.end_time = self.segment.start_time, self.segment.end_time


def moment(seg: Segment, answer: str, focus: str = "") -> tuple[float, float]:
    """Where in the segment the answer comes from: the utterances, on-screen lines, sounds and keyframe
    sentences that best match it, as one span clipped to the segment (a fact said in 4 s of a 20 s window
    is cited for those 4 s, so "watch that moment" starts there). Terms of the answer weigh 2 (3 when they
    hold a digit: figures, codes and dates are what facts are made of); terms only in `focus` (the
    question, or for a follow-up the exchange it follows) weigh 1, so "that was mentioned at 00:20" still
    finds its moment. The whole segment when nothing matches."""
    own = _terms(strip_markers(answer)) - META_TERMS
    weights = {t: 1 for t in _terms(focus) - META_TERMS}
    weights.update({t: 3 if any(c.isdigit() for c in t) else 2 for t in own})
    timed = [(p.text, p.start_time, p.end_time) for p in seg.speech] + \
        [(line.text, line.start_time, line.end_time) for line in seg.scene_text_spans] + \
        [(e.text, e.start_time, e.end_time) for e in seg.sounds] + \
        [(v.text, v.start_time, v.end_time) for v in seg.visual_spans]
    scored = [(sum(weights.get(t, 0) for t in _terms(text)), start, end) for text, start, end in timed]
    best = max((n for n, _, _ in scored), default=0)
    if best < 2:  # one question word in common says nothing about where the answer is
        return seg.start_time, seg.end_time
    chosen = [(start, end) for n, start, end in scored if n == best]
    start = max(seg.start_time, min(a for a, _ in chosen))
    end = min(seg.end_time, max(b for _, b in chosen))
    return (start, end) if end > start else (seg.start_time, seg.end_time)


def is_refusal(answer: str) -> bool:
    text = answer.strip()
    if not text:
        return True
    low = text.lower()
    return any(r.lower().rstrip(".。") in low for r in REFUSALS.values()) or REFUSAL.lower().rstrip(".") in low \
        or bool(_REFUSAL_PATTERNS.search(text[:300]))


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8}
_ORDINAL_MARKER = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\s+(?:video\s+)?segment\b", re.I)


def marker_numbers(answer: str) -> list[int]:
    """[2], [1, 3], "segment 4", "the second segment" -> segment numbers in order of mention."""
    found: list[tuple[int, int]] = []
    for m in _MARKER.finditer(answer):
        group = m.group(1) or m.group(2) or ""
        found.extend((m.start(), int(n)) for n in re.findall(r"\d+", group))
    found.extend((m.start(), _ORDINALS[m.group(1).lower()]) for m in _ORDINAL_MARKER.finditer(answer))
    return list(dict.fromkeys(n for _, n in sorted(found)))


def strip_markers(answer: str) -> str:
    return re.sub(r"\s*\[\s*\d+\s*(?:[,;]\s*\d+\s*)*\]", "", answer).strip()


def _terms(text: str) -> set[str]:
    return set(lexical.tokens(text))


def _context_terms(segments: list[ScoredSegment]) -> set[str]:
    """Every term of the segments, as the index sees them."""
    return set().union(*(lexical.segment_terms(s.segment) for s in segments))


_AM_PM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?", re.I)


def to_24h(text: str) -> str:
    """"2:00 PM" / "2 pm" as "14:00", "12 am" as "00:00": the model converts a slide's 14:00 into the
    asker's convention, which is the same figure."""
    def conv(m: re.Match) -> str:
        hour, minute, half = int(m.group(1)), m.group(2) or "00", m.group(3).lower()
        if hour > 12:
            return m.group(0)
        hour = hour % 12 + (12 if half == "p" else 0)
        return f"{hour:02d}:{minute}"

    return _AM_PM.sub(conv, text)


_VIDEO_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")


def _inside_a_segment(clock: str, segments: list[ScoredSegment]) -> bool:
    """Whether "mm:ss" (or "h:mm:ss") names a moment of a retrieved segment (as the prompt's headers do),
    rather than a time of day the answer states ("the last ferry leaves at 23:10")."""
    parts = [int(p) for p in clock.split(":")]
    seconds = parts[0] * 60 + parts[1] if len(parts) == 2 else parts[0] * 3600 + parts[1] * 60 + parts[2]
    return any(s.segment.start_time - 1 <= seconds <= s.segment.end_time + 1 for s in segments)


def _unpadded(terms: set[str]) -> set[str]:
    """Whole numbers without leading zeros: a slide's "9:00" and the answer's "09:00" (or "9 AM") are one time."""
    return {t.lstrip("0") or "0" if t.isdigit() else t for t in terms}


def unsupported_terms(answer: str, question: str, segments: list[ScoredSegment]) -> tuple[set[str], set[str]]:
    """(new terms, unsupported terms): answer terms not in the question, and those found in no segment."""
    context = _context_terms(segments)
    context |= {t for s in segments for t in _terms(to_24h(" ".join(s.segment.scene_text + [s.segment.speech_text])))}
    context = _unpadded(context)
    spoken = _VIDEO_TIME.sub(lambda m: " " if _inside_a_segment(m.group(), segments) else m.group(),
                             to_24h(strip_markers(answer)))  # "at 01:20" points into a segment: a time we gave
    new = _unpadded(_terms(spoken)) - _unpadded(_terms(question)) - META_TERMS
    return new, {t for t in new if not lexical.has_term(t, context)}


def is_grounded(answer: str, question: str, segments: list[ScoredSegment], max_unsupported: float = 0.5) -> bool:
    """A cheap lexical grounding check: an answer whose own words (beyond the question's) are mostly
    absent from every retrieved segment was not read from them ("her favourite colour is blue")."""
    if is_refusal(answer):
        return True
    new, unsupported = unsupported_terms(answer, question, segments)
    if _has_figure(unsupported):
        # A figure no segment holds was made up ("the last ferry leaves at 23:10", taken from the prompt's
        # worked example): words can be paraphrased, numbers cannot.
        return False
    return not new or len(unsupported) / len(new) <= max_unsupported


_YES_NO = re.compile(r"^\W*(?:yes|no)\b", re.I)


def adds_nothing(answer: str, question: str) -> bool:
    """An answer that only restates its question in the videos' own terms ("What rules were explained?" ->
    "The rules were explained in the video."): grounded word for word, and no answer. A yes or no is one."""
    if is_refusal(answer) or _YES_NO.match(strip_markers(answer)):
        return False
    return not unsupported_terms(answer, question, [])[0]


def _has_figure(terms: set[str]) -> bool:
    return any(any(c.isdigit() for c in t) for t in terms)


def figures_supported(answer: str, question: str, segments: list[ScoredSegment]) -> bool:
    """Every figure the answer states (beyond the question's and the video times we gave) is in a segment:
    the test a translated answer or summary line must pass whatever its meaning scores, since a sentence
    with one date changed still means nearly the same."""
    _, unsupported = unsupported_terms(answer, question, segments)
    return not _has_figure(unsupported)


# Capitalised English words that other languages write differently: not anchors.
_TRANSLATED_NAMES = frozenset([
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "i", "mr", "mrs",
    "ms", "dr"])
_ANCHOR = re.compile(r"\d[\d.,:]*|(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-Þ][\w'-]+")


def anchors_supported(answer: str, question: str, segments: list[ScoredSegment]) -> bool:
    """For an answer in another language than its segments: the words no translation changes - figures
    and names ("Valencia", "14:00", "Lucía Peñalver") - beyond the question's own are all in a segment, and
    there is at least one. "The Valencia team" over "el equipo de Valencia" passes; "six million" over
    "cuatro millones" has no anchor and is left to the meaning check."""
    text = strip_markers(answer).strip()
    found = [w for w in _ANCHOR.findall(text) if w.lower() not in _TRANSLATED_NAMES]
    anchors = _terms(" ".join(found)) - _terms(question) - META_TERMS
    if not anchors:
        return False
    context = _context_terms(segments)
    return all(lexical.has_term(t, context) for t in anchors)


def relevant_sources(seg: Segment, answer: str) -> list[str]:
    """Which modalities of the segment share terms with the answer (all non-empty ones if none does)."""
    terms = _terms(strip_markers(answer))
    modal = {"speech": seg.speech_text, "scene_text": " ".join(seg.scene_text),
             "visual_scene_description": " ".join(seg.visual), "audio_description": seg.sound_text}
    hits = [name for name, text in modal.items() if text and terms & _terms(text)]
    return hits or [name for name, text in modal.items() if text]


def _sentence_for(answer: str, number: int) -> str:
    for sentence in re.split(r"(?<=[.!?])\s+", answer):
        if number in marker_numbers(sentence):
            return strip_markers(sentence)
    return strip_markers(answer)[:300]


def attribute(answer: str, segments: list[ScoredSegment], min_shared: int = 2) -> list[int]:
    """Numbers (1-based) of segments whose text shares the most answer terms; ties keep retrieval order."""
    terms = _terms(strip_markers(answer)) - META_TERMS
    if not terms:
        return []
    needed = min(min_shared, len(terms))  # a one-word answer ("3%") needs its one word
    scored = []
    for i, s in enumerate(segments):
        shared = len(terms & lexical.segment_terms(s.segment, with_filename=False))
        if shared >= needed:
            scored.append((shared, -i, i + 1))
    if not scored:
        return []
    best = max(scored)[0]
    return [n for shared, _, n in sorted(scored, reverse=True) if shared >= max(needed, best * 0.75)][:3]


def _checked_marker(number: int, answer: str, focus: str, segments: list[ScoredSegment]) -> int:
    """The segment a marker should name: the marked one, unless it holds none of what its sentence adds to
    the question while another segment holds it. The 1.5B model numbers a line of [1] as [2] at times ("the
    audio guide is on channel 9 [2]", the notice in [1]); a figure or name is where it is."""
    new = _terms(_sentence_for(answer, number)) - _terms(focus) - META_TERMS
    if not new:
        return number
    held = [len(new & lexical.segment_terms(s.segment, with_filename=False)) for s in segments]
    if held[number - 1] or not any(held):
        return number
    return max(range(len(held)), key=lambda i: held[i]) + 1


def cite(answer: str, segments: list[ScoredSegment], focus: str = "",
         fallback: list[int] | None = None) -> list[Citation]:
    """`focus`: what was asked (see `moment`). `fallback`: segment numbers to cite when the answer has no
    markers and shares no words with any segment (a translated answer: the caller matched it by meaning)."""
    if is_refusal(answer) or not segments:
        return []
    numbers = [_checked_marker(n, answer, focus, segments) for n in marker_numbers(answer) if 1 <= n <= len(segments)]
    numbers = list(dict.fromkeys(numbers))
    from_markers = bool(numbers)
    if not numbers:
        numbers = attribute(answer, segments) or [n for n in fallback or [] if 1 <= n <= len(segments)]
    out = []
    for n in numbers:
        seg = segments[n - 1].segment
        context = _sentence_for(answer, n) if from_markers else strip_markers(answer)[:300]
        start, end = moment(seg, context, focus)
        out.append(Citation(segment=seg, number=n, sources=relevant_sources(seg, answer), context=context,
                            start_time=start, end_time=end))
    return out

