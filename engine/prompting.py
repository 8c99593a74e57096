"""Prompt building: a fixed system prefix (its KV cache is reused across requests) and numbered
segments, compact enough for ~40 prompt tokens/s on a 2-core CPU."""

from __future__ import annotations

import re
from pathlib import Path

from clipcite.domain import ScoredSegment, Segment
from engine.lexical import join_spoken_numbers

REFUSAL = "The videos do not contain this information."

SYSTEM_PROMPT = (
    "Answer the user's question from the video segments provided. Segments are numbered; cite the ones "
    "you use like [1]. Speech is a transcript, so numbers can be written as words. Answer with the specific "
    "facts the segments state, in one or two short sentences. If the segments contain nothing that answers "
    "the question, say: " + REFUSAL
)


# With tools on offer the refusal rule must not win over a request that a tool serves.
TOOLS_SYSTEM_PROMPT = (
    "You are a helpful assistant. Questions about the videos are answered from the numbered segments, citing "
    "them like [1]; if the segments do not answer, say: " + REFUSAL + " Call a function only when the user asks "
    "for exactly what it does."
)


def without_colours(description: str) -> str:
    """The description minus its colour clause. Prompts leave colours out: a small model turned
    "colours: navy" into "the manager's favourite colour is navy"; the index keeps them for search."""
    return re.sub(r"(?:^|;\s*)(?:(?:dark|bright) )?colours: [^;]*", "", description).strip("; ")


def fmt_time(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def render_segment(n: int, seg: Segment, char_budget: int, speech: str | None = None) -> str:
    """`speech` replaces the full transcript with the sentences picked for the question."""
    name = Path(seg.file_info.get("filename") or seg.file_id).name
    lines = [f"[{n}] {name} {fmt_time(seg.start_time)}-{fmt_time(seg.end_time)}"]
    speech = seg.labelled_speech() if speech is None else speech
    if speech:
        lines.append("speech: " + _clip(join_spoken_numbers(speech), char_budget))
    if seg.scene_text:
        lines.append("on screen: " + _clip(" | ".join(seg.scene_text), char_budget // 2))
    visual = "; ".join(v for v in (without_colours(d) for d in seg.visual) if v)
    if visual:
        lines.append("picture (automatic labels): " + _clip(visual, char_budget // 3))
    return "\n".join(lines)


def build_user_message(question: str, segments: list[ScoredSegment], char_budget: int = 600,
                       speech: dict[int, str] | None = None) -> str:
    if not segments:
        body = "(no segments matched)"
    else:
        speech = speech or {}
        body = "\n\n".join(render_segment(i + 1, s.segment, char_budget, speech.get(i)) for i, s in enumerate(segments))
    return f"{body}\n\nQuestion: {question}"


def pick_sentences(parts: list[str], sims: list[float], keep: int = 2, floor: float = 0.3) -> str:
    """The utterances of a segment that matter for the question, in time order: the `keep` most
    similar ones plus any above `floor`. Fewer prompt tokens (~40 tokens/s on a 2-core CPU) and less
    for a small model to be distracted by."""
    if len(parts) <= keep:
        return " ".join(parts)
    ranked = sorted(range(len(parts)), key=lambda i: -sims[i])
    chosen = set(ranked[:keep]) | {i for i in ranked if sims[i] >= floor}
    return " … ".join(parts[i] for i in sorted(chosen))
