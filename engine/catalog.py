"""The catalog: files, collections, collection membership, ingest jobs, analyses and stored completions.

SQLite in WAL mode under the data dir: durable across restarts and crashes, one writer at a time, no
server to run. Rows cross module boundaries as dataclasses; JSON columns are decoded here and nowhere else.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import NotFound

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


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def _listing_where(id_column: str, status: str | None, only: set[str] | None) -> tuple[list[str], tuple]:
    clauses: list[str] = []
    args: tuple = ()
    if status:
        clauses.append("status=?")
        args += (status,)
    if only is not None:  # one JSON parameter, whatever the number of ids (SQLite caps bound variables)
        clauses.append(f"{id_column} IN (SELECT value FROM json_each(?))")
        args += (json.dumps(sorted(only)),)
    return clauses, args


@dataclass
class FileRecord:
    id: str
    filename: str
    path: str
    bytes: int
    sha256: str
    created_at: int
    metadata: dict[str, Any]
    video_info: VideoInfo | None  # stored as JSON (VideoInfo.to_dict: warnings only when there are some)
    status: str
    error: str | None = None

    @property
    def uri(self) -> str:
        return f"clipcite://files/{self.id}"


@dataclass
class CollectionRecord:
    id: str
    name: str
    description: str | None
    collection_type: str
    default_segmentation_config: dict[str, Any] | None
    created_at: int
    file_count: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)  # files by status in this collection


@dataclass
class CollectionFileRecord:
    collection_id: str
    file_id: str
    added_at: int
    status: str
    segmentation_id: str
    segmentation_config: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    segment_count: int = 0


@dataclass
class JobRecord:
    id: str
    collection_id: str
    file_id: str
    state: str
    attempts: int
    error: str | None


class Catalog:
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

    def _q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _x(self, sql: str, args: tuple = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- files ---
    @staticmethod
    def _file(row: sqlite3.Row) -> FileRecord:
        return FileRecord(id=row["id"], filename=row["filename"], path=row["path"], bytes=row["bytes"],
                          sha256=row["sha256"], created_at=row["created_at"], metadata=json.loads(row["metadata"]),
                          video_info=VideoInfo.from_dict(json.loads(row["video_info"])) if row["video_info"] else None,
                          status=row["status"], error=row["error"])

    def add_file(self, rec: FileRecord) -> FileRecord:
        self._x("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?)",
                (rec.id, rec.filename, rec.path, rec.bytes, rec.sha256, rec.created_at, json.dumps(rec.metadata),
                 json.dumps(rec.video_info.to_dict()) if rec.video_info else None, rec.status, rec.error))
        return rec

    def find_file_by_sha256(self, sha256: str) -> FileRecord | None:
        """The oldest file with this content (batch indexing skips what it has already seen)."""
        rows = self._q("SELECT * FROM files WHERE sha256=? ORDER BY created_at, id LIMIT 1", (sha256,))
        return self._file(rows[0]) if rows else None

    def get_file(self, file_id: str) -> FileRecord:
        rows = self._q("SELECT * FROM files WHERE id=?", (file_id,))
        if not rows:
            raise NotFound(f"file {file_id!r} not found", param="file_id")
        return self._file(rows[0])

    def list_files(self, limit: int = 50, offset: int = 0, status: str | None = None,
                   only: set[str] | None = None) -> tuple[list[FileRecord], int]:
        """A page of files, newest first; `only` restricts to these ids (a listing filter's matches)."""
        clauses, args = _listing_where("id", status, only)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._q(f"SELECT COUNT(*) FROM files {where}", args)[0][0]
        rows = self._q(f"SELECT * FROM files {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                       args + (limit, offset))
        return [self._file(r) for r in rows], total

    def update_file_metadata(self, file_id: str, metadata: dict[str, Any], filename: str | None = None) -> FileRecord:
        self.get_file(file_id)
        self._x("UPDATE files SET metadata=? WHERE id=?", (json.dumps(metadata), file_id))
        if filename:
            self._x("UPDATE files SET filename=? WHERE id=?", (filename, file_id))
        return self.get_file(file_id)

    def delete_file(self, file_id: str) -> None:
        with self.transaction():
            self._x("DELETE FROM files WHERE id=?", (file_id,))
            self._x("DELETE FROM collection_files WHERE file_id=?", (file_id,))
            self._x("DELETE FROM analyses WHERE file_id=?", (file_id,))
            self._x("UPDATE jobs SET state='cancelled' WHERE file_id=? AND state IN ('queued','running')", (file_id,))

    # --- store deletes still owed (written with the row deletes, cleared once the points are gone) ---
    def add_pending_delete(self, scope: dict[str, str]) -> str:
        pid = new_id()
        self._x("INSERT INTO pending_deletes VALUES (?,?,?)", (pid, json.dumps(scope), now_ms()))
        return pid

    def pending_deletes(self) -> list[tuple[str, dict[str, str]]]:
        return [(r["id"], json.loads(r["scope"])) for r in self._q("SELECT * FROM pending_deletes ORDER BY created_at")]

    def clear_pending_delete(self, pid: str) -> None:
        self._x("DELETE FROM pending_deletes WHERE id=?", (pid,))

    def has_file(self, file_id: str) -> bool:
        return bool(self._q("SELECT 1 FROM files WHERE id=?", (file_id,)))

    # --- collections ---
    def _collection(self, row: sqlite3.Row) -> CollectionRecord:
        counts = {r[0]: r[1] for r in self._q(
            "SELECT status, COUNT(*) FROM collection_files WHERE collection_id=? GROUP BY status", (row["id"],))}
        return CollectionRecord(id=row["id"], name=row["name"], description=row["description"],
                                collection_type=row["collection_type"],
                                default_segmentation_config=json.loads(row["default_segmentation_config"])
                                if row["default_segmentation_config"] else None,
                                                created_at=row["created_at"], file_count=sum(counts.values()),
                                status_counts=counts)

    def add_collection(self, rec: CollectionRecord) -> CollectionRecord:
        self._x("INSERT INTO collections VALUES (?,?,?,?,?,?)",
                (rec.id, rec.name, rec.description, rec.collection_type,
                 json.dumps(rec.default_segmentation_config) if rec.default_segmentation_config else None,
                 rec.created_at))
        return rec

    def find_collection_by_name(self, name: str) -> CollectionRecord | None:
        rows = self._q("SELECT * FROM collections WHERE name=? ORDER BY created_at, id LIMIT 1", (name,))
        return self._collection(rows[0]) if rows else None

    def get_collection(self, collection_id: str) -> CollectionRecord:
        rows = self._q("SELECT * FROM collections WHERE id=?", (collection_id,))
        if not rows:
            raise NotFound(f"collection {collection_id!r} not found", param="collection_id")
        return self._collection(rows[0])

    def list_collections(self, limit: int = 50, offset: int = 0) -> tuple[list[CollectionRecord], int]:
        total = self._q("SELECT COUNT(*) FROM collections")[0][0]
        rows = self._q("SELECT * FROM collections ORDER BY created_at DESC, id LIMIT ? OFFSET ?", (limit, offset))
        return [self._collection(r) for r in rows], total

    def update_collection(self, collection_id: str, name: str | None, description: str | None) -> CollectionRecord:
        self.get_collection(collection_id)
        if name is not None:
            self._x("UPDATE collections SET name=? WHERE id=?", (name, collection_id))
        if description is not None:
            self._x("UPDATE collections SET description=? WHERE id=?", (description, collection_id))
        return self.get_collection(collection_id)

    def delete_collection(self, collection_id: str) -> None:
        with self.transaction():
            self._x("DELETE FROM collections WHERE id=?", (collection_id,))
            self._x("DELETE FROM collection_files WHERE collection_id=?", (collection_id,))
            self._x("UPDATE jobs SET state='cancelled' WHERE collection_id=? AND state IN ('queued','running')",
                    (collection_id,))

    # --- collection files ---
    @staticmethod
    def _cf(row: sqlite3.Row) -> CollectionFileRecord:
        return CollectionFileRecord(collection_id=row["collection_id"], file_id=row["file_id"],
                                    added_at=row["added_at"], status=row["status"],
                                    segmentation_id=row["segmentation_id"],
                                    segmentation_config=json.loads(row["segmentation_config"]),
                                    metadata=json.loads(row["metadata"]), error=row["error"],
                                    segment_count=row["segment_count"])

    def upsert_collection_file(self, rec: CollectionFileRecord) -> CollectionFileRecord:
        self._x("INSERT OR REPLACE INTO collection_files VALUES (?,?,?,?,?,?,?,?,?,?)",
                (rec.collection_id, rec.file_id, rec.added_at, rec.status, rec.segmentation_id,
                 json.dumps(rec.segmentation_config), json.dumps(rec.metadata), rec.error, rec.segment_count, now_ms()))
        return rec

    def get_collection_file(self, collection_id: str, file_id: str) -> CollectionFileRecord:
        rows = self._q("SELECT * FROM collection_files WHERE collection_id=? AND file_id=?", (collection_id, file_id))
        if not rows:
            raise NotFound(f"file {file_id!r} is not in collection {collection_id!r}", param="file_id")
        return self._cf(rows[0])

    def list_collection_files(self, collection_id: str, limit: int = 50, offset: int = 0,
                              status: str | None = None,
                              only: set[str] | None = None) -> tuple[list[CollectionFileRecord], int]:
        clauses, args = _listing_where("file_id", status, only)
        where = "WHERE " + " AND ".join(["collection_id=?"] + clauses)
        args = (collection_id,) + args
        total = self._q(f"SELECT COUNT(*) FROM collection_files {where}", args)[0][0]
        rows = self._q(f"SELECT * FROM collection_files {where} ORDER BY added_at DESC, file_id LIMIT ? OFFSET ?",
                       args + (limit, offset))
        return [self._cf(r) for r in rows], total

    def collections_of_file(self, file_id: str) -> list[str]:
        return [r[0] for r in self._q("SELECT collection_id FROM collection_files WHERE file_id=?", (file_id,))]

    def set_collection_file_status(self, collection_id: str, file_id: str, status: str, error: str | None = None,
                                   segment_count: int | None = None) -> None:
        if segment_count is None:
            self._x("UPDATE collection_files SET status=?, error=?, updated_at=? WHERE collection_id=? AND file_id=?",
                    (status, error, now_ms(), collection_id, file_id))
        else:
            self._x("UPDATE collection_files SET status=?, error=?, segment_count=?, updated_at=? "
                    "WHERE collection_id=? AND file_id=?",
                    (status, error, segment_count, now_ms(), collection_id, file_id))

    def remove_collection_file(self, collection_id: str, file_id: str) -> None:
        self.get_collection_file(collection_id, file_id)
        with self.transaction():
            self._x("DELETE FROM collection_files WHERE collection_id=? AND file_id=?", (collection_id, file_id))
            self._x("UPDATE jobs SET state='cancelled' "
                    "WHERE collection_id=? AND file_id=? AND state IN ('queued','running')",
                    (collection_id, file_id))

    # --- jobs ---
    def enqueue_job(self, collection_id: str, file_id: str) -> str:
        job_id = new_id()
        with self.transaction():
            self._x("UPDATE jobs SET state='cancelled' WHERE collection_id=? AND file_id=? AND state='queued'",
                    (collection_id, file_id))
            self._x("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?)",
                    (job_id, collection_id, file_id, "queued", 0, None, now_ms(), now_ms()))
        return job_id

    def claim_job(self) -> JobRecord | None:
        with self.transaction():
            rows = self._q("SELECT * FROM jobs WHERE state='queued' ORDER BY created_at LIMIT 1")
            if not rows:
                return None
            row = rows[0]
            self._x("UPDATE jobs SET state='running', attempts=attempts+1, updated_at=? WHERE id=?",
                    (now_ms(), row["id"]))
            return JobRecord(id=row["id"], collection_id=row["collection_id"], file_id=row["file_id"], state="running",
                             attempts=row["attempts"] + 1, error=None)

    def job_state(self, job_id: str) -> str:
        rows = self._q("SELECT state FROM jobs WHERE id=?", (job_id,))
        return rows[0][0] if rows else "cancelled"

    def finish_job(self, job_id: str, state: str, error: str | None = None) -> None:
        self._x("UPDATE jobs SET state=?, error=?, updated_at=? WHERE id=? AND state='running'",
                (state, error, now_ms(), job_id))

    def requeue_interrupted(self) -> int:
        """Jobs left `running` by a crash go back to the queue (the pipeline is idempotent)."""
        return self._x("UPDATE jobs SET state='queued', updated_at=? WHERE state='running'", (now_ms(),))

    def queue_depth(self) -> int:
        return self._q("SELECT COUNT(*) FROM jobs WHERE state IN ('queued','running')")[0][0]

    def job_counts(self) -> dict[str, int]:
        """Jobs by state (queued, running, completed, failed, cancelled), for /metrics."""
        return {r[0]: r[1] for r in self._q("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def indexed_video_seconds(self) -> float:
        """Seconds of video indexed (completed collection entries; a file in two collections counts twice)."""
        rows = self._q("SELECT f.video_info FROM collection_files cf JOIN files f ON f.id = cf.file_id "
                       "WHERE cf.status='completed' AND f.video_info IS NOT NULL")
        return float(sum(VideoInfo.from_dict(json.loads(r[0])).duration_seconds or 0.0 for r in rows))

    # --- migrations (one-off data upgrades, each recorded once done) ---
    def migration_done(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM migrations WHERE name=?", (name,)))

    def mark_migration(self, name: str) -> None:
        self._x("INSERT OR REPLACE INTO migrations VALUES (?,?)", (name, now_ms()))

    # --- analyses (per-file model outputs, reused by every collection and segmentation) ---
    def get_analysis(self, file_id: str, options_key: str) -> dict[str, Any] | None:
        rows = self._q("SELECT data FROM analyses WHERE file_id=? AND options_key=?", (file_id, options_key))
        return json.loads(rows[0][0]) if rows else None

    def put_analysis(self, file_id: str, options_key: str, data: dict[str, Any]) -> None:
        self._x("INSERT OR REPLACE INTO analyses VALUES (?,?,?,?)", (file_id, options_key, json.dumps(data), now_ms()))

    # --- stored responses: chat completions and searches (same shape: id, time, JSON) ---
    def _put_stored(self, table: str, item_id: str, created_at: int, data: dict[str, Any]) -> None:
        self._x(f"INSERT OR REPLACE INTO {table} VALUES (?,?,?)", (item_id, created_at, json.dumps(data)))

    def _get_stored(self, table: str, item_id: str, what: str) -> dict[str, Any]:
        rows = self._q(f"SELECT data FROM {table} WHERE id=?", (item_id,))
        if not rows:
            raise NotFound(f"{what} {item_id!r} not found", param="id")
        return json.loads(rows[0][0])

    def _list_stored(self, table: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        total = self._q(f"SELECT COUNT(*) FROM {table}")[0][0]
        rows = self._q(f"SELECT data FROM {table} ORDER BY created_at DESC LIMIT ? OFFSET ?", (limit, offset))
        return [json.loads(r[0]) for r in rows], total

    def put_completion(self, completion_id: str, created_at: int, data: dict[str, Any]) -> None:
        self._put_stored("completions", completion_id, created_at, data)

    def get_completion(self, completion_id: str) -> dict[str, Any]:
        return self._get_stored("completions", completion_id, "chat completion")

    def list_completions(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._list_stored("completions", limit, offset)

    def put_search(self, search_id: str, created_at: int, data: dict[str, Any]) -> None:
        self._put_stored("searches", search_id, created_at, data)

    def get_search(self, search_id: str) -> dict[str, Any]:
        return self._get_stored("searches", search_id, "search")

    def put_summary(self, key: str, data: dict[str, Any]) -> None:
        """Video summaries, keyed by collection, file and segmentation (a re-segmented file gets a new one)."""
        self._put_stored("summaries", key, now_ms(), data)

    def get_summary(self, key: str) -> dict[str, Any] | None:
        rows = self._q("SELECT data FROM summaries WHERE id=?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def list_searches(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._list_stored("searches", limit, offset)

    def iter_file_ids(self) -> Iterator[str]:
        for r in self._q("SELECT id FROM files"):
            yield r[0]
