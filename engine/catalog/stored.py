"""Stored objects: per-file model analyses (the ingest cache), chat completions, searches and summaries
(API objects kept as the JSON they were returned as), and the record of one-off migrations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from clipcite.errors import NotFound
from engine.catalog.db import Database
from engine.catalog.records import now_ms


class StoredObjects:
    def __init__(self, db: Database, owner: str | None = None) -> None:
        self.db = db
        self.owner = owner  # this process (recorded on the background objects it runs)

    # --- analyses (per-file model outputs, reused by every collection and segmentation) ---
    def get_analysis(self, file_id: str, options_key: str) -> dict[str, Any] | None:
        rows = self.db.q("SELECT data FROM analyses WHERE file_id=? AND options_key=?", (file_id, options_key))
        return json.loads(rows[0][0]) if rows else None

    def put_analysis(self, file_id: str, options_key: str, data: dict[str, Any]) -> None:
        self.db.upsert("analyses", {"file_id": file_id, "options_key": options_key, "data": json.dumps(data),
                                    "created_at": now_ms()})

    def delete_analyses(self, file_id: str) -> None:
        self.db.x("DELETE FROM analyses WHERE file_id=?", (file_id,))

    # --- stored API objects (same shape: id, time, JSON) ---
    def _put(self, table: str, item_id: str, created_at: int, data: dict[str, Any]) -> None:
        self.db.upsert(table, {"id": item_id, "created_at": created_at, "data": json.dumps(data)})

    def _get(self, table: str, item_id: str, what: str) -> dict[str, Any]:
        rows = self.db.q(f"SELECT data FROM {table} WHERE id=?", (item_id,))
        if not rows:
            raise NotFound(f"{what} {item_id!r} not found", param="id")
        return json.loads(rows[0][0])

    def _list(self, table: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Newest first; the id breaks ties, so pages never repeat or skip a row created in the same ms."""
        total = self.db.q(f"SELECT COUNT(*) FROM {table}")[0][0]
        rows = self.db.q(f"SELECT data FROM {table} ORDER BY created_at DESC, id LIMIT ? OFFSET ?", (limit, offset))
        return [json.loads(r[0]) for r in rows], total

    def _ids(self, table: str) -> list[str]:
        """Every id in listing order (a cursor's `after` / `before` is found among them)."""
        return [r[0] for r in self.db.q(f"SELECT id FROM {table} ORDER BY created_at DESC, id")]

    def completion_ids(self) -> list[str]:
        return self._ids("completions")

    def _delete(self, table: str, item_id: str, what: str) -> None:
        if not self.db.x(f"DELETE FROM {table} WHERE id=?", (item_id,)):
            raise NotFound(f"{what} {item_id!r} not found", param="id")

    def delete_completion(self, completion_id: str) -> None:
        self._delete("completions", completion_id, "chat completion")

    def delete_search(self, search_id: str) -> None:
        self._delete("searches", search_id, "search")

    def _list_by_status(self, table: str, limit: int, offset: int, status: str | None, after_ms: int | None,
                        before_ms: int | None) -> tuple[list[dict[str, Any]], int]:
        """A page of a table with a `status` column (responses, deep searches), newest first, filtered by
        status and creation time."""
        where: list[str] = ["1=1"]
        args: list[str | int] = []
        for clause, value in (("status=?", status), ("created_at>=?", after_ms), ("created_at<?", before_ms)):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        total = self.db.q(f"SELECT COUNT(*) FROM {table} WHERE {cond}", tuple(args))[0][0]
        rows = self.db.q(f"SELECT data FROM {table} WHERE {cond} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                         (*args, limit, offset))
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

    # --- Responses API objects: the response as returned, plus the conversation it continues from ---
    def put_response(self, response_id: str, created_at_ms: int, status: str, data: dict[str, Any],
                     context: dict[str, Any]) -> None:
        """`context`: what a later `previous_response_id` needs (the turns so far, the input items, the scope);
        kept beside the returned object so GET shows exactly what was returned."""
        self.db.upsert("responses", {"id": response_id, "created_at": created_at_ms, "status": status,
                                     "data": json.dumps(data), "context": json.dumps(context), "owner": self.owner})

    def get_response(self, response_id: str) -> dict[str, Any]:
        return self._get("responses", response_id, "response")

    def response_context(self, response_id: str) -> dict[str, Any]:
        rows = self.db.q("SELECT context FROM responses WHERE id=?", (response_id,))
        if not rows:
            raise NotFound(f"response {response_id!r} not found", param="previous_response_id")
        return json.loads(rows[0][0])

    def list_responses(self, limit: int, offset: int, status: str | None = None, after_ms: int | None = None,
                       before_ms: int | None = None) -> tuple[list[dict[str, Any]], int]:
        return self._list_by_status("responses", limit, offset, status, after_ms, before_ms)

    def delete_response(self, response_id: str) -> None:
        self._delete("responses", response_id, "response")

    def fail_unfinished(self, reason: str, is_dead: Callable[[str | None], bool]) -> int:
        """Background responses and deep searches a dead process was still running (`is_dead(owner)`; another
        replica's live ones are left alone): they can never finish, so they end `failed` with `reason` (at
        start-up) instead of staying `in_progress` forever."""
        n = 0
        for table in ("responses", "deep_searches"):
            for rid, data, owner in self.db.q(
                    f"SELECT id, data, owner FROM {table} WHERE status IN ('queued', 'in_progress')"):
                if not is_dead(owner):
                    continue
                obj = json.loads(data)
                obj["status"] = "failed"
                obj["error"] = {"message": reason, "type": "server_error", "code": "server_restarted"}
                n += self.db.x(f"UPDATE {table} SET status='failed', data=? WHERE id=? AND status IN "
                               "('queued', 'in_progress')", (json.dumps(obj), rid))
        return n

    # --- deep searches (status kept beside the object for listing by status) ---
    def put_deep_search(self, search_id: str, created_at_ms: int, data: dict[str, Any]) -> None:
        self.db.upsert("deep_searches", {"id": search_id, "created_at": created_at_ms, "status": data["status"],
                                         "data": json.dumps(data), "owner": self.owner})

    def get_deep_search(self, search_id: str) -> dict[str, Any]:
        return self._get("deep_searches", search_id, "deep search")

    def list_deep_searches(self, limit: int, offset: int, status: str | None = None, after_ms: int | None = None,
                           before_ms: int | None = None) -> tuple[list[dict[str, Any]], int]:
        return self._list_by_status("deep_searches", limit, offset, status, after_ms, before_ms)

    def delete_deep_search(self, search_id: str) -> None:
        self._delete("deep_searches", search_id, "deep search")

    # --- describe / transcribe jobs: a file indexed under a segmentation, read back with chosen parts ---
    def new_media_job(self, kind: str, collection_id: str, file_id: str, url: str,
                      config: dict[str, Any]) -> dict[str, Any]:
        """A new job (id, creation time now; config keys set to None left out), read back as `get_media_job`."""
        job_id = str(uuid.uuid4())
        self.db.insert("media_jobs", {"id": job_id, "kind": kind, "created_at": now_ms(),
                                      "collection_id": collection_id, "file_id": file_id, "url": url,
                                      "data": json.dumps({k: v for k, v in config.items() if v is not None})})
        return self.get_media_job(kind, job_id)

    @staticmethod
    def _media_job(row: Any) -> dict[str, Any]:
        return {"id": row["id"], "kind": row["kind"], "created_at": row["created_at"],
                "collection_id": row["collection_id"], "file_id": row["file_id"], "url": row["url"],
                "config": json.loads(row["data"]), "status": row["status"] or "failed", "error": row["error"]}

    _MEDIA_JOB_SELECT = ("SELECT j.*, cf.status AS status, cf.error AS error FROM media_jobs j LEFT JOIN "
                         "collection_files cf ON cf.collection_id=j.collection_id AND cf.file_id=j.file_id")

    def get_media_job(self, kind: str, job_id: str) -> dict[str, Any]:
        """The job with its live status (its file's entry in the job's collection; gone: failed)."""
        rows = self.db.q(f"{self._MEDIA_JOB_SELECT} WHERE j.id=? AND j.kind=?", (job_id, kind))
        if not rows:
            raise NotFound(f"{kind} job {job_id!r} not found", param="job_id")
        return self._media_job(rows[0])

    def list_media_jobs(self, kind: str, limit: int, offset: int, status: str | None = None, url: str | None = None,
                        after_ms: int | None = None, before_ms: int | None = None
                        ) -> tuple[list[dict[str, Any]], int]:
        where: list[str] = ["j.kind=?"]
        args: list[str | int] = [kind]
        filters: tuple[tuple[str, str | int | None], ...] = (
            ("COALESCE(cf.status, 'failed')=?", status), ("j.url=?", url), ("j.created_at>=?", after_ms),
            ("j.created_at<?", before_ms))
        for clause, value in filters:
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        base = self._MEDIA_JOB_SELECT
        total = self.db.q(f"SELECT COUNT(*) FROM ({base} WHERE {cond}) AS page", tuple(args))[0][0]
        rows = self.db.q(f"{base} WHERE {cond} ORDER BY j.created_at DESC, j.id LIMIT ? OFFSET ?",
                         (*args, limit, offset))
        return [self._media_job(r) for r in rows], total

    def delete_media_job(self, kind: str, job_id: str) -> None:
        if not self.db.x("DELETE FROM media_jobs WHERE id=? AND kind=?", (job_id, kind)):
            raise NotFound(f"{kind} job {job_id!r} not found", param="job_id")

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
        self.db.upsert("migrations", {"name": name, "done_at": now_ms()})

    def migrations_like(self, prefix: str) -> list[str]:
        return [r[0] for r in self.db.q("SELECT name FROM migrations WHERE name LIKE ? ORDER BY done_at",
                                        (_starting(prefix),))]

    def replace_migrations(self, prefix: str, name: str) -> None:
        """Record `name` as the one state of its kind (e.g. which embedder built the vectors)."""
        with self.db.transaction():
            self.db.x("DELETE FROM migrations WHERE name LIKE ?", (_starting(prefix),))
            self.db.insert("migrations", {"name": name, "done_at": now_ms()})


def _starting(prefix: str) -> str:
    """A LIKE pattern for names starting with `prefix` (a `%` in it dropped)."""
    return prefix.replace("%", "") + "%"
