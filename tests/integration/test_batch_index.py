"""`clipcite index`: folders in, files indexed in place with sidecar metadata, known files skipped by
content hash, broken media reported without stopping the batch, and a kill -9 mid-run resumes with no
duplicate and no missing segment. Real processes, real models (tiny.en, MiniLM, RapidOCR)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MODELS_CACHE
from tests.media import TWO_SCENES, Scene, espeak_available, make_video

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")]

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "CLIPCITE_CHAT_MODEL": "smollm2-135m-instruct", "CLIPCITE_WHISPER_MODEL": "tiny.en",
       "CLIPCITE_MODELS_DIR": str(MODELS_CACHE), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def index(*args: str, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "index", *args, "--data-dir", str(data)],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)


def collection_rows(data: Path) -> dict[str, tuple[str, int]]:
    """Each catalog entry's status and segment count; none while the starting process has created the
    database file but not yet its tables (a poll can land between the two)."""
    if not (data / "catalog.sqlite3").exists():
        return {}
    with sqlite3.connect(f"file:{data / 'catalog.sqlite3'}?mode=ro", uri=True) as db:
        if db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'collection_files'").fetchone()[0] == 0:
            return {}
        return {path: (status, n) for path, status, n in db.execute(
            "SELECT f.path, cf.status, cf.segment_count FROM collection_files cf JOIN files f ON f.id = cf.file_id")}


def store_points(data: Path) -> list[dict]:
    from engine.store import EdgeStore

    store = EdgeStore(data / "store", 384)
    try:
        from engine.filters import Group

        return [h.payload for h in store.scroll(Group())]
    finally:
        store.close()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    (root / "talks").mkdir()
    make_video(root / "talks" / "briefing.mp4", TWO_SCENES)
    (root / "talks" / "briefing.json").write_text(json.dumps({"department": "ops", "year": 2024}))
    make_video(root / "silent.mp4", [Scene((10, 120, 10), text="QUARTERLY NUMBERS", seconds=3)], audio=False)
    (root / "notes.mp4").write_text("this is not a video")
    (root / "readme.txt").write_text("ignored: not media")
    return root


def test_index_a_folder_then_rerun_skips_everything(library, tmp_path):
    data = tmp_path / "data"
    first = index(str(library), "--collection", "library", "--metadata-from", "sidecar",
                  "--segmentation", "uniform:5", data=data)
    assert first.returncode == 1, first.stderr  # one broken file: reported, the rest indexed
    assert "2 indexed" in first.stderr and "1 failed" in first.stderr and "notes.mp4" in first.stderr
    rows = collection_rows(data)
    done = {Path(p).name: n for p, (st, n) in rows.items() if st == "completed"}
    assert set(done) == {"briefing.mp4", "silent.mp4"} and all(n >= 1 for n in done.values())
    payloads = store_points(data)
    briefing = [p for p in payloads if p["file_info"]["filename"] == "briefing.mp4"]
    assert len(briefing) == done["briefing.mp4"]
    assert all(p["metadata"] == {"department": "ops", "year": 2024} for p in briefing)
    assert (library / "talks" / "briefing.mp4").exists() and not any((data / "files").iterdir())  # in place

    again = index(str(library), "--collection", "library", "--metadata-from", "sidecar",
                  "--segmentation", "uniform:5", data=data)
    assert "0 indexed" in again.stderr and "2 already indexed (skipped)" in again.stderr, again.stderr
    assert len(store_points(data)) == len(payloads)

    # A copy under another name is the same content: skipped too.
    shutil.copy(library / "silent.mp4", tmp_path / "copy.mp4")
    copy = index(str(tmp_path / "copy.mp4"), "--collection", "library", "--segmentation", "uniform:5", data=data)
    assert copy.returncode == 0 and "1 already indexed (skipped)" in copy.stderr, copy.stderr


def test_index_refuses_a_data_dir_in_use(library, tmp_path):
    from engine.store import EdgeStore

    data = tmp_path / "data"
    (data).mkdir()
    store = EdgeStore(data / "store", 384)
    store.upsert([])
    try:
        r = index(str(library / "silent.mp4"), "--collection", "x", data=data)
        assert r.returncode == 2 and "open in another process" in r.stderr, r.stderr
    finally:
        store.close()


def test_killed_run_resumes_without_duplicates(tmp_path):
    video_dir = tmp_path / "in"
    video_dir.mkdir()
    make_video(video_dir / "long.mp4", TWO_SCENES * 3)
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "index", str(video_dir), "--collection", "c",
                             "--segmentation", "uniform:4", "--data-dir", str(data)], env=ENV, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not any(st == "processing" for st, _ in collection_rows(data).values()):
        assert time.time() < deadline and proc.poll() is None, "the job never started"
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert [st for st, _ in collection_rows(data).values()] == ["processing"]

    resumed = index(str(video_dir), "--collection", "c", "--segmentation", "uniform:4", data=data)
    assert resumed.returncode == 0 and "1 resumed" in resumed.stderr, resumed.stderr
    (status, n), = collection_rows(data).values()
    payloads = store_points(data)
    starts = sorted(p["start_time"] for p in payloads)
    assert status == "completed" and len(payloads) == n == len(set(starts))
    assert starts[0] == 0 and all(b - a == pytest.approx(4, abs=0.01) for a, b in zip(starts, starts[1:], strict=False))
