"""SIGTERM with a streamed chat and an ingest job in flight: the server stops accepting, lets the request run
for the grace period, then stops it and exits; the ingest job goes back to the queue (not left `running`
until its lease runs out) and a restart completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time

import httpx
import pytest

from tests.builders import add, upload, wait_status
from tests.conftest import free_port
from tests.integration.test_reliability import serve_process
from tests.media import TWO_SCENES, espeak_available, make_video

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")]
GRACE_S = 3


def _serve(data_dir, port) -> subprocess.Popen:
    return serve_process(data_dir, port, {"CLIPCITE_SHUTDOWN_GRACE_SECONDS": str(GRACE_S),
                                          "CLIPCITE_MAX_ANSWER_TOKENS": "1500"}, until_ok=True)


def test_sigterm_finishes_within_the_grace_period_and_hands_jobs_back(tmp_path):
    video = tmp_path / "long.mp4"
    make_video(video, TWO_SCENES * 4)
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}/v1"
    proc = _serve(data, port)
    try:
        c = httpx.Client(base_url=base, timeout=60)
        coll = c.post("/collections", json={"name": "term"}).json()["id"]
        f = upload(c, video)
        add(c, coll, f["id"])
        wait_status(c, coll, f["id"], want=("processing",), every=0.05)
        streamed = threading.Event()

        def chat() -> None:
            body = {"model": "nimbus-001", "stream": True, "strict_grounding": False,
                    "messages": [{"role": "user", "content": "Write a very long story about ships."}]}
            try:
                with httpx.stream("POST", f"{base}/chat/completions", json=body, timeout=120) as r:
                    for _ in r.iter_lines():
                        streamed.set()
            except httpx.HTTPError:
                pass

        threading.Thread(target=chat, daemon=True).start()
        assert streamed.wait(60)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(GRACE_S + 30)
        assert time.monotonic() - t0 < GRACE_S + 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    with sqlite3.connect(data / "catalog.sqlite3") as db:
        states = [r[0] for r in db.execute("SELECT state FROM jobs")]
    assert states == ["queued"] or states == ["completed"], states  # handed back, unless it had finished
    proc = _serve(data, port)
    try:
        c = httpx.Client(base_url=base, timeout=60)
        assert wait_status(c, coll, f["id"], fail_on_failed=True)["status"] == "completed"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert os.path.exists(data / "catalog.sqlite3")
