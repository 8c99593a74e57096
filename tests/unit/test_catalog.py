"""The catalog's aggregates, on an SQLite file and on a real PostgreSQL: records round-trip typed, the job
queue's states and leases, and transactions that span aggregates commit together or not at all."""

import time

import pytest

from clipcite.domain import VideoInfo
from clipcite.errors import NotFound
from engine.catalog import (
    Catalog,
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    JobState,
    MediaStatus,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return tmp_path / "c.sqlite3"
    return request.getfixturevalue("pg_database")


@pytest.fixture()
def cat(target):
    c = Catalog(target)
    c.library.add_collection(CollectionRecord("c1", "one", None, "media-descriptions", None, 1))
    info = VideoInfo(duration_seconds=12.5, fps=10.0, width=320, height=180, has_audio=True)
    c.library.add_file(FileRecord("f1", "a.mp4", "/a.mp4", 10, "sha1", 1, {"dept": "ops"}, info, MediaStatus.USABLE))
    yield c
    c.close()


def test_records_come_back_typed(cat, target):
    f = cat.library.get_file("f1")
    assert f.status is MediaStatus.USABLE and f.status == "completed"  # same wire value as before
    assert isinstance(f.video_info, VideoInfo) and f.video_info.duration_seconds == 12.5
    cat.library.upsert_collection_file(CollectionFileRecord("c1", "f1", 2, IndexStatus.PENDING, "s", {}))
    cf = cat.library.get_collection_file("c1", "f1")
    assert cf.status is IndexStatus.PENDING and cf.status.busy
    assert cat.library.get_collection("c1").status_counts == {"pending": 1}
    with pytest.raises(NotFound):
        cat.library.get_file("nope")
    again = Catalog(target)  # durable: a second handle on the same database sees it all
    assert again.library.get_collection_file("c1", "f1").status is IndexStatus.PENDING
    again.close()


def test_job_queue_states(cat):
    first = cat.jobs.enqueue("c1", "f1")
    second = cat.jobs.enqueue("c1", "f1")  # a newer request supersedes the queued one
    assert cat.jobs.state(first) is JobState.CANCELLED and cat.jobs.state(second) is JobState.QUEUED
    job = cat.jobs.claim("w1")
    assert job is not None and job.id == second and job.state is JobState.RUNNING and job.attempts == 1
    assert job.owner == "w1" and cat.jobs.holds(job.id, "w1") and not cat.jobs.holds(job.id, "w2")
    assert cat.jobs.claim("w2") is None and cat.jobs.depth() == 1  # its lease is live
    assert cat.jobs.requeue_interrupted(lambda owner: owner == "w2") == 0  # w1 is alive
    assert cat.jobs.requeue_interrupted(lambda owner: owner == "w1") == 1  # its process is gone
    job = cat.jobs.claim("w2")
    assert job is not None and job.attempts == 2
    assert not cat.jobs.finish(job.id, JobState.COMPLETED, owner="w1")  # w1 lost it
    assert cat.jobs.finish(job.id, JobState.COMPLETED, owner="w2")
    assert not cat.jobs.finish(job.id, JobState.FAILED, "late")  # only a running job can finish
    assert cat.jobs.state(job.id) is JobState.COMPLETED
    assert cat.jobs.counts() == {"cancelled": 1, "completed": 1} and cat.jobs.depth() == 0
    assert cat.jobs.state("unknown") is JobState.CANCELLED


def test_a_lease_that_runs_out_lets_another_worker_take_the_job(cat):
    short = Catalog(cat.db.url, lease_seconds=1.0)  # long enough that a loaded machine still renews in time
    job_id = short.jobs.enqueue("c1", "f1")
    assert short.jobs.claim("dead") is not None
    assert short.jobs.heartbeat("dead", {job_id: ("speech", 0.5)}) == {job_id}  # extends, and reports progress
    assert short.jobs.progress("c1", "f1") == {"stage": "speech", "fraction": 0.5}
    assert short.jobs.claim("alive") is None
    time.sleep(1.2)  # no heartbeat: the lease runs out
    taken = short.jobs.claim("alive")
    assert taken is not None and taken.id == job_id and taken.attempts == 2
    assert short.jobs.heartbeat("dead", {job_id: ("speech", 0.6)}) == set()  # the old worker learns it lost it
    assert not short.jobs.holds(job_id, "dead") and short.jobs.holds(job_id, "alive")
    short.close()


def test_a_released_job_is_queued_again_without_counting_the_attempt(cat):
    job_id = cat.jobs.enqueue("c1", "f1")
    assert cat.jobs.claim("w1") is not None
    assert not cat.jobs.release(job_id, "someone-else", "environment: x")  # only the holder hands it back
    assert cat.jobs.release(job_id, "w1", "environment: the ocr model cannot load")
    assert cat.jobs.state(job_id) is JobState.QUEUED and cat.jobs.get(job_id)["error"].startswith("environment")
    again = cat.jobs.claim("w2")
    assert again is not None and again.id == job_id and again.attempts == 1


def test_cancel_by_file_collection_or_membership(cat):
    a, b = cat.jobs.enqueue("c1", "f1"), cat.jobs.enqueue("c2", "f1")
    c = cat.jobs.enqueue("c2", "f2")
    assert cat.jobs.cancel(collection_id="c2", file_id="f1") == 1
    assert [cat.jobs.state(j) for j in (a, b, c)] == [JobState.QUEUED, JobState.CANCELLED, JobState.QUEUED]
    assert cat.jobs.cancel(file_id="f1") == 1 and cat.jobs.cancel(collection_id="c2") == 1
    assert cat.jobs.depth() == 0


def test_a_failed_transaction_leaves_every_aggregate_as_it_was(cat):
    cat.library.upsert_collection_file(CollectionFileRecord("c1", "f1", 2, IndexStatus.PENDING, "s", {}))
    job = cat.jobs.enqueue("c1", "f1")
    with pytest.raises(RuntimeError), cat.transaction():
        cat.library.delete_file("f1")
        cat.jobs.cancel(file_id="f1")
        cat.library.add_pending_delete({"file_id": "f1"})
        raise RuntimeError("store unreachable")
    assert cat.library.has_file("f1") and cat.library.get_collection_file("c1", "f1")
    assert cat.jobs.state(job) is JobState.QUEUED and cat.library.pending_deletes() == []


def test_background_work_of_a_dead_process_fails_and_a_live_replicas_stays(cat):
    mine = Catalog(cat.db.url, owner="host:1:live")
    gone = Catalog(cat.db.url, owner="host:2:dead")
    for c, rid in ((mine, "r-live"), (gone, "r-dead")):
        c.stored.put_response(rid, 1, "in_progress", {"id": rid, "status": "in_progress"}, {})
    assert cat.stored.fail_unfinished("restarted", lambda owner: owner == "host:2:dead") == 1
    assert cat.stored.get_response("r-dead")["status"] == "failed"
    assert cat.stored.get_response("r-live")["status"] == "in_progress"  # another replica is still on it
    mine.close()
    gone.close()


def test_a_catalog_made_before_leases_opens_with_the_new_columns(tmp_path):
    """An SQLite catalog from an older release (no lease columns): opened, extended in place, its rows kept;
    a job it left running has no owner, so it is re-queued at once."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, collection_id TEXT NOT NULL, file_id TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE TABLE responses (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, status TEXT NOT NULL,
            data TEXT NOT NULL, context TEXT NOT NULL);
        INSERT INTO jobs VALUES ('j1', 'c1', 'f1', 'running', 1, NULL, 1, 1);
    """)
    old.commit()
    old.close()
    cat = Catalog(path)
    assert cat.jobs.get("j1")["lease_owner"] is None and cat.jobs.state("j1") is JobState.RUNNING
    assert cat.jobs.requeue_interrupted(lambda owner: owner is None) == 1
    job = cat.jobs.claim("w1")
    assert job is not None and job.id == "j1" and job.attempts == 2
    cat.close()


def test_processes_opening_one_new_database_at_once_all_start(target):
    """Replicas and workers started together (compose) each create-or-extend the schema: one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        cats = list(pool.map(lambda _: Catalog(target), range(4)))
    assert all(c.jobs.depth() == 0 for c in cats)
    for c in cats:
        c.close()


def test_wal_switch_waits_out_a_lock_and_gives_up_on_other_errors():
    import sqlite3

    from engine.catalog.db import wal

    class Conn:
        def __init__(self, failures: list[str]) -> None:
            self.failures, self.calls = failures, 0

        def execute(self, sql: str) -> None:
            self.calls += 1
            if self.failures:
                raise sqlite3.OperationalError(self.failures.pop(0))

    busy = Conn(["database is locked", "database is locked"])
    wal(busy)
    assert busy.calls == 3
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        wal(Conn(["disk I/O error"]))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        wal(Conn(["database is locked"] * 1000), wait=0.1)
