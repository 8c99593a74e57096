"""Tags in the store: each point carries `tags` = {label: [values]} (its file's tags and its segment's),
written whenever a tag changes or a file is indexed, so `filter.tags` runs natively in Qdrant; and tag
search (Cloudglue's `tag_lexical` / `tag_semantic` modalities): tags matched by words or by meaning, each
standing for its segment (or every segment of its file)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from engine import lexical
from engine.catalog import Catalog, TagRecord
from engine.embedding import Embedder
from engine.scopes import file_scope, segment_scope
from engine.store import SegmentStore


def grouped(tags: Iterable[TagRecord]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for t in tags:
        if t.value not in out[t.label]:
            out[t.label].append(t.value)
    return dict(out)


def sync_payloads(catalog: Catalog, store: SegmentStore, file_id: str) -> None:
    """Every point of the file gets its file's tags, then each tagged segment its own on top."""
    tags, _ = catalog.tags.list(file_id=file_id, limit=100_000)
    file_tags = [t for t in tags if t.segment_id is None]
    store.set_payload(file_scope(file_id), {"tags": grouped(file_tags)})
    by_segment: dict[str, list[TagRecord]] = defaultdict(list)
    for t in tags:
        if t.segment_id:
            by_segment[t.segment_id].append(t)
    for segment_id, own in by_segment.items():
        store.set_payload(segment_scope(file_id, segment_id), {"tags": grouped(file_tags + own)})


def tag_scores(query: str, tags: list[TagRecord], embedder: Embedder, lexical_mode: bool,
               semantic_mode: bool) -> list[tuple[TagRecord, float]]:
    """Tags matching the query, best first: by shared words (`tag_lexical`: the share of the query's
    words in label + value) and by meaning (`tag_semantic`: the embedder's similarity of the value to the
    query, from its related floor up)."""
    scores: dict[str, float] = {}
    terms = set(lexical.tokens(query))
    if lexical_mode and terms:
        for t in tags:
            shared = len(terms & set(lexical.tokens(f"{t.label} {t.value}"))) / len(terms)
            if shared > 0:
                scores[t.id] = max(scores.get(t.id, 0.0), shared)
    if semantic_mode and tags:
        values = [t.value for t in tags]
        sims = embedder.embed_cached(values) @ embedder.embed_cached([query], persist=False, query=True)[0]
        for t, sim in zip(tags, sims.tolist(), strict=True):
            if sim >= embedder.related_floor:
                scores[t.id] = max(scores.get(t.id, 0.0), float(sim))
    by_id = {t.id: t for t in tags}
    return sorted(((by_id[i], s) for i, s in scores.items()), key=lambda x: -x[1])
