"""The catalog's one SQLite database (WAL mode under the data dir): durable across restarts and crashes,
one writer at a time, no server to run. Each aggregate (library, jobs, stored objects) owns its tables and
runs its SQL through this; `transaction()` lets a caller make several aggregates change together."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL, created_at INTEGER NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',
    video_info TEXT, status TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS collections (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, collection_type TEXT NOT NULL,
    default_segmentation_config TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_files (
    collection_id TEXT NOT NULL, file_id TEXT NOT NULL, added_at INTEGER NOT NULL, status TEXT NOT NULL,
    segmentation_id TEXT NOT NULL, segmentation_config TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',
    error TEXT, segment_count INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
    PRIMARY KEY (collection_id, file_id)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, collection_id TEXT NOT NULL, file_id TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at);
CREATE TABLE IF NOT EXISTS analyses (
    file_id TEXT NOT NULL, options_key TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (file_id, options_key)
);
CREATE TABLE IF NOT EXISTS completions (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS searches (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created ON responses(created_at);
CREATE TABLE IF NOT EXISTS media_jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL, collection_id TEXT NOT NULL,
    file_id TEXT NOT NULL, url TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS media_jobs_kind ON media_jobs(kind, created_at);
CREATE TABLE IF NOT EXISTS tags (
    id TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL, file_id TEXT NOT NULL, segment_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_file ON tags(file_id, segment_id);
CREATE TABLE IF NOT EXISTS deep_searches (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS summaries (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_deletes (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS migrations (
    name TEXT PRIMARY KEY, done_at INTEGER NOT NULL
);
"""


class Database:
    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside commit together or not at all (the connection autocommits otherwise); nests."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def x(self, sql: str, args: tuple = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
