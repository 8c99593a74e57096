"""Putting media into the library: register a file (probe + catalog row) and queue it into a collection.

Shared by the HTTP routes (uploads) and `clipcite index` (files indexed where they lie), so both follow
the same rules: unreadable media is kept as a `failed` file with its reason, re-adding an unchanged file
is a no-op, and a changed segmentation or metadata re-queues it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from clipcite.errors import MediaError, NotFound
from engine.catalog import Catalog, CollectionFileRecord, CollectionRecord, FileRecord, new_id, now_ms
from ingest.probe import probe
from ingest.segment import SegmentationConfig

log = logging.getLogger(__name__)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def register_file(catalog: Catalog, path: Path, filename: str, size: int, sha256: str, metadata: dict[str, Any],
                  file_id: str | None = None) -> FileRecord:
    """Probe and record; unreadable media is kept as a `failed` file with its reason."""
    file_id = file_id or new_id()
    try:
        info = probe(path)
        status, error, video_info = "completed", None, info.__dict__.copy()
    except MediaError as exc:
        status, error, video_info = "failed", exc.message, None
        log.info("file %s (%s) is not usable media: %s", file_id, filename, exc.message)
    rec = FileRecord(id=file_id, filename=filename, path=str(path), bytes=size, sha256=sha256, created_at=now_ms(),
                     metadata=metadata, video_info=video_info, status=status, error=error)
    return catalog.add_file(rec)


def find_or_register(catalog: Catalog, path: Path, filename: str, metadata: dict[str, Any]) -> tuple[FileRecord, bool]:
    """The file with this content if the catalog has one (whatever its name or place), else a new record
    for `path`; returns (record, is_new). The metadata applies only to a new record."""
    sha = sha256_of(path)
    known = catalog.find_file_by_sha256(sha)
    if known is not None:
        return known, False
    return register_file(catalog, path, filename, path.stat().st_size, sha, metadata), True


def add_to_collection(catalog: Catalog, coll: CollectionRecord, frec: FileRecord, cfg: SegmentationConfig,
                      metadata: dict[str, Any] | None = None) -> tuple[CollectionFileRecord, bool]:
    """Queue `frec` into `coll`; returns (record, queued). Nothing is queued when the file is already there
    with the same segmentation and metadata (completed or on its way)."""
    existing = None
    try:
        existing = catalog.get_collection_file(coll.id, frec.id)
    except NotFound:  # first add
        pass
    if existing and existing.status in ("pending", "processing") and existing.segmentation_config == cfg.to_wire():
        return existing, False
    if existing and existing.status == "completed" and existing.segmentation_config == cfg.to_wire() \
            and (metadata or {}) == existing.metadata:
        return existing, False
    status = "pending" if frec.status == "completed" else "failed"
    cf = CollectionFileRecord(collection_id=coll.id, file_id=frec.id, added_at=now_ms(), status=status,
                              segmentation_id=new_id(), segmentation_config=cfg.to_wire(),
                              metadata=metadata or {}, error=frec.error if status == "failed" else None)
    catalog.upsert_collection_file(cf)
    if status == "pending":
        catalog.enqueue_job(coll.id, frec.id)
    return cf, status == "pending"
