"""Narrative segmentation: chapters that follow the video's topics, with boundaries on its scene cuts.

The candidate boundaries are the shot cuts (`ingest.shots`) and the keyframes whose description changed, so
a chapter never starts mid-shot. Each shot's words (speech and on-screen text) are embedded; the
chapters are cut where neighbouring shots say the least similar things, as many as asked
(`number_of_chapters`, or within `min_chapters`..`max_chapters`; by default about one a minute). A cut
that falls inside an utterance moves to the utterance's nearer end when that is close, so no chapter
starts mid-sentence. Chapter descriptions are written by the chat model when the segmentation is read
(the ingest worker holds no chat model): see the API's narrative chapters.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from clipcite.domain import TimeRange
from engine.embedding import Embedder
from ingest.analysis import FileAnalysis

log = logging.getLogger(__name__)

MIN_SHOT = 3.0  # shorter shots join their neighbour: too little said to place a topic
SNAP = 1.5  # seconds a cut may move to an utterance boundary


def shot_texts(analysis: FileAnalysis, shots: list[TimeRange]) -> list[str]:
    out = []
    for r in shots:
        said = [s.text for s in analysis.speech if r.contains((s.start + s.end) / 2)]
        shown = list(dict.fromkeys(line for t in analysis.texts if t.start < r.end and t.end > r.start
                                   for line in t.lines))
        out.append(" ".join(said + shown))
    return out


def _shots(cuts: list[float], start: float, end: float) -> list[TimeRange]:
    """Shots between the cuts; cuts closer than MIN_SHOT to the previous one are dropped (the same cut
    seen by two detectors, or a flash)."""
    bounds = [start] + [c for c in sorted(set(cuts)) if start + MIN_SHOT <= c <= end - MIN_SHOT] + [end]
    merged = [bounds[0]]
    for b in bounds[1:-1]:
        if b - merged[-1] >= MIN_SHOT:
            merged.append(b)
    merged.append(end)
    return [TimeRange(a, b) for a, b in zip(merged, merged[1:], strict=False)]


def chapter_count(duration: float, shots: int, number: int | None, low: int | None, high: int | None) -> int:
    want = number if number is not None else max(2, math.ceil(duration / 60))
    want = max(want, low or 1)
    want = min(want, high or 12, shots)
    return max(1, want)


def _snap(cut: float, analysis: FileAnalysis) -> float:
    for s in analysis.speech:
        if s.start < cut < s.end:
            nearer = s.start if cut - s.start < s.end - cut else s.end
            return nearer if abs(nearer - cut) <= SNAP else cut
    return cut


def narrative_ranges(analysis: FileAnalysis, cuts: list[float], embedder: Embedder, start: float, end: float,
                     number: int | None = None, low: int | None = None, high: int | None = None) -> list[TimeRange]:
    shots = _shots(cuts, start, end)
    k = chapter_count(end - start, len(shots), number, low, high)
    if k <= 1 or len(shots) <= 1:
        return [TimeRange(round(start, 3), round(end, 3))]
    texts = shot_texts(analysis, shots)
    said = [i for i, t in enumerate(texts) if t.strip()]
    found = embedder.embed_cached([texts[i] for i in said]) if said else np.zeros((0, 1), np.float32)
    vecs = np.zeros((len(shots), found.shape[1]), dtype=np.float32)
    vecs[said] = found
    # A silent, textless shot is unlike everything: the cut before it is as good as any.
    sims = [float(vecs[i] @ vecs[i + 1]) for i in range(len(shots) - 1)]
    chosen = sorted(sorted(range(len(sims)), key=lambda i: sims[i])[:k - 1])
    bounds = [start] + [_snap(shots[i].end, analysis) for i in chosen] + [end]
    log.info("narrative: %d shots -> %d chapters (cuts at %s)", len(shots), k, [round(b, 1) for b in bounds[1:-1]])
    return [TimeRange(round(a, 3), round(b, 3)) for a, b in zip(bounds, bounds[1:], strict=False) if b - a > 0.05]
