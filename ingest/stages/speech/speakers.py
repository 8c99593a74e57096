"""Who said it: speaker labels for speech, offline.

Resemblyzer's pretrained speaker encoder (shipped inside its wheel) embeds each utterance (long ones in
word-aligned chunks of a few seconds); average-linkage agglomerative clustering at a cosine-distance
threshold estimates the number of speakers; labels are `speaker_1`, `speaker_2`, ... in order of first
appearance. Measured on real voices (festival kal vs slt): cosine 0.82 within a voice, 0.48 across, so a
0.35 threshold separates them; espeak-ng's variants are one voice to the encoder and stay one speaker.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from clipcite.domain import SpeechSpan
from ingest.stages.speech.whisper import SAMPLE_RATE, decode
from models.loading import Lazy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiarizationOptions:
    threshold: float = 0.35  # cosine distance for average linkage
    chunk_seconds: float = 3.0  # long utterances are embedded in word-aligned chunks of about this length
    min_seconds: float = 0.6  # shorter pieces take the label of their neighbour


def cluster(embeddings: np.ndarray, threshold: float) -> list[int]:
    """Average-linkage clusters at a cosine-distance threshold, numbered by first appearance (0, 1, ...)."""
    n = len(embeddings)
    if n == 0:
        return []
    if n == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    normed = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
    raw = fcluster(linkage(pdist(normed, metric="cosine"), method="average"), t=threshold, criterion="distance")
    order: dict[int, int] = {}
    return [order.setdefault(int(c), len(order)) for c in raw]


def _pieces(span: SpeechSpan, chunk: float) -> list[tuple[float, float, SpeechSpan]]:
    """Split a long utterance at word boundaries into ~chunk-second pieces (each a SpeechSpan)."""
    if span.end - span.start <= chunk * 1.5 or not span.words:
        return [(span.start, span.end, span)]
    out, current = [], []
    for w in span.words:
        current.append(w)
        if current[-1].end - current[0].start >= chunk:
            out.append(current)
            current = []
    if current:
        if out and current[-1].end - current[0].start < chunk / 2:
            out[-1].extend(current)
        else:
            out.append(current)
    return [(ws[0].start, ws[-1].end, SpeechSpan(" ".join(w.text for w in ws), ws[0].start, ws[-1].end, tuple(ws)))
            for ws in out]


class SpeakerDiarizer:
    name = "resemblyzer"

    def __init__(self, options: DiarizationOptions = DiarizationOptions(), threads: int = 1,
                 device: str = "cpu") -> None:
        self.options = options
        self.threads = threads
        self.device = device
        self._encoder = Lazy("speakers", self._build, "pip install resemblyzer 'setuptools<80'")
        self._lock = threading.Lock()

    def _build(self):
        import torch
        from resemblyzer import VoiceEncoder

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        return VoiceEncoder(self.device, verbose=False)

    def _load(self):
        return self._encoder.get()

    def smoke(self) -> str:
        from ingest.readiness import tiny_audio

        with self._lock:
            self._load().embed_utterance(tiny_audio())
        return f"resemblyzer voice encoder on {self.device}"

    def diarize(self, path: Path, spans: list[SpeechSpan]) -> list[SpeechSpan]:
        """The same utterances (long ones split into chunks) with `speaker` set."""
        if not spans:
            return spans
        audio = decode(path)  # the speech stage's decode of this file (kept until the audio stages end)
        pieces = [p for s in spans for p in _pieces(s, self.options.chunk_seconds)]
        usable = [i for i, (a, b, _) in enumerate(pieces) if b - a >= self.options.min_seconds]
        if not usable:
            return [replace(s, speaker="speaker_1") for _, _, s in pieces]
        with self._lock:
            enc = self._load()
            embs = np.stack([enc.embed_utterance(audio[int(pieces[i][0] * SAMPLE_RATE):int(pieces[i][1] * SAMPLE_RATE)])
                             for i in usable])
        labels = dict(zip(usable, cluster(embs, self.options.threshold), strict=False))
        out: list[SpeechSpan] = []
        last = labels[usable[0]]
        for i, (_, _, piece) in enumerate(pieces):
            label = labels.get(i, last)  # too short to embed: the previous speaker's label
            last = label
            out.append(replace(piece, speaker=f"speaker_{label + 1}"))
        return out


def diarization_error_rate(truth: list[tuple[float, float, str]], hyp: list[tuple[float, float, str]],
                           step: float = 0.01) -> float:
    """Share of truth speech time whose hypothesis label is wrong after the best label mapping
    (missing speech counts as wrong). Frame-based at `step` seconds."""
    from itertools import permutations

    if not truth:
        return 0.0
    end = max(b for _, b, _ in truth)
    frames = np.arange(0, end, step)

    def label_at(segs: list[tuple[float, float, str]]) -> list[str | None]:
        out: list[str | None] = [None] * len(frames)
        for a, b, lab in segs:
            for k in range(int(a / step), min(len(frames), int(b / step))):
                out[k] = lab
        return out

    t, h = label_at(truth), label_at(hyp)
    speech = [k for k, lab in enumerate(t) if lab is not None]
    t_labels = sorted({lab for lab in t if lab})
    h_labels = sorted({lab for lab in h if lab})
    best = 0
    pad: list[str | None] = [*h_labels, *[None] * max(0, len(t_labels) - len(h_labels))]
    for perm in permutations(pad, len(t_labels)):
        mapping: dict[str | None, str | None] = dict(zip(t_labels, perm, strict=False))
        correct = sum(1 for k in speech if h[k] is not None and mapping[t[k]] == h[k])
        best = max(best, correct)
    return 1 - best / len(speech)
