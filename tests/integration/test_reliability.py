"""Crash recovery (kill -9 mid-ingest) and the air gap (ingest + chat in a namespace with no network)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.builders import wait_status
from tests.conftest import MODELS_CACHE, free_port
from tests.media import TWO_SCENES, espeak_available, make_video

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")]

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "CLIPCITE_CHAT_MODEL": "smollm2-135m-instruct", "CLIPCITE_WHISPER_MODEL": "tiny.en",
       "CLIPCITE_MODELS_DIR": str(MODELS_CACHE), "CLIPCITE_N_CTX": "2048", "PYTHONPATH": str(ROOT)}


def serve_process(data_dir: Path, port: int, env: dict[str, str] | None = None,
                  until_ok: bool = False) -> subprocess.Popen:
    """`clipcite serve` in its own process, returned once /health answers (`until_ok`: once its start-up
    checks passed)."""
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "--log-level", "WARNING", "serve", "--port",
                             str(port), "--data-dir", str(data_dir)], env={**ENV, **(env or {})}, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            if r.status_code == 200 and (not until_ok or r.json().get("status") == "ok"):
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not start")


def test_kill_9_during_ingest_then_restart_leaves_no_duplicates(tmp_path):
    video = tmp_path / "long.mp4"
    make_video(video, TWO_SCENES * 3)
    data, port = tmp_path / "data", free_port()
    proc = serve_process(data, port)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        with open(video, "rb") as fh:
            f = httpx.post(f"{base}/files", files={"file": ("long.mp4", fh, "video/mp4")}, timeout=60).json()
        coll = httpx.post(f"{base}/collections", json={
            "name": "crash", "default_segmentation_config": {"strategy": "uniform",
                                                             "uniform_config": {"window_seconds": 4}}}).json()
        httpx.post(f"{base}/collections/{coll['id']}/media", json={"file_id": f["id"]}).raise_for_status()
        wait_status(httpx.Client(base_url=base), coll["id"], f["id"], want=("processing",), timeout=60, every=0.05)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    proc = serve_process(data, port)  # same data dir: the interrupted job is re-queued
    try:
        st = wait_status(httpx.Client(base_url=base), coll["id"], f["id"], want=("completed",), timeout=180,
                         fail_on_failed=True)
        desc = httpx.get(f"{base}/collections/{coll['id']}/videos/{f['id']}/media-descriptions").json()
        starts = [s["start_time"] for s in desc["segment_summary"]]
        assert len(starts) == len(set(starts)) == st["segment_count"]
        duration = desc["duration_seconds"]
        assert starts == [i * 4.0 for i in range(len(starts))] and len(starts) == -(-int(duration * 1000) // 4000)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["segments"] == st["segment_count"]  # nothing else in the store: no duplicates
    finally:
        proc.terminate()
        proc.wait(30)


AIRGAP_FLOW = r"""
import json, sys, time
from fastapi.testclient import TestClient
from api.app import create_app
from clipcite.settings import Settings
video, data, models = sys.argv[1:4]
app = create_app(Settings(data_dir=data, models_dir=models, chat_model="smollm2-135m-instruct", n_ctx=2048,
                          max_answer_tokens=16))
with TestClient(app) as c:
    f = c.post("/v1/files", files={"file": ("v.mp4", open(video, "rb"), "video/mp4")}).json()
    coll = c.post("/v1/collections", json={"name": "airgap"}).json()
    c.post(f"/v1/collections/{coll['id']}/media", json={"file_id": f["id"]})
    for _ in range(600):
        st = c.get(f"/v1/collections/{coll['id']}/videos/{f['id']}").json()
        if st["status"] in ("completed", "failed"):
            break
        time.sleep(0.3)
    r = c.post("/v1/chat/completions", json={"model": "nimbus-001", "collections": [coll["id"]],
               "messages": [{"role": "user", "content": "What is the badge code?"}]}).json()
    print(json.dumps({"status": st["status"], "error": st.get("error"),
                      "answer": r["choices"][0]["message"]["content"]}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_ingest_and_chat_inside_a_network_namespace_without_interfaces(tmp_path):
    video = tmp_path / "v.mp4"
    make_video(video, TWO_SCENES[:2])
    script = tmp_path / "flow.py"
    script.write_text(AIRGAP_FLOW)
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"network namespaces unavailable here: {probe.stderr.decode().strip()}")
    out = subprocess.run(["unshare", "-n", sys.executable, str(script), str(video), str(tmp_path / "data"),
                          str(MODELS_CACHE)], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed", result
    assert result["answer"]
