"""The ingest worker: every failure ends its job `failed` with a reason and the worker goes on; a job
whose file went away meanwhile is dropped quietly; success records the segment count."""

import threading
import time

import pytest

import ingest.jobs as jobs_mod
from clipcite.errors import MediaError
from engine.catalog import (
    Catalog,
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    JobState,
    MediaStatus,
)
from ingest.jobs import IngestContext, IngestWorker


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    cat = Catalog(tmp_path / "c.sqlite3")
    cat.library.add_collection(CollectionRecord("c1", "one", None, "media-descriptions", None, 1))
    for fid in ("bad", "boom", "good", "gone"):
        cat.library.add_file(FileRecord(fid, f"{fid}.mp4", f"/{fid}.mp4", 1, fid, 1, {}, None, MediaStatus.USABLE))
        cat.library.upsert_collection_file(CollectionFileRecord("c1", fid, 1, IndexStatus.PENDING, "s", {}))
    release_gone = threading.Event()

    def fake_run_job(ctx, job, progress=None):
        progress("speech", 0.5)
        if job.file_id == "bad":
            raise MediaError("no video stream")
        if job.file_id == "boom":
            raise ZeroDivisionError("model exploded")
        if job.file_id == "gone":
            release_gone.wait(5)
            raise FileNotFoundError("the upload was deleted")
        return 7

    monkeypatch.setattr(jobs_mod, "run_job", fake_run_job)
    worker = IngestWorker(IngestContext(cat, None, None, None), poll_seconds=0.05)  # type: ignore[arg-type]
    yield cat, worker, release_gone
    worker.stop()
    cat.close()


def _wait(cat, fid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (st := cat.library.get_collection_file("c1", fid).status).busy:
        assert time.monotonic() < deadline, f"{fid} still {st}"
        time.sleep(0.02)
    return cat.library.get_collection_file("c1", fid)


def test_failures_end_their_job_and_the_worker_goes_on(setup, caplog):
    cat, worker, _ = setup
    ids = {fid: cat.jobs.enqueue("c1", fid) for fid in ("bad", "boom", "good")}
    worker.start()
    bad, boom, good = (_wait(cat, f) for f in ("bad", "boom", "good"))
    assert bad.status is IndexStatus.FAILED and bad.error == "no video stream"
    assert boom.status is IndexStatus.FAILED and boom.error == "ZeroDivisionError: model exploded"
    assert good.status is IndexStatus.COMPLETED and good.segment_count == 7
    assert [cat.jobs.state(ids[f]) for f in ("bad", "boom", "good")] == [JobState.FAILED, JobState.FAILED,
                                                                          JobState.COMPLETED]
    assert any("model exploded" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    caplog.clear()  # the unexpected exception is logged at ERROR by design


def test_a_job_whose_file_was_removed_meanwhile_ends_quietly(setup, caplog):
    cat, worker, release = setup
    job = cat.jobs.enqueue("c1", "gone")
    worker.start()
    deadline = time.monotonic() + 5
    while worker.progress_of("c1", "gone") is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cat.jobs.cancel(file_id="gone")  # what a delete does, before it removes the upload
    release.set()
    while worker.progress_of("c1", "gone") is not None:
        time.sleep(0.02)
    assert cat.jobs.state(job) is JobState.CANCELLED
    assert cat.library.get_collection_file("c1", "gone").status is IndexStatus.PENDING  # not marked failed
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
