"""Putting media into the library: register a file (probe + catalog row) and queue it into a collection.

Shared by the HTTP routes (uploads) and `clipcite index` (files indexed where they lie), so both follow
the same rules: unreadable media is kept as a `failed` file with its reason, re-adding an unchanged file
is a no-op, and a changed segmentation or metadata re-queues it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import MediaError, NotFound
from engine.catalog import (
    Catalog,
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    MediaStatus,
    new_id,
    now_ms,
)
from engine.scopes import scope_of
from engine.store import SegmentStore
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
                  file_id: str | None = None, allow_partial: bool = False) -> FileRecord:
    """Probe and record; unreadable media is kept as a `failed` file with its reason, and so is a truncated
    one unless `allow_partial` (then its `video_info.warnings` say what is missing)."""
    file_id = file_id or new_id()
    try:
        video_info: VideoInfo | None = probe(path, allow_partial=allow_partial)
        status, error = MediaStatus.USABLE, None
    except MediaError as exc:
        status, error, video_info = MediaStatus.UNUSABLE, exc.message, None
        log.info("file %s (%s) is not usable media: %s", file_id, filename, exc.message)
    rec = FileRecord(id=file_id, filename=filename, path=str(path), bytes=size, sha256=sha256, created_at=now_ms(),
                     metadata=metadata, video_info=video_info, status=status, error=error)
    return catalog.library.add_file(rec)


def find_or_register(catalog: Catalog, path: Path, filename: str, metadata: dict[str, Any],
                     allow_partial: bool = False) -> tuple[FileRecord, bool]:
    """The file with this content if the catalog has one (whatever its name or place), else a new record
    for `path`; returns (record, is_new). The metadata applies only to a new record."""
    sha = sha256_of(path)
    known = catalog.library.find_file_by_sha256(sha)
    if known is not None:
        return known, False
    return register_file(catalog, path, filename, path.stat().st_size, sha, metadata,
                         allow_partial=allow_partial), True


def add_to_collection(catalog: Catalog, coll: CollectionRecord, frec: FileRecord, cfg: SegmentationConfig,
                      metadata: dict[str, Any] | None = None) -> tuple[CollectionFileRecord, bool]:
    """Queue `frec` into `coll`; returns (record, queued). Nothing is queued when the file is already there
    with the same segmentation and metadata (completed or on its way)."""
    existing = None
    with contextlib.suppress(NotFound):  # first add
        existing = catalog.library.get_collection_file(coll.id, frec.id)
    if existing and existing.status.busy and existing.segmentation_config == cfg.to_wire():
        return existing, False
    if existing and existing.status == IndexStatus.COMPLETED and existing.segmentation_config == cfg.to_wire() \
            and (metadata or {}) == existing.metadata:
        return existing, False
    usable = frec.status == MediaStatus.USABLE
    status = IndexStatus.PENDING if usable else IndexStatus.FAILED
    cf = CollectionFileRecord(collection_id=coll.id, file_id=frec.id, added_at=now_ms(), status=status,
                              segmentation_id=new_id(), segmentation_config=cfg.to_wire(),
                              metadata=metadata or {}, error=None if usable else frec.error)
    with catalog.transaction():  # the entry and its job together: no pending entry without a job
        catalog.library.upsert_collection_file(cf)
        if usable:
            catalog.jobs.enqueue(coll.id, frec.id)
    return cf, usable


class Library:
    """Removal that keeps catalog, store and jobs consistent. In one catalog transaction the scope's jobs
    are cancelled, its rows deleted and a pending store delete recorded; then its points are dropped and
    the record cleared. All of it runs under the ingest fence, so a job running at that moment either
    wrote before (its points are dropped here) or sees its cancellation (and writes nothing); a crash
    between the two steps is finished at the next start (`finish_pending_deletes`). No point outlives its
    file, collection or membership."""

    def __init__(self, catalog: Catalog, store: SegmentStore, fence: AbstractContextManager) -> None:
        self.catalog = catalog
        self.store = store
        self.fence = fence

    def delete_file(self, file_id: str) -> FileRecord:
        rec = self.catalog.library.get_file(file_id)

        def rows() -> None:
            self.catalog.library.delete_file(file_id)
            self.catalog.stored.delete_analyses(file_id)
            self.catalog.tags.delete_file(file_id)
            self.catalog.jobs.cancel(file_id=file_id)

        self._remove({"file_id": file_id}, rows)
        return rec

    def delete_collection(self, collection_id: str) -> None:
        self.catalog.library.get_collection(collection_id)

        def rows() -> None:
            self.catalog.library.delete_collection(collection_id)
            self.catalog.jobs.cancel(collection_id=collection_id)

        self._remove({"collection_id": collection_id}, rows)

    def remove_from_collection(self, collection_id: str, file_id: str) -> None:
        self.catalog.library.get_collection(collection_id)

        def rows() -> None:
            self.catalog.library.remove_collection_file(collection_id, file_id)
            self.catalog.jobs.cancel(collection_id=collection_id, file_id=file_id)

        self._remove({"collection_id": collection_id, "file_id": file_id}, rows)

    def _remove(self, scope: dict[str, str], delete_rows: Callable[[], None]) -> None:
        with self.fence:
            with self.catalog.transaction():
                delete_rows()
                pid = self.catalog.library.add_pending_delete(scope)
            self.store.delete(scope_of(scope))
            self.catalog.library.clear_pending_delete(pid)

    def finish_pending_deletes(self) -> int:
        """Start-up: drop the points of deletes a crash interrupted after their rows were gone."""
        owed = self.catalog.library.pending_deletes()
        for pid, scope in owed:
            log.warning("finishing an interrupted delete of %s", scope)
            self.store.delete(scope_of(scope))
            self.catalog.library.clear_pending_delete(pid)
        return len(owed)


ORPHAN_GRACE_S = 120  # a saved upload is registered right after it is renamed into place


def partial_path(dest: Path) -> Path:
    """Where `dest` is written before it is complete: names the writing process, so a start-up sweep
    removes only what a dead process left, never another live process's upload."""
    return dest.with_name(f"{dest.name}.{os.getpid()}.part")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_uploads(catalog: Catalog, files_dir: Path, shared: bool = False) -> int:
    """Start-up: remove what an interrupted upload left: a `.part` file of a process that is gone, or a
    saved file that was never registered. Upload names are `<file_id><suffix>`, so a file the catalog does
    not know is an orphan once it is older than a registration takes. In a media dir `shared` by several
    machines a pid says nothing about another host's upload, so `.part` files are judged by age too."""
    removed = 0
    now = time.time()
    known = set(catalog.library.iter_file_ids())  # one query, not one per file in the folder
    for p in files_dir.iterdir():
        if not p.is_file():
            continue
        if p.name.endswith(".part"):
            pid = p.name[:-5].rsplit(".", 1)[-1]
            orphan = not (pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)))
            if shared:
                orphan = now - p.stat().st_mtime > ORPHAN_GRACE_S
        else:
            orphan = p.stem not in known and now - p.stat().st_mtime > ORPHAN_GRACE_S
        if orphan:
            log.warning("removing %s left by an interrupted upload", p.name)
            p.unlink(missing_ok=True)
            removed += 1
    return removed
