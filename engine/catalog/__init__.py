"""The catalog: one database (an SQLite file, or a PostgreSQL shared by replicas and workers) holding four
aggregates, each with its own tables and methods.

- `library`: files, collections, membership and index status, owed store deletes;
- `jobs`: the ingest job queue;
- `stored`: analyses (ingest cache), stored completions / searches / summaries, migrations;
- `tags`: label/value tags on files and segments.

Rows cross module boundaries as dataclasses; JSON columns are decoded here and nowhere else. Changes
that span aggregates (a delete cancels jobs too) run in `transaction()`, driven by the one service that
owns consistency between catalog, store and jobs (`ingest.library.Library`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.catalog.db import Database
from engine.catalog.jobs import JobQueue
from engine.catalog.library import LibraryTables
from engine.catalog.records import (
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    JobRecord,
    JobState,
    MediaStatus,
    new_id,
    now_ms,
)
from engine.catalog.stored import StoredObjects
from engine.catalog.tags import TagRecord, TagTables

__all__ = ["Catalog", "CollectionFileRecord", "CollectionRecord", "FileRecord", "IndexStatus", "JobRecord",
           "JobState", "MediaStatus", "TagRecord", "new_id", "now_ms"]


class Catalog:
    def __init__(self, target: str | Path, lease_seconds: float = 60.0, owner: str | None = None) -> None:
        """`owner`: this process's id (host:pid:random), recorded on the background work it runs."""
        self.db = Database(target)
        self.library = LibraryTables(self.db)
        self.jobs = JobQueue(self.db, lease_seconds)
        self.stored = StoredObjects(self.db, owner)
        self.tags = TagTables(self.db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    def close(self) -> None:
        self.db.close()
