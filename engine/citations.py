"""Citations: the segments an answer rests on, each with the seconds of the lines it cites.

An evidence-first answer names its lines (`engine.answering`); each cited video line belongs to a
retrieved segment, and a segment's citation spans the times of its cited lines, so "watch that moment"
starts where the fact is said or shown (a 5 s slide is not stamped with its 20 s segment). Tool results
are cited as tool results, never as video. `api.serialize` makes the wire objects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from clipcite.domain import Segment
from engine import lexical
from engine.evidence import Evidence, Line
from engine.languages import REFUSALS

# Which segment modality each kind of line comes from (Cloudglue's `relevant_sources`).
SOURCE_OF = {"said": "speech", "screen": "scene_text", "picture": "visual_scene_description",
             "sound": "audio_description"}
_REFUSAL_PATTERNS = re.compile(
    r"(do(?:es)? not contain|don't contain|not (?:mentioned|provided|stated|available|specified)|"
    r"no information|cannot (?:find|answer|determine)|can't (?:find|answer|determine)|"
    r"unable to (?:find|answer|determine)|not (?:in|found in) the (?:segments|videos))", re.I)
_MARKER = re.compile(r"\s*\[\s*\d+\s*(?:[,;]\s*\d+\s*)*\]")


@dataclass
class Citation:
    segment: Segment
    number: int
    sources: list[str] = field(default_factory=list)
    context: str = ""
    start_time: float = -1.0  # the cited lines' span (the whole segment when no line says more)
    end_time: float = -1.0

    def __post_init__(self) -> None:
        if self.start_time < 0 or self.end_time < 0:
            self.start_time, self.end_time = self.segment.start_time, self.segment.end_time


@dataclass(frozen=True)
class ToolCitation:
    tool_call_id: str
    text: str


def from_lines(lines: Sequence[Line], evidence: Evidence, answer: str) -> tuple[list[Citation], list[ToolCitation]]:
    """One citation per segment that holds cited lines, in the order the answer cites them, spanning their
    times; tool lines become tool citations."""
    video: dict[int, list[Line]] = {}
    tools: list[ToolCitation] = []
    for line in lines:
        if line.kind == "tool":
            tools.append(ToolCitation(line.source, line.text[:300]))
        elif 0 <= line.segment < len(evidence.segments):
            video.setdefault(line.segment, []).append(line)
    out = []
    for number, (index, group) in enumerate(video.items(), 1):
        seg = evidence.segments[index].segment
        out.append(Citation(segment=seg, number=number, sources=list(dict.fromkeys(SOURCE_OF[ln.kind] for ln in group)),
                            context=answer[:300], start_time=min(ln.start for ln in group),
                            end_time=max(ln.end for ln in group)))
    return out, tools


def is_refusal(answer: str) -> bool:
    text = answer.strip()
    if not text:
        return True
    low = text.lower()
    return any(r.lower().rstrip(".。") in low for r in REFUSALS.values()) or bool(_REFUSAL_PATTERNS.search(text[:300]))


def strip_markers(answer: str) -> str:
    return _MARKER.sub("", answer).strip()


def relevant_sources(seg: Segment, text: str) -> list[str]:
    """Which modalities of the segment share terms with `text` (all non-empty ones if none does)."""
    terms = set(lexical.tokens(strip_markers(text)))
    modal = {"speech": seg.speech_text, "scene_text": " ".join(seg.scene_text),
             "visual_scene_description": " ".join(seg.visual), "audio_description": seg.sound_text}
    hits = [name for name, t in modal.items() if t and terms & set(lexical.tokens(t))]
    return hits or [name for name, t in modal.items() if t]
