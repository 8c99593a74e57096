"""Start-up sweep of interrupted uploads, and deletes that leave no point behind (fake store, real catalog)."""

import os
import subprocess
import sys
import time

from engine.catalog import Catalog, FileRecord, now_ms
from ingest.library import ORPHAN_GRACE_S, Library, partial_path, sweep_uploads


def _file(cat: Catalog, fid: str, path) -> None:
    cat.library.add_file(FileRecord(id=fid, filename="a.mp4", path=str(path), bytes=1, sha256="x", created_at=now_ms(),
                            metadata={}, video_info=None, status="completed", error=None))


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_sweep_removes_what_dead_writers_left_and_keeps_the_rest(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite3")
    files = tmp_path / "files"
    files.mkdir()
    known = files / "known.mp4"
    known.write_bytes(b"v")
    _file(cat, "known", known)
    old_orphan = files / "orphan.mp4"
    old_orphan.write_bytes(b"v")
    past = time.time() - ORPHAN_GRACE_S - 5
    os.utime(old_orphan, (past, past))
    fresh_orphan = files / "fresh.mp4"  # saved a moment ago by a live upload, about to be registered
    fresh_orphan.write_bytes(b"v")
    dead = files / f"x.mp4.{_dead_pid()}.part"
    dead.write_bytes(b"half")
    reused = partial_path(files / "y.mp4")  # our own pid: at start-up none of our uploads can be running yet
    reused.write_bytes(b"half")
    other_live = files / f"z.mp4.{os.getppid()}.part"
    other_live.write_bytes(b"half")
    assert sweep_uploads(cat, files) == 3
    assert sorted(p.name for p in files.iterdir()) == sorted(["known.mp4", "fresh.mp4", other_live.name])


class FakeStore:
    def __init__(self):
        self.points = {("c1", "f1"), ("c1", "f2"), ("c2", "f1")}
        self.fail = False

    def delete(self, flt):
        if self.fail:
            raise OSError("store down")
        want = {m.key: m.values[0] for m in flt.must}
        self.points = {p for p in self.points
                       if not all({"collection_id": p[0], "file_id": p[1]}[k] == v for k, v in want.items())}


def test_delete_interrupted_between_catalog_and_store_is_finished_at_start(tmp_path):
    import threading

    import pytest

    cat = Catalog(tmp_path / "c.sqlite3")
    _file(cat, "f1", tmp_path / "f1.mp4")
    store = FakeStore()
    lib = Library(cat, store, threading.RLock())
    store.fail = True
    with pytest.raises(OSError):
        lib.delete_file("f1")
    assert not cat.library.has_file("f1") and ("c1", "f1") in store.points  # rows gone, points owed
    store.fail = False
    assert Library(cat, store, threading.RLock()).finish_pending_deletes() == 1
    assert store.points == {("c1", "f2")}
    assert lib.finish_pending_deletes() == 0
