"""Retrieval: hybrid dense + lexical search over a collection scope and the caller's filters.

Dense (MiniLM) and three sparse lexical indexes (speech, on-screen text, visual labels) are fused
with RRF inside Qdrant; filters run inside the store, so top-k is always taken among matching segments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clipcite.domain import ScoredSegment, Segment
from engine import lexical
from engine.filters import Group, Match
from engine.store import HybridQuery, SegmentStore
from ingest.embed import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalOptions:
    limit: int = 6
    prefetch: int = 40
    dense: bool = True
    lexical: bool = True


def scope_filter(collections: list[str], flt: Group | None, file_ids: list[str] | None = None) -> Group:
    scope = Group(must=[Match("collection_id", tuple(collections))])
    if file_ids:
        scope.must.append(Match("file_id", tuple(file_ids)))
    if flt is not None and not flt.is_empty():
        scope.must.append(flt)
    return scope


class Retriever:
    def __init__(self, store: SegmentStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def build_query(self, text: str, opts: RetrievalOptions) -> HybridQuery:
        dense = self.embedder.embed([text])[0].tolist() if opts.dense else None
        sparse = {}
        if opts.lexical:
            qv = lexical.query_vector(text)
            sparse = {"speech_lex": qv, "ocr_lex": qv, "visual_lex": qv}
        return HybridQuery(dense=dense, sparse=sparse, limit=opts.limit, prefetch_limit=opts.prefetch)

    def retrieve(self, text: str, collections: list[str], flt: Group | None = None,
                 opts: RetrievalOptions = RetrievalOptions(), file_ids: list[str] | None = None) -> list[ScoredSegment]:
        hits = self.store.query(self.build_query(text, opts), scope_filter(collections, flt, file_ids))
        return [ScoredSegment(Segment.from_payload(h.payload), h.score) for h in hits]
