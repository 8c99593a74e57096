"""The job queue aggregate: one row per (collection, file) indexing job, claimed by ingest workers."""

from __future__ import annotations

from engine.catalog.db import Database
from engine.catalog.records import JobRecord, JobState, new_id, now_ms

_LIVE = (str(JobState.QUEUED), str(JobState.RUNNING))


class JobQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(self, collection_id: str, file_id: str) -> str:
        """A new queued job; an older one still queued for the same file and collection is cancelled."""
        job_id = new_id()
        with self.db.transaction():
            self.db.x("UPDATE jobs SET state=? WHERE collection_id=? AND file_id=? AND state=?",
                      (str(JobState.CANCELLED), collection_id, file_id, str(JobState.QUEUED)))
            self.db.x("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?)",
                      (job_id, collection_id, file_id, str(JobState.QUEUED), 0, None, now_ms(), now_ms()))
        return job_id

    def claim(self) -> JobRecord | None:
        with self.db.transaction():
            rows = self.db.q("SELECT * FROM jobs WHERE state=? ORDER BY created_at LIMIT 1", (str(JobState.QUEUED),))
            if not rows:
                return None
            row = rows[0]
            self.db.x("UPDATE jobs SET state=?, attempts=attempts+1, updated_at=? WHERE id=?",
                      (str(JobState.RUNNING), now_ms(), row["id"]))
            return JobRecord(id=row["id"], collection_id=row["collection_id"], file_id=row["file_id"],
                             state=JobState.RUNNING, attempts=row["attempts"] + 1, error=None)

    def state(self, job_id: str) -> JobState:
        rows = self.db.q("SELECT state FROM jobs WHERE id=?", (job_id,))
        return JobState(rows[0][0]) if rows else JobState.CANCELLED

    def finish(self, job_id: str, state: JobState, error: str | None = None) -> None:
        self.db.x("UPDATE jobs SET state=?, error=?, updated_at=? WHERE id=? AND state=?",
                  (str(state), error, now_ms(), job_id, str(JobState.RUNNING)))

    def cancel(self, collection_id: str | None = None, file_id: str | None = None) -> int:
        """Queued and running jobs of a file, a collection, or one membership (a running job notices)."""
        clauses = [f"state IN ({','.join('?' * len(_LIVE))})"]
        args: tuple = _LIVE
        if collection_id is not None:
            clauses.append("collection_id=?")
            args += (collection_id,)
        if file_id is not None:
            clauses.append("file_id=?")
            args += (file_id,)
        return self.db.x(f"UPDATE jobs SET state=? WHERE {' AND '.join(clauses)}", (str(JobState.CANCELLED),) + args)

    def requeue_interrupted(self) -> int:
        """Jobs left `running` by a crash go back to the queue (the pipeline is idempotent)."""
        return self.db.x("UPDATE jobs SET state=?, updated_at=? WHERE state=?",
                         (str(JobState.QUEUED), now_ms(), str(JobState.RUNNING)))

    def depth(self) -> int:
        return self.db.q("SELECT COUNT(*) FROM jobs WHERE state IN (?,?)", _LIVE)[0][0]

    def counts(self) -> dict[str, int]:
        """Jobs by state (queued, running, completed, failed, cancelled), for /metrics."""
        return {r[0]: r[1] for r in self.db.q("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
