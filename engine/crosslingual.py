"""Checking an answer written in another language than the segments it comes from.

Why a separate check: the lexical grounding test counts the answer's words found in the segments, and a
Spanish answer to a question about an English talk (or an English answer about a German one) shares
almost none. Three things still tell a read answer from an invented one: every figure it states is in a
segment (words can be translated, numbers cannot), the names and figures it states are there, or one
utterance or on-screen line says the same in its own language (cross-lingual embedding similarity).
"""

from __future__ import annotations

import logging

import numpy as np

from clipcite.domain import ScoredSegment
from engine import languages
from engine.embedding import Embedder
from engine.grounding import codes, fold, names, numbers

log = logging.getLogger(__name__)


class CrossLingualCheck:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @staticmethod
    def translated(text: str, segments: list[ScoredSegment], asked: str) -> bool:
        """The text is in another language than its best segment is spoken in (`asked`: the language the
        text was requested in, when its own is unclear)."""
        said = segments[0].segment.video_info.get("language") or languages.detect(segments[0].segment.speech_text)
        answered = languages.detect(text) or asked
        return bool(said) and said != answered

    def supported(self, text: str, question: str, segments: list[ScoredSegment]) -> bool:
        """Every figure in a segment (numbers survive translation), and the names and codes it states all in
        a segment (at least one), or the meaning matched."""
        context = " ".join(s.segment.speech_text + " " + " ".join(s.segment.scene_text) for s in segments)
        if numbers(text) - numbers(question) - numbers(context) - numbers(context, languages.detect(context)):
            return False
        anchors = (codes(text) | names(text)) - codes(question) - names(question)
        folded = fold(context)
        return (bool(anchors) and all(a in folded for a in anchors)) or self.same_meaning(text, segments)

    def closest(self, text: str, segments: list[ScoredSegment]) -> list[int] | None:
        """The segment (1-based) whose utterance or line is nearest the text in meaning."""
        best = self.meaning_match(text, segments)
        return [best[1]] if best is not None else None

    def meaning_match(self, text: str, segments: list[ScoredSegment]) -> tuple[float, int] | None:
        """(best similarity, its segment number) of the text against every utterance, on-screen line and
        whole segment; None when the embedder cannot compare languages or there is nothing to compare."""
        if self.embedder.same_meaning_floor is None:
            return None
        owners, units = [], []
        for n, s in enumerate(segments, 1):
            for u in [p.text for p in s.segment.speech] + list(s.segment.scene_text) + [s.segment.speech_text]:
                if u:
                    owners.append(n)
                    units.append(u)
        if not units:
            return None
        vecs = self.embedder.embed_cached([text] + units, persist=False)
        sims = vecs[1:] @ vecs[0]
        i = int(np.argmax(sims))
        return float(sims[i]), owners[i]

    def same_meaning(self, text: str, segments: list[ScoredSegment]) -> bool:
        """One utterance, on-screen line or whole segment says the same in its own language (e5-small put
        translations at 0.87-0.94 and the same sentence with another figure at 0.82-0.84). An English-only
        embedder cannot judge: it supports nothing, so strict grounding refuses rather than passes."""
        match = self.meaning_match(text, segments)
        floor = self.embedder.same_meaning_floor
        if match is None or floor is None:
            return False
        log.info("translated text, best same-meaning similarity %.3f (floor %.2f)", match[0], floor)
        return match[0] >= floor
