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
from engine.answer_types import asks_about_screen
from engine.generation import GenerationParams, TextGenerator
from engine.prompting import build_user_message

log = logging.getLogger(__name__)

EXTRACT_PROMPT = ("Below are numbered video segments and a question. Copy the one line from the segments that "
                  "answers the question, exactly as written, starting with its segment number like [1]. If no "
                  "line answers it, reply NONE.")


@dataclass(frozen=True)
class Extracted:
    number: int  # 1-based segment number
    line: str

    def answer(self) -> str:
        return f"{self.line.strip().rstrip('.')} [{self.number}]."


def locate(reply: str, segments: list[ScoredSegment], min_share: float = 0.7, screen_only: bool = False
           ) -> Extracted | None:
    """The segment line the reply copied: most of the reply's terms in one utterance or on-screen line.
    A reply that copies nothing (a paraphrase, an invention, NONE) locates nowhere."""
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
            share = len(terms & set(lexical.tokens(line))) / len(terms)
            if share >= min_share and (best is None or share > best[0]):
                best = (share, n, line)
    return Extracted(best[1], best[2]) if best else None


def extract(generator: TextGenerator, question: str, segments: list[ScoredSegment], char_budget: int,
            speech: dict[int, list[SpeechPart]] | None = None, max_segments: int = 3) -> Extracted | None:
    """Ask for the answering line among the best `max_segments` segments; None when there is none."""
    shown = segments[:max_segments]
    if not shown:
        return None
    if asks_about_screen(question):  # the line to copy is a shown one: speech pointing at it only distracts
        speech = {i: [] for i in range(len(shown))}  # numbering stays that of the answer's segments
    messages = [{"role": "system", "content": EXTRACT_PROMPT},
                {"role": "user", "content": build_user_message(question, shown, char_budget, speech)}]
    gen = generator.chat(messages, GenerationParams(max_tokens=60, temperature=0.0))
    found = locate(gen.text, shown, screen_only=asks_about_screen(question))
    log.info("extractive retry after a refusal: %r -> %s", gen.text[:120], found)
    return found
