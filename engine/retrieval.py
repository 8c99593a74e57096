"""Retrieval: hybrid dense + lexical search over a collection scope and the caller's filters.

Dense (MiniLM) and three sparse lexical indexes (speech, on-screen text, visual labels), plus CLIP
text-to-image when configured, are fused with RRF inside Qdrant; filters run inside the store, so top-k
is always taken among matching segments. The fused candidates are then reranked: lexically by default,
by a user-supplied cross-encoder when one is configured.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from clipcite.domain import ScoredSegment, Segment
from engine import languages, lexical
from engine.embedding import Embedder
from engine.filters import Group
from engine.scopes import search_scope
from engine.store import Hit, HybridQuery, SegmentStore
from models.loading import Lazy, require_file

log = logging.getLogger(__name__)


LEXICAL_INDEXES = ("speech_lex", "ocr_lex", "visual_lex")


@dataclass(frozen=True)
class RetrievalOptions:
    limit: int = 6
    prefetch: int = 40
    dense: bool = True
    lexical: tuple[str, ...] = LEXICAL_INDEXES  # which sparse indexes join the fusion
    rerank: bool = True
    candidates: int = 20  # fused hits the reranker looks at
    image: tuple[float, ...] | None = None  # an image sent with the question, as a CLIP vector: searched
    # against the keyframe vectors instead of the question's text


def coverage(query_terms: set[str], seg_terms: set[str], weights: dict[str, float] | None = None) -> float:
    """Weighted share of the question's terms that the segment contains (5-letter prefix match for stems)."""
    if not query_terms:
        return 0.0
    weights = weights or {}
    total = sum(weights.get(t, 1.0) for t in query_terms)
    return sum(weights.get(t, 1.0) for t in query_terms if lexical.has_term(t, seg_terms)) / total


def _ranked(scored: list[tuple[float, int, ScoredSegment]]) -> list[ScoredSegment]:
    """(score, -fused rank, hit) triples, best first; ties keep the fused order."""
    ranked = sorted(scored, key=lambda x: x[:2], reverse=True)
    return [ScoredSegment(h.segment, round(score, 4)) for score, _, h in ranked]


def rerank(query: str, hits: list[ScoredSegment], weight: float = 1.0) -> list[ScoredSegment]:
    """Local lexical reranker: fused rank plus how much of the question each segment covers in any
    modality (speech, on-screen text, picture labels), each term weighted by its rarity among the
    candidates. RRF alone lets a segment matching a common word ("shown") in three indexes outrank
    the one holding the rare word the question is about ("horse")."""
    import math

    terms = set(lexical.tokens(query))
    seg_terms = [lexical.segment_terms(h.segment) for h in hits]
    n = max(1, len(hits))
    weights = {t: math.log(1 + n / (1 + sum(lexical.has_term(t, st) for st in seg_terms))) for t in terms}
    scored = []
    for rank, (h, st) in enumerate(zip(hits, seg_terms, strict=False)):
        score = 0.15 / (1 + rank) + weight * coverage(terms, st, weights)
        scored.append((score, -rank, h))
    return _ranked(scored)


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, hits: list[ScoredSegment]) -> list[ScoredSegment]: ...


class LexicalReranker:
    """The default: `rerank` above (no model)."""

    name = "lexical"

    def rerank(self, query: str, hits: list[ScoredSegment]) -> list[ScoredSegment]:
        return rerank(query, hits)


def rerank_text(seg: Segment, max_chars: int = 1500) -> str:
    """What a cross-encoder reads of a segment: every modality with its label, cut to its input size."""
    return "\n".join(seg.modality_lines("speech: ", "on screen: ", "visual: "))[:max_chars]


