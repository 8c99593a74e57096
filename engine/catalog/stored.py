"""Stored objects: per-file model analyses (the ingest cache), chat completions, searches and summaries
(API objects kept as the JSON they were returned as), and the record of one-off migrations."""

from __future__ import annotations

import json
from typing import Any

from clipcite.errors import NotFound
from engine.catalog.db import Database
from engine.catalog.records import now_ms


class StoredObjects:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- analyses (per-file model outputs, reused by every collection and segmentation) ---
    def get_analysis(self, file_id: str, options_key: str) -> dict[str, Any] | None:
        rows = self.db.q("SELECT data FROM analyses WHERE file_id=? AND options_key=?", (file_id, options_key))
        return json.loads(rows[0][0]) if rows else None

    def put_analysis(self, file_id: str, options_key: str, data: dict[str, Any]) -> None:
        self.db.x("INSERT OR REPLACE INTO analyses VALUES (?,?,?,?)",
                  (file_id, options_key, json.dumps(data), now_ms()))

    def delete_analyses(self, file_id: str) -> None:
        self.db.x("DELETE FROM analyses WHERE file_id=?", (file_id,))

    # --- stored API objects (same shape: id, time, JSON) ---
    def _put(self, table: str, item_id: str, created_at: int, data: dict[str, Any]) -> None:
        self.db.x(f"INSERT OR REPLACE INTO {table} VALUES (?,?,?)", (item_id, created_at, json.dumps(data)))

    def _get(self, table: str, item_id: str, what: str) -> dict[str, Any]:
        rows = self.db.q(f"SELECT data FROM {table} WHERE id=?", (item_id,))
        if not rows:
            raise NotFound(f"{what} {item_id!r} not found", param="id")
        return json.loads(rows[0][0])

    def _list(self, table: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        total = self.db.q(f"SELECT COUNT(*) FROM {table}")[0][0]
        rows = self.db.q(f"SELECT data FROM {table} ORDER BY created_at DESC LIMIT ? OFFSET ?", (limit, offset))
        return [json.loads(r[0]) for r in rows], total

    def put_completion(self, completion_id: str, created_at: int, data: dict[str, Any]) -> None:
        self._put("completions", completion_id, created_at, data)

    def get_completion(self, completion_id: str) -> dict[str, Any]:
        return self._get("completions", completion_id, "chat completion")

    def list_completions(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._list("completions", limit, offset)

    def put_search(self, search_id: str, created_at: int, data: dict[str, Any]) -> None:
        self._put("searches", search_id, created_at, data)

    def get_search(self, search_id: str) -> dict[str, Any]:
        return self._get("searches", search_id, "search")

    def list_searches(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._list("searches", limit, offset)

    def put_summary(self, key: str, data: dict[str, Any]) -> None:
        """Video summaries, keyed by collection, file and segmentation (a re-segmented file gets a new one)."""
        self._put("summaries", key, now_ms(), data)

    def get_summary(self, key: str) -> dict[str, Any] | None:
        rows = self.db.q("SELECT data FROM summaries WHERE id=?", (key,))
        return json.loads(rows[0][0]) if rows else None

    # --- migrations (one-off data upgrades, each recorded once done) ---
    def migration_done(self, name: str) -> bool:
        return bool(self.db.q("SELECT 1 FROM migrations WHERE name=?", (name,)))

    def mark_migration(self, name: str) -> None:
        self.db.x("INSERT OR REPLACE INTO migrations VALUES (?,?)", (name, now_ms()))

    def migrations_like(self, prefix: str) -> list[str]:
        return [r[0] for r in self.db.q("SELECT name FROM migrations WHERE name LIKE ? ORDER BY done_at",
                                        (_starting(prefix),))]

    def replace_migrations(self, prefix: str, name: str) -> None:
        """Record `name` as the one state of its kind (e.g. which embedder built the vectors)."""
        with self.db.transaction():
            self.db.x("DELETE FROM migrations WHERE name LIKE ?", (_starting(prefix),))
            self.db.x("INSERT INTO migrations VALUES (?,?)", (name, now_ms()))


def _starting(prefix: str) -> str:
    """A LIKE pattern for names starting with `prefix` (a `%` in it dropped)."""
    return prefix.replace("%", "") + "%"
