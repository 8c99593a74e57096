"""Payload migrations run at start-up, so data indexed by an older release keeps answering every filter.

Why not re-index: re-running the models costs minutes per video; the payload already holds everything
the new fields are derived from.
"""

from __future__ import annotations

import logging

from engine.catalog import Catalog
from engine.filters import TEXT_PREFIX, TEXT_START, Group, Substring
from engine.payload import text_mirror_write
from engine.scopes import segment_scope
from engine.store import SegmentStore

log = logging.getLogger(__name__)


def run_migrations(catalog: Catalog, store: SegmentStore) -> None:
    """Each migration once per data dir: checking needs a filtered count over the whole store (1.2 s at
    50k segments), too much to repeat at every start."""
    if not catalog.stored.migration_done("text_mirror"):
        backfill_text_mirror(store)
        catalog.stored.mark_migration("text_mirror")


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
