"""The library aggregate: files, collections, which file is in which collection (and its index status),
and the store deletes still owed after a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import NotFound
from engine.catalog.db import Database, Row
from engine.catalog.records import (
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    MediaStatus,
    new_id,
    now_ms,
)


def _listing_where(db: Database, id_column: str, status: str | None,
                   only: set[str] | None) -> tuple[list[str], tuple]:
    clauses: list[str] = []
    args: tuple = ()
    if status:
        clauses.append("status=?")
        args += (str(status),)
    if only is not None:
        clauses.append(db.in_json_list(id_column))
        args += (json.dumps(sorted(only)),)
    return clauses, args


class LibraryTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- files ---
    @staticmethod
    def _file(row: Row) -> FileRecord:
        return FileRecord(id=row["id"], filename=row["filename"], path=row["path"], bytes=row["bytes"],
                          sha256=row["sha256"], created_at=row["created_at"], metadata=json.loads(row["metadata"]),
                          video_info=VideoInfo.from_dict(json.loads(row["video_info"])) if row["video_info"] else None,
                          status=MediaStatus(row["status"]), error=row["error"])

    def add_file(self, rec: FileRecord) -> FileRecord:
        self.db.insert("files", {
            "id": rec.id, "filename": rec.filename, "path": rec.path, "bytes": rec.bytes, "sha256": rec.sha256,
            "created_at": rec.created_at, "metadata": json.dumps(rec.metadata),
            "video_info": json.dumps(rec.video_info.to_dict()) if rec.video_info else None,
            "status": str(rec.status), "error": rec.error})
        return rec

    def find_file_by_sha256(self, sha256: str) -> FileRecord | None:
        """The oldest file with this content (batch indexing skips what it has already seen)."""
        rows = self.db.q("SELECT * FROM files WHERE sha256=? ORDER BY created_at, id LIMIT 1", (sha256,))
        return self._file(rows[0]) if rows else None

    def get_file(self, file_id: str) -> FileRecord:
        rows = self.db.q("SELECT * FROM files WHERE id=?", (file_id,))
        if not rows:
            raise NotFound(f"file {file_id!r} not found", param="file_id")
        return self._file(rows[0])

    def has_file(self, file_id: str) -> bool:
        return bool(self.db.q("SELECT 1 FROM files WHERE id=?", (file_id,)))

    def list_files(self, limit: int = 50, offset: int = 0, status: str | None = None,
                   only: set[str] | None = None) -> tuple[list[FileRecord], int]:
        """A page of files, newest first; `only` restricts to these ids (a listing filter's matches)."""
        clauses, args = _listing_where(self.db, "id", status, only)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.q(f"SELECT COUNT(*) FROM files {where}", args)[0][0]
        rows = self.db.q(f"SELECT * FROM files {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                         args + (limit, offset))
        return [self._file(r) for r in rows], total

    def file_ids(self, status: str | None = None, only: set[str] | None = None) -> list[str]:
        """The ids `list_files` pages through, in its order (for cursors)."""
        clauses, args = _listing_where(self.db, "id", status, only)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [r[0] for r in self.db.q(f"SELECT id FROM files {where} ORDER BY created_at DESC, id", args)]

    def iter_file_ids(self) -> Iterator[str]:
        for r in self.db.q("SELECT id FROM files"):
            yield r[0]

    def update_file_metadata(self, file_id: str, metadata: dict[str, Any], filename: str | None = None) -> FileRecord:
        self.get_file(file_id)
        self.db.x("UPDATE files SET metadata=? WHERE id=?", (json.dumps(metadata), file_id))
        if filename:
            self.db.x("UPDATE files SET filename=? WHERE id=?", (filename, file_id))
        return self.get_file(file_id)

    def set_video_info(self, file_id: str, info: VideoInfo) -> None:
        """What ingest learnt about the media after probing it (the spoken language)."""
        self.db.x("UPDATE files SET video_info=? WHERE id=?", (json.dumps(info.to_dict()), file_id))

    def delete_file(self, file_id: str) -> None:
        """The file's row and memberships (its jobs, analyses and points: `ingest.library.Library`)."""
        with self.db.transaction():
            self.db.x("DELETE FROM files WHERE id=?", (file_id,))
            self.db.x("DELETE FROM collection_files WHERE file_id=?", (file_id,))

    # --- collections ---
    def _collection(self, row: Row) -> CollectionRecord:
        counts = {r[0]: r[1] for r in self.db.q(
            "SELECT status, COUNT(*) FROM collection_files WHERE collection_id=? GROUP BY status", (row["id"],))}
        return CollectionRecord(id=row["id"], name=row["name"], description=row["description"],
                                collection_type=row["collection_type"],
                                default_segmentation_config=json.loads(row["default_segmentation_config"])
                                if row["default_segmentation_config"] else None,
                                created_at=row["created_at"], file_count=sum(counts.values()),
                                status_counts=counts)

    def add_collection(self, rec: CollectionRecord) -> CollectionRecord:
        self.db.insert("collections", {
            "id": rec.id, "name": rec.name, "description": rec.description, "collection_type": rec.collection_type,
            "default_segmentation_config": json.dumps(rec.default_segmentation_config)
            if rec.default_segmentation_config else None, "created_at": rec.created_at})
        return rec

    def find_collection_by_name(self, name: str) -> CollectionRecord | None:
        rows = self.db.q("SELECT * FROM collections WHERE name=? ORDER BY created_at, id LIMIT 1", (name,))
        return self._collection(rows[0]) if rows else None

    def get_collection(self, collection_id: str) -> CollectionRecord:
        rows = self.db.q("SELECT * FROM collections WHERE id=?", (collection_id,))
        if not rows:
            raise NotFound(f"collection {collection_id!r} not found", param="collection_id")
        return self._collection(rows[0])

    def list_collections(self, limit: int = 50, offset: int = 0) -> tuple[list[CollectionRecord], int]:
        total = self.db.q("SELECT COUNT(*) FROM collections")[0][0]
        rows = self.db.q("SELECT * FROM collections ORDER BY created_at DESC, id LIMIT ? OFFSET ?", (limit, offset))
        return [self._collection(r) for r in rows], total

    def update_collection(self, collection_id: str, name: str | None, description: str | None) -> CollectionRecord:
        self.get_collection(collection_id)
        if name is not None:
            self.db.x("UPDATE collections SET name=? WHERE id=?", (name, collection_id))
        if description is not None:
            self.db.x("UPDATE collections SET description=? WHERE id=?", (description, collection_id))
        return self.get_collection(collection_id)

    def delete_collection(self, collection_id: str) -> None:
        with self.db.transaction():
            self.db.x("DELETE FROM collections WHERE id=?", (collection_id,))
            self.db.x("DELETE FROM collection_files WHERE collection_id=?", (collection_id,))

    # --- collection membership ---
    @staticmethod
    def _cf(row: Row) -> CollectionFileRecord:
        return CollectionFileRecord(collection_id=row["collection_id"], file_id=row["file_id"],
                                    added_at=row["added_at"], status=IndexStatus(row["status"]),
                                    segmentation_id=row["segmentation_id"],
                                    segmentation_config=json.loads(row["segmentation_config"]),
                                    metadata=json.loads(row["metadata"]), error=row["error"],
                                    segment_count=row["segment_count"])

    def upsert_collection_file(self, rec: CollectionFileRecord) -> CollectionFileRecord:
        self.db.upsert("collection_files", {
            "collection_id": rec.collection_id, "file_id": rec.file_id, "added_at": rec.added_at,
            "status": str(rec.status), "segmentation_id": rec.segmentation_id,
            "segmentation_config": json.dumps(rec.segmentation_config), "metadata": json.dumps(rec.metadata),
            "error": rec.error, "segment_count": rec.segment_count, "updated_at": now_ms()})
        return rec

    def get_collection_file(self, collection_id: str, file_id: str) -> CollectionFileRecord:
        rows = self.db.q("SELECT * FROM collection_files WHERE collection_id=? AND file_id=?",
                         (collection_id, file_id))
        if not rows:
            raise NotFound(f"file {file_id!r} is not in collection {collection_id!r}", param="file_id")
        return self._cf(rows[0])

    def find_by_segmentation(self, segmentation_id: str) -> CollectionFileRecord:
        """The collection entry a segmentation id belongs to (each entry has its own)."""
        rows = self.db.q("SELECT * FROM collection_files WHERE segmentation_id=? LIMIT 1", (segmentation_id,))
        if not rows:
            raise NotFound(f"segmentation {segmentation_id!r} not found", param="segmentation_id")
        return self._cf(rows[0])

    def list_collection_files(self, collection_id: str, limit: int = 50, offset: int = 0,
                              status: str | None = None,
                              only: set[str] | None = None) -> tuple[list[CollectionFileRecord], int]:
        clauses, args = _listing_where(self.db, "file_id", status, only)
        where = "WHERE " + " AND ".join(["collection_id=?"] + clauses)
        args = (collection_id,) + args
        total = self.db.q(f"SELECT COUNT(*) FROM collection_files {where}", args)[0][0]
        rows = self.db.q(f"SELECT * FROM collection_files {where} ORDER BY added_at DESC, file_id LIMIT ? OFFSET ?",
                         args + (limit, offset))
        return [self._cf(r) for r in rows], total

    def collections_of_file(self, file_id: str) -> list[str]:
        return [r[0] for r in self.db.q("SELECT collection_id FROM collection_files WHERE file_id=?", (file_id,))]

    def set_collection_file_status(self, collection_id: str, file_id: str, status: IndexStatus,
                                   error: str | None = None, segment_count: int | None = None) -> None:
        if segment_count is None:
            self.db.x("UPDATE collection_files SET status=?, error=?, updated_at=? WHERE collection_id=? AND file_id=?",
                      (str(status), error, now_ms(), collection_id, file_id))
        else:
            self.db.x("UPDATE collection_files SET status=?, error=?, segment_count=?, updated_at=? "
                      "WHERE collection_id=? AND file_id=?",
                      (str(status), error, segment_count, now_ms(), collection_id, file_id))

    def remove_collection_file(self, collection_id: str, file_id: str) -> None:
        self.get_collection_file(collection_id, file_id)
        self.db.x("DELETE FROM collection_files WHERE collection_id=? AND file_id=?", (collection_id, file_id))

    def indexed_video_seconds(self) -> float:
        """Seconds of video indexed (completed collection entries; a file in two collections counts twice)."""
        rows = self.db.q("SELECT f.video_info FROM collection_files cf JOIN files f ON f.id = cf.file_id "
                         "WHERE cf.status=? AND f.video_info IS NOT NULL", (str(IndexStatus.COMPLETED),))
        return float(sum(VideoInfo.from_dict(json.loads(r[0])).duration_seconds or 0.0 for r in rows))

    # --- store deletes still owed (written with the row deletes, cleared once the points are gone) ---
    def add_pending_delete(self, scope: dict[str, str]) -> str:
        pid = new_id()
        self.db.insert("pending_deletes", {"id": pid, "scope": json.dumps(scope), "created_at": now_ms()})
        return pid

    def pending_deletes(self) -> list[tuple[str, dict[str, str]]]:
        return [(r["id"], json.loads(r["scope"]))
                for r in self.db.q("SELECT * FROM pending_deletes ORDER BY created_at")]

    def clear_pending_delete(self, pid: str) -> None:
        self.db.x("DELETE FROM pending_deletes WHERE id=?", (pid,))
