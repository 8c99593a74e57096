"""Search (Cloudglue `/search`): segments or files ranked for a query, optionally grouped by file.

Search modalities choose the indexes: `general_content` = dense embeddings of all modalities (plus the
visual-label index), `speech_lexical` = the speech BM25 index, `ocr_lexical` = the on-screen text index.
`tag_lexical` / `tag_semantic` match the catalog's tags (`engine.tags`): a tag stands for its segment, or
for every segment of its file in the searched collections. Document search has no index here and is
refused by the caller.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from clipcite.domain import ScoredSegment
from engine.catalog import Catalog
from engine.filters import Group
from engine.retrieval import RetrievalOptions, Retriever
from engine.scopes import file_scope, search_scope, segment_scope
from engine.tags import tag_scores

CONTENT_MODALITIES = ("general_content", "speech_lexical", "ocr_lexical")
TAG_MODALITIES = ("tag_lexical", "tag_semantic")
SUPPORTED_MODALITIES = CONTENT_MODALITIES + TAG_MODALITIES
MODALITY_INDEXES = {"speech_lexical": ("speech_lex",), "ocr_lexical": ("ocr_lex",),
                    "general_content": ("visual_lex",)}


@dataclass(frozen=True)
class SearchQuery:
    query: str
    collections: list[str] | None  # None: the whole library
    scope: Literal["segment", "file"] = "segment"
    limit: int = 10
    filter: Group | None = None
    threshold: float | None = None
    modalities: tuple[str, ...] = CONTENT_MODALITIES
    labels: tuple[str, ...] = ()  # label_filters: only tags with these labels take part in tag search


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
    def __init__(self, retriever: Retriever, catalog: Catalog | None = None) -> None:
        self.retriever = retriever
        self.catalog = catalog

    def segments(self, q: SearchQuery) -> list[ScoredSegment]:
        hits: list[ScoredSegment] = []
        if any(m in CONTENT_MODALITIES for m in q.modalities):
            hits = self.retriever.retrieve(q.query, q.collections, q.filter, options_for(q.modalities, q.limit))
        if any(m in TAG_MODALITIES for m in q.modalities):
            hits = self._with_tags(q, hits)
        if q.threshold is not None:
            hits = [h for h in hits if h.score >= q.threshold]
        return hits

    def _with_tags(self, q: SearchQuery, hits: list[ScoredSegment]) -> list[ScoredSegment]:
        """Segments of the matching tags merged with the content hits (a segment keeps its best score)."""
        assert self.catalog is not None, "tag search needs the catalog"
        tags, _ = self.catalog.tags.list(limit=10_000, labels=list(q.labels) or None)
        matched = tag_scores(q.query, tags, self.retriever.embedder, "tag_lexical" in q.modalities,
                             "tag_semantic" in q.modalities)
        best: dict[str, ScoredSegment] = {h.segment.segment_id: h for h in hits}
        store = self.retriever.store
        for tag, score in matched[:q.limit * 4]:
            scope = segment_scope(tag.file_id, tag.segment_id) if tag.segment_id else file_scope(tag.file_id)
            where = Group(must=[scope, *([q.filter] if q.filter else [])])
            for seg in store.segments(search_scope(q.collections, where)):
                known = best.get(seg.segment_id)
                if known is None or known.score < score:
                    best[seg.segment_id] = ScoredSegment(seg, score, (tag.id, tag.label, tag.value))
        return sorted(best.values(), key=lambda h: -h.score)[:q.limit]

    def files(self, q: SearchQuery, per_file_pool: int = 50) -> list[FileHit]:
        """Files ranked by their best segment; each keeps its matching segments (best first)."""
        pool = SearchQuery(q.query, q.collections, "segment", max(per_file_pool, q.limit * 5), q.filter, q.threshold,
                           q.modalities, q.labels)
        grouped: dict[tuple[str, str], list[ScoredSegment]] = defaultdict(list)
        for h in self.segments(pool):
            grouped[(h.segment.collection_id, h.segment.file_id)].append(h)
        files = [FileHit(c, f, max(s.score for s in segs), segs) for (c, f), segs in grouped.items()]
        files.sort(key=lambda f: f.score, reverse=True)
        return files[: q.limit]
