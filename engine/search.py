"""Search (Cloudglue `/search`): segments or files ranked for a query, optionally grouped by file.

Search modalities choose the indexes: `general_content` = dense embeddings of all modalities (plus the
visual-label index), `speech_lexical` = the speech BM25 index, `ocr_lexical` = the on-screen text index.
Tag and document modalities have no index here and are refused by the caller.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from clipcite.domain import ScoredSegment
from engine.filters import Group
from engine.retrieval import RetrievalOptions, Retriever

SUPPORTED_MODALITIES = ("general_content", "speech_lexical", "ocr_lexical")
MODALITY_INDEXES = {"speech_lexical": ("speech_lex",), "ocr_lexical": ("ocr_lex",),
                    "general_content": ("visual_lex",)}


@dataclass(frozen=True)
class SearchQuery:
    query: str
    collections: list[str]
    scope: Literal["segment", "file"] = "segment"
    limit: int = 10
    filter: Group | None = None
    threshold: float | None = None
    modalities: tuple[str, ...] = SUPPORTED_MODALITIES


@dataclass
class FileHit:
    collection_id: str
    file_id: str
    score: float
    segments: list[ScoredSegment]


def options_for(modalities: tuple[str, ...], limit: int) -> RetrievalOptions:
    lexical = tuple(dict.fromkeys(i for m in modalities for i in MODALITY_INDEXES.get(m, ())))
    return RetrievalOptions(limit=limit, dense="general_content" in modalities, lexical=lexical,
                            candidates=max(20, limit))


class SearchService:
    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def segments(self, q: SearchQuery) -> list[ScoredSegment]:
        hits = self.retriever.retrieve(q.query, q.collections, q.filter, options_for(q.modalities, q.limit))
        if q.threshold is not None:
            hits = [h for h in hits if h.score >= q.threshold]
        return hits

    def files(self, q: SearchQuery, per_file_pool: int = 50) -> list[FileHit]:
        """Files ranked by their best segment; each keeps its matching segments (best first)."""
        pool = SearchQuery(q.query, q.collections, "segment", max(per_file_pool, q.limit * 5), q.filter, q.threshold,
                           q.modalities)
        grouped: dict[tuple[str, str], list[ScoredSegment]] = defaultdict(list)
        for h in self.segments(pool):
            grouped[(h.segment.collection_id, h.segment.file_id)].append(h)
        files = [FileHit(c, f, max(s.score for s in segs), segs) for (c, f), segs in grouped.items()]
        files.sort(key=lambda f: f.score, reverse=True)
        return files[: q.limit]
