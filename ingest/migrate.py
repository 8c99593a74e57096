"""Payload migrations run at start-up, so data indexed by an older release keeps answering every filter.

Why not re-index: re-running the models costs minutes per video; the payload already holds everything
the new fields are derived from.
"""

from __future__ import annotations

import logging

from engine import lexical
from engine.catalog import Catalog
from engine.embedding import Embedder
from engine.filters import TEXT_PREFIX, TEXT_START, Group, Substring
from engine.payload import text_mirror_write
from engine.scopes import file_scope, segment_scope
from engine.store import SegmentStore
from ingest.indexing import to_points

log = logging.getLogger(__name__)


VECTORS = "vectors:"
# What built the vectors of a data dir that predates this record: every earlier release used these.
LEGACY_VECTORS = f"{VECTORS}all-minilm-l6-v2|lexical-1"


def vectors_state(embedder: Embedder) -> str:
    return f"{VECTORS}{embedder.name}|lexical-{lexical.VERSION}"


def run_migrations(catalog: Catalog, store: SegmentStore, embedder: Embedder | None = None) -> None:
    """Each migration once per data dir: checking needs a filtered count over the whole store (1.2 s at
    50k segments), too much to repeat at every start."""
    if not catalog.stored.migration_done("text_mirror"):
        backfill_text_mirror(store)
        catalog.stored.mark_migration("text_mirror")
    if embedder is not None:
        refresh_text_vectors(catalog, store, embedder)


def refresh_text_vectors(catalog: Catalog, store: SegmentStore, embedder: Embedder) -> int:
    """Rebuild every point's dense and lexical vectors when the embedding model or the tokenizer differs
    from the one that built them (both MiniLM and e5-small are 384-d: mixing their vectors would not fail,
    it would silently return nonsense). Payloads and keyframe image vectors stay; no model but the
    embedder runs. Returns how many segments were re-embedded."""
    wanted = vectors_state(embedder)
    recorded = catalog.stored.migrations_like(VECTORS)
    built = recorded[-1] if recorded else LEGACY_VECTORS
    total = 0 if built == wanted else store.count()
    if not total:  # nothing to redo: the vectors were built this way, or there are none yet
        if not recorded or recorded[-1] != wanted:
            catalog.stored.replace_migrations(VECTORS, wanted)
        return 0
    log.warning("the %d indexed segments were embedded with %s; re-embedding them for %s (once)",
                total, built.removeprefix(VECTORS), wanted.removeprefix(VECTORS))
    done = 0
    for file_id in sorted(store.file_ids(None)):
        hits = store.scroll(file_scope(file_id), limit=1_000_000)
        segments = [h.segment for h in hits]
        filename = str(segments[0].file_info.get("filename") or "") if segments else None
        points = to_points(segments, embedder, filename or None)
        for hit, point in zip(hits, points, strict=True):
            point.id = hit.id
        store.update_vectors(points)
        done += len(points)
        log.info("re-embedded %d / %d segments", done, total)
    catalog.stored.replace_migrations(VECTORS, wanted)
    return done


def backfill_text_mirror(store: SegmentStore, batch: int = 500) -> int:
    """Write the `_lc` mirror (used by the Like operator) on segments stored before it existed.

    Returns how many segments were updated; a store that has it everywhere costs one count query."""
    missing = Group(must_not=[Substring(f"{TEXT_PREFIX}.file_id", TEXT_START)])
    total = store.count(missing)
    if not total:
        return 0
    log.info("adding the Like filter mirror to %d segments indexed by an older release", total)
    done = 0
    while hits := store.scroll(missing, limit=batch):
        for h in hits:
            payload, key = text_mirror_write(h.payload)
            store.set_payload(segment_scope(h.segment.file_id, h.segment.segment_id), payload, key=key)
        done += len(hits)
        if done >= total:  # never loop on points that cannot take the mirror
            break
    log.info("Like filter mirror added to %d segments", done)
    return done
