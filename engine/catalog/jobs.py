"""The job queue aggregate: one row per (collection, file) indexing job, claimed by ingest workers.

Claims are leases. A worker claims the oldest claimable job (queued, or running under a lease that ran
out because its worker died) with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
claimers on any number of machines each get a different job without waiting on each other (SQLite takes
its write lock first instead). The worker's heartbeat extends the lease; a job is finished, and its
points written, only by the worker that holds the lease now, so a job taken over from a worker that
was merely slow never completes twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, case, or_, select, update

from engine.catalog.db import METADATA, Database
from engine.catalog.records import JobRecord, JobState, new_id, now_ms

_LIVE = (str(JobState.QUEUED), str(JobState.RUNNING))
_JOBS = METADATA.tables["jobs"]


class JobQueue:
    def __init__(self, db: Database, lease_seconds: float = 60.0) -> None:
        self.db = db
        self.lease_ms = int(lease_seconds * 1000)

    def enqueue(self, collection_id: str, file_id: str) -> str:
        """A new queued job; an older one still queued for the same file and collection is cancelled."""
        job_id = new_id()
        with self.db.transaction():
            self.db.x("UPDATE jobs SET state=? WHERE collection_id=? AND file_id=? AND state=?",
                      (str(JobState.CANCELLED), collection_id, file_id, str(JobState.QUEUED)))
            self.db.insert("jobs", {"id": job_id, "collection_id": collection_id, "file_id": file_id,
                                    "state": str(JobState.QUEUED), "attempts": 0, "created_at": now_ms(),
                                    "updated_at": now_ms()})
        return job_id

    def claim(self, owner: str) -> JobRecord | None:
        """The oldest claimable job, now running under `owner`'s lease; None when there is none."""
        now = now_ms()
        expired = and_(_JOBS.c.state == str(JobState.RUNNING),
                       or_(_JOBS.c.lease_until.is_(None), _JOBS.c.lease_until < now))
        pick = (select(_JOBS.c.id, _JOBS.c.collection_id, _JOBS.c.file_id, _JOBS.c.attempts)
                .where(or_(_JOBS.c.state == str(JobState.QUEUED), expired))
                .order_by(_JOBS.c.created_at, _JOBS.c.id).limit(1).with_for_update(skip_locked=True))
        with self.db.transaction() as conn:
            row = conn.execute(pick).first()
            if row is None:
                return None
            conn.execute(update(_JOBS).where(_JOBS.c.id == row.id).values(
                state=str(JobState.RUNNING), attempts=row.attempts + 1, lease_owner=owner,
                lease_until=now + self.lease_ms, updated_at=now, stage=None, progress=None, error=None))
        return JobRecord(id=row.id, collection_id=row.collection_id, file_id=row.file_id, state=JobState.RUNNING,
                         attempts=row.attempts + 1, error=None, owner=owner)

    def heartbeat(self, owner: str, progress: dict[str, tuple[str, float]]) -> set[str]:
        """Extend `owner`'s leases on these jobs (id -> (stage, fraction), written for status pages);
        returns the ids it still holds (a job missing was cancelled or taken over)."""
        held: set[str] = set()
        until = now_ms() + self.lease_ms
        for job_id, (stage, fraction) in progress.items():
            if self.db.x("UPDATE jobs SET lease_until=?, stage=?, progress=? WHERE id=? AND lease_owner=? AND state=?",
                         (until, stage, float(fraction), job_id, owner, str(JobState.RUNNING))):
                held.add(job_id)
        return held

    def holds(self, job_id: str, owner: str) -> bool:
        """`owner` still runs this job: not cancelled, not finished, not taken over after its lease ran out."""
        rows = self.db.q("SELECT 1 FROM jobs WHERE id=? AND lease_owner=? AND state=?",
                         (job_id, owner, str(JobState.RUNNING)))
        return bool(rows)

    def state(self, job_id: str) -> JobState:
        rows = self.db.q("SELECT state FROM jobs WHERE id=?", (job_id,))
        return JobState(rows[0][0]) if rows else JobState.CANCELLED

    def get(self, job_id: str) -> dict[str, Any] | None:
        rows = self.db.q("SELECT * FROM jobs WHERE id=?", (job_id,))
        return rows[0].as_dict() if rows else None

    def finish(self, job_id: str, state: JobState, error: str | None = None, owner: str | None = None) -> bool:
        """End a running job; with `owner`, only while that worker holds it. True when this call ended it."""
        sql = "UPDATE jobs SET state=?, error=?, updated_at=?, lease_until=NULL WHERE id=? AND state=?"
        args: tuple = (str(state), error, now_ms(), job_id, str(JobState.RUNNING))
        if owner is not None:
            sql += " AND lease_owner=?"
            args += (owner,)
        return bool(self.db.x(sql, args))

    def release(self, job_id: str, owner: str, reason: str) -> bool:
        """Hand a running job back to the queue (its worker's environment failed, not its file): claimable
        again, its attempt not counted, `reason` kept for status pages. True when `owner` held it."""
        return bool(self.db.execute(update(_JOBS).where(
            _JOBS.c.id == job_id, _JOBS.c.state == str(JobState.RUNNING), _JOBS.c.lease_owner == owner).values(
            state=str(JobState.QUEUED), error=reason, updated_at=now_ms(), lease_owner=None, lease_until=None,
            attempts=case((_JOBS.c.attempts > 0, _JOBS.c.attempts - 1), else_=0))))

    def progress(self, collection_id: str, file_id: str) -> dict[str, Any] | None:
        """Where a running job of this entry is ({"stage", "fraction"}), as its worker last reported."""
        rows = self.db.q("SELECT stage, progress FROM jobs WHERE collection_id=? AND file_id=? AND state=? "
                         "ORDER BY updated_at DESC LIMIT 1", (collection_id, file_id, str(JobState.RUNNING)))
        if not rows:
            return None
        return {"stage": rows[0][0] or "queued", "fraction": round(rows[0][1] or 0.0, 3)}

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

    def requeue_interrupted(self, is_dead: Callable[[str | None], bool]) -> int:
        """Running jobs whose worker is known dead (`is_dead(owner)`: a process of this host that is gone, or
        a row from before leases) go back to the queue now rather than when their lease runs out; the
        pipeline is idempotent."""
        n = 0
        for job_id, owner in self.db.q("SELECT id, lease_owner FROM jobs WHERE state=?", (str(JobState.RUNNING),)):
            if is_dead(owner):
                n += self.db.execute(update(_JOBS).where(
                    _JOBS.c.id == job_id, _JOBS.c.state == str(JobState.RUNNING),
                    _JOBS.c.lease_owner.is_not_distinct_from(owner)).values(
                    state=str(JobState.QUEUED), updated_at=now_ms(), lease_owner=None, lease_until=None))
        return n

    def depth(self) -> int:
        return self.db.q("SELECT COUNT(*) FROM jobs WHERE state IN (?,?)", _LIVE)[0][0]

    def counts(self) -> dict[str, int]:
        """Jobs by state (queued, running, completed, failed, cancelled), for /metrics."""
        return {r[0]: r[1] for r in self.db.q("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