class CrossEncoderReranker:
    """A user-supplied cross-encoder (sentence-transformers `CrossEncoder` directory, e.g. an MS MARCO
    MiniLM): scores each (question, segment) pair jointly, which an embedding cannot. No cross-encoder
    ships in a reachable registry, so this loads only a local path; the lexical reranker's coverage is
    added at `lexical_weight` so an exact code ("4471") still counts when the model's vocabulary splits it."""

    name = "cross-encoder"

    def __init__(self, model_path: Path, device: str = "cpu", threads: int = 1, lexical_weight: float = 0.5) -> None:
        self.model_path = require_file(model_path, "cross-encoder directory (CLIPCITE_RERANKER_MODEL)")
        self.device = device
        self.threads = threads
        self.lexical_weight = lexical_weight
        self._model = Lazy("reranker", self._build, "pip install sentence-transformers")
        self._lock = threading.Lock()

    def _build(self):
        import torch
        from sentence_transformers import CrossEncoder

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        return CrossEncoder(str(self.model_path), device=self.device, local_files_only=True)

    def _load(self):
        return self._model.get()

    def rerank(self, query: str, hits: list[ScoredSegment]) -> list[ScoredSegment]:
        import math

        if not hits:
            return hits
        with self._lock:
            raw = self._load().predict([(query, rerank_text(h.segment)) for h in hits], show_progress_bar=False,
                                       convert_to_numpy=True)
        scores = [float(s) for s in (raw if raw.ndim == 1 else raw[:, -1])]
        squashed = [1 / (1 + math.exp(-s)) if not 0.0 <= s <= 1.0 else s for s in scores]  # logits -> 0..1
        terms = set(lexical.tokens(query))
        scored = []
        for rank, (h, s) in enumerate(zip(hits, squashed, strict=False)):
            cov = coverage(terms, lexical.segment_terms(h.segment)) if self.lexical_weight else 0.0
            scored.append((s + self.lexical_weight * cov, -rank, h))
        return _ranked(scored)


class TextToImage(Protocol):
    def embed_texts(self, texts: list[str]): ...


class Retriever:
    """`image_encoder` (a CLIP model, when configured) adds a text-to-image search of the segments'
    keyframe vectors to the fusion; it joins only when the store holds image vectors."""

    def __init__(self, store: SegmentStore, embedder: Embedder, reranker: Reranker | None = None,
                 image_encoder: TextToImage | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker or LexicalReranker()
        self.image_encoder = image_encoder

    def build_query(self, text: str, opts: RetrievalOptions) -> HybridQuery:
        dense = self.embedder.embed_cached([text], persist=False, query=True)[0].tolist() if opts.dense else None
        qv = lexical.query_vector(text)
        sparse = {name: qv for name in opts.lexical}
        image = None
        if opts.image is not None and self.store.has_image:
            image = list(opts.image)
        elif opts.dense and self.image_encoder is not None and self.store.has_image:
            image = self.image_encoder.embed_texts([text])[0].tolist()
        return HybridQuery(dense=dense, sparse=sparse, limit=opts.limit, prefetch_limit=opts.prefetch, image=image)

    @staticmethod
    def _crosses_languages(text: str, hits: list[Hit]) -> bool:
        """The question is in one language and the best matches are spoken in another (both known)."""
        asked = languages.detect(text)
        spoken = [h.payload.get("video_info", {}).get("language") for h in hits[:3]]
        spoken = [s for s in spoken if s]
        return bool(asked and spoken) and all(s != asked for s in spoken)

    def retrieve(self, text: str, collections: list[str] | None, flt: Group | None = None,
                 opts: RetrievalOptions = RetrievalOptions(), file_ids: list[str] | None = None) -> list[ScoredSegment]:
        q = self.build_query(text, opts)
        if opts.rerank:
            q.limit = max(opts.limit, opts.candidates)
        scope = search_scope(collections, flt, file_ids)
        hits = self.store.query(q, scope)
        if q.dense is not None and q.sparse and self._crosses_languages(text, hits):
            # Words of one language find only noise in another's text (an English question's "room" in
            # another video's slide), and rank fusion lets that noise outvote the one list that crosses
            # languages: the dense vectors alone decide (multilingual corpus: recall@1 0.75 -> see README).
            hits = self.store.query(replace(q, sparse={}), scope)
        out = [ScoredSegment(h.segment, h.score) for h in hits]
        if opts.rerank:
            out = self.reranker.rerank(text, out)
        return out[: opts.limit]
