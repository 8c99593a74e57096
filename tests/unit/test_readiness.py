"""Start-up checks (`ingest.readiness`): a model that cannot run is reported with the package and the tested
version to install; a stage the settings turn off is skipped; a job that meets an environment failure goes
back to the queue (its file is not failed) and is taken again once the checks pass."""

from __future__ import annotations

import time

import pytest

import ingest.jobs as jobs_mod
from clipcite.errors import ModelUnavailable
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
from ingest.readiness import Check, Readiness, fix_for, run_checks


def _broken() -> str:
    raise AttributeError("module 'cv2.dnn' has no attribute 'readNetFromTensorflow'")


def test_a_failing_check_names_the_package_and_its_tested_version():
    results = run_checks([Check("visual", ("opencv-python-headless",), _broken),
                          Check("embedding", ("numpy",), lambda: "fine")])
    bad, good = results
    assert not bad.ok and good.ok and good.detail == "fine"
    assert "readNetFromTensorflow" in bad.message and "opencv-python-headless" in bad.message
    assert fix_for(["opencv-python-headless"], {"opencv-python-headless": "0.0.1"}) == \
        "install the tested versions: pip install 'opencv-python-headless==0.0.1'"
    assert "not-a-real-package" in fix_for(["not-a-real-package"], {})
    ready = Readiness()
    assert ready.state == "starting"
    assert not ready.record(results) and ready.state == "degraded" and ready.reasons == [bad.message]
    assert ready.record([good]) and ready.state == "ok" and ready.reasons == []


def test_a_stage_turned_off_is_skipped(tmp_path):
    from clipcite.settings import Settings
    from ingest.runtime import build_checks

    checks, _, skipped = build_checks(Settings(data_dir=tmp_path, visual_enabled=False, ocr_enabled=False,
                                               audio_description_enabled=False, speakers_enabled=False,
                                               whisper_model="tiny.en"))
    names = [c.name for c in checks]
    assert "visual" in skipped and "ocr" in skipped and "audio_description" in skipped
    assert "visual" not in names and "ocr" not in names
    assert names[0].startswith("speech") and names[-1] == "embedding"


@pytest.fixture()
def catalog(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    cat.library.add_collection(CollectionRecord("c1", "one", None, "media-descriptions", None, 1))
    cat.library.add_file(FileRecord("f", "f.mp4", "/f.mp4", 1, "f", 1, {}, None, MediaStatus.USABLE))
    cat.library.upsert_collection_file(CollectionFileRecord("c1", "f", 1, IndexStatus.PENDING, "s", {}))
    yield cat
    cat.close()


def test_an_environment_failure_requeues_the_job_until_the_checks_pass(catalog, monkeypatch):
    healthy = {"now": False}
    runs: list[str] = []

    def fake_run_job(ctx, job, progress=None):
        runs.append(job.id)
        if not healthy["now"]:
            raise ModelUnavailable("the ocr model needs the package rapidocr: pip install rapidocr")
        return 3

    def check() -> str:
        if not healthy["now"]:
            raise ModelUnavailable("rapidocr is missing")
        return "ok"

    monkeypatch.setattr(jobs_mod, "run_job", fake_run_job)
    worker = IngestWorker(IngestContext(catalog, None, None, None), poll_seconds=0.02,  # type: ignore[arg-type]
                          checks=[Check("ocr", ("rapidocr",), check)], recheck_seconds=0.05)
    worker.readiness.record([])  # the start-up checks passed; the environment breaks afterwards
    job = catalog.jobs.enqueue("c1", "f")
    try:
        worker.start()
        deadline = time.monotonic() + 5
        while not catalog.library.get_collection_file("c1", "f").error:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert worker.readiness.state == "degraded"
        entry = catalog.library.get_collection_file("c1", "f")
        assert entry.status is IndexStatus.PENDING and "rapidocr" in (entry.error or "")
        assert catalog.jobs.state(job) is JobState.QUEUED
        time.sleep(0.2)
        assert len(runs) == 1  # nothing is claimed while degraded
        healthy["now"] = True
        while catalog.library.get_collection_file("c1", "f").status is not IndexStatus.COMPLETED:
            assert time.monotonic() < deadline + 5
            time.sleep(0.02)
        assert catalog.jobs.state(job) is JobState.COMPLETED and worker.readiness.state == "ok"
    finally:
        worker.stop()
