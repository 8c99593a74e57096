"""Abuse on a real server with a real small model (SmolLM2-135M), loopback only, bounded in count and time:
streaming clients that hang up at random points, oversized and overlong requests, deletes racing ingest,
and kill -9 of the server during upload, ingest and chat followed by a restart that checks the invariants.
"""

from __future__ import annotations

import random
import signal
import socket
import threading
import time

import httpx
import pytest

from tests.builders import add, index, upload, wait_status
from tests.conftest import free_port
from tests.integration.test_reliability import serve_process as _serve
from tests.media import TWO_SCENES, espeak_available, make_video

pytestmark = [pytest.mark.integration]

NORMAL_LATENCY_S = 60  # SmolLM2 on 2 vCPUs answers in a few seconds; a wedged slot never answers


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def _settled(url: str, timeout: float = 30) -> None:
    """No model slot held and nothing admitted, once the clients are gone."""
    deadline = time.time() + timeout
    while (busy := _metric(url, "clipcite_model_slots_busy")) or _metric(url, "clipcite_chat_in_flight"):
        assert time.time() < deadline, f"wedged: {busy} slots busy"
        time.sleep(0.2)


def _chat(coll: str, content: str = "What is said in the video?", **extra) -> dict:
    return {"model": "nimbus-001", "collections": [coll], "messages": [{"role": "user", "content": content}],
            **extra}


def _raw_stream_then_hang_up(port: int, body: bytes, read_bytes: int) -> None:
    """A client that sends a streaming request and closes the socket after `read_bytes` of the response
    (0: before the response starts)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        got = 0
        while got < read_bytes:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += len(chunk)


@pytest.fixture(scope="module")
def empty_collection(live_server):
    c = httpx.Client(base_url=f"{live_server.url}/v1", timeout=120)
    return c.post("/collections", json={"name": "abuse"}).json()["id"]


def test_streaming_clients_that_hang_up_anywhere_leave_the_server_serving(live_server, empty_collection):
    import json

    url, port = live_server.url, live_server.port
    rng = random.Random(7)
    body = json.dumps(_chat(empty_collection, "Tell me a long story about the video.", stream=True,
                            max_tokens=64)).encode()
    cuts = [0, 1, 200, 400] + [rng.randint(1, 1500) for _ in range(4)]
    threads = [threading.Thread(target=_raw_stream_then_hang_up, args=(port, body, n)) for n in cuts]
    for t in threads:
        t.start()
        time.sleep(rng.random() * 0.3)
    for t in threads:
        t.join(120)
        assert not t.is_alive()
    # httpx clients that leave mid-stream, one after another (the SDK-like path)
    with httpx.Client(base_url=f"{url}/v1", timeout=120) as c:
        for stop_after in (1, 3):
            with c.stream("POST", "/chat/completions", json=_chat(empty_collection, stream=True)) as r:
                assert r.status_code == 200
                for n, _ in enumerate(r.iter_lines()):
                    if n >= stop_after:
                        break
    _settled(url)
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/v1/chat/completions", json=_chat(empty_collection, max_tokens=8), timeout=NORMAL_LATENCY_S)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] is not None
    assert time.perf_counter() - t0 < NORMAL_LATENCY_S
    with httpx.Client(timeout=NORMAL_LATENCY_S) as c, \
            c.stream("POST", f"{url}/v1/chat/completions",
                     json=_chat(empty_collection, stream=True, max_tokens=8)) as r:
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]" and not any('"error"' in ln for ln in lines)
    _settled(url)
    # answers the model started and the reader left are told from answers read (engine.client_standing)
    assert _metric(url, 'clipcite_model_answers_total{outcome="abandoned"}') >= 1
    assert _metric(url, 'clipcite_model_answers_total{outcome="read"}') >= 2
    # the prompts read were kept for the next request, within their budget (engine.prompt_cache)
    assert _metric(url, 'clipcite_prompt_states{what="states"}') >= 1
    assert 0 < _metric(url, 'clipcite_prompt_states{what="bytes"}') <= live_server.settings.prompt_cache_mb << 20


@pytest.mark.parametrize("stream", [False, True])
def test_message_over_the_context_is_a_400_context_length_exceeded(live_server, empty_collection, stream):
    r = httpx.post(f"{live_server.url}/v1/chat/completions", timeout=120,
                   json=_chat(empty_collection, "describe the video " * 12_000, stream=stream))
    assert r.status_code == 400, r.text[:500]
    err = r.json()["error"]
    assert err["code"] == "context_length_exceeded" and err["type"] == "invalid_request_error"
    assert "2048" in err["message"]  # the limit is in the message
    _settled(live_server.url)


def test_max_tokens_beyond_the_context_is_a_400(live_server, empty_collection):
    r = httpx.post(f"{live_server.url}/v1/chat/completions", timeout=120,
                   json=_chat(empty_collection, max_tokens=5000))
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_a_301_turn_conversation_is_fitted_to_the_context(live_server, empty_collection):
    messages = []
    for i in range(150):
        messages += [{"role": "user", "content": f"Question number {i} about the briefing video?"},
                     {"role": "assistant", "content": f"Answer number {i}: the briefing covers item {i}."}]
    messages.append({"role": "user", "content": "And what is the last item?"})
    assert len(messages) == 301
    r = httpx.post(f"{live_server.url}/v1/chat/completions", timeout=120,
                   json={"model": "nimbus-001", "collections": [empty_collection], "messages": messages,
                         "max_tokens": 16})
    assert r.status_code == 200, r.text[:500]
    assert r.json()["usage"]["prompt_tokens"] <= 2048 - 16


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")
def test_file_deleted_while_its_job_runs_leaves_no_points(live_server, tmp_path):
    video = tmp_path / "racing.mp4"
    make_video(video, TWO_SCENES * 2)
    c = httpx.Client(base_url=f"{live_server.url}/v1", timeout=120)
    coll = c.post("/collections", json={"name": "race"}).json()["id"]
    f = upload(c, video)
    add(c, coll, f["id"])
    wait_status(c, coll, f["id"], want=("processing",), every=0.05)
    assert c.delete(f"/files/{f['id']}").status_code == 200
    store = live_server.services.store
    from engine.filters import Group, Match

    scope = Group(must=[Match("file_id", (f["id"],))])
    deadline = time.time() + 120
    while live_server.services.worker.progress_of(coll, f["id"]) is not None:  # the job winds down
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(1.0)
    assert store.count(scope) == 0
    assert c.get(f"/files/{f['id']}").status_code == 404


def _slow_upload(port: int, size: int, sent: threading.Event) -> None:
    """An upload that sends half its body, then stalls until the server dies (the body is spooled to an
    anonymous temp file until complete; only a whole upload is copied into the data dir, as `.part`)."""
    boundary = "xBOUNDARYx"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    total = len(head) + size + len(f"\r\n--{boundary}--\r\n")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(f"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {total}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode() + head)
            s.sendall(b"\0" * (size // 2))
            sent.set()
            s.recv(1)  # until the server is killed
    except OSError:
        pass


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")
def test_kill_9_during_upload_ingest_and_chat_then_restart_keeps_every_invariant(tmp_path):
    video = tmp_path / "v.mp4"
    make_video(video, TWO_SCENES * 2)
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}/v1"
    proc = _serve(data, port)
    try:
        c = httpx.Client(base_url=base, timeout=120)
        coll = c.post("/collections", json={"name": "crash", "default_segmentation_config": {
            "strategy": "uniform", "uniform_config": {"window_seconds": 4}}}).json()["id"]
        done, st = index(c, coll, video, "done.mp4")
        assert st["status"] == "completed", st
        # Now three things in flight at once: an ingest job, a half-sent upload and a streaming chat.
        video.write_bytes(video.read_bytes() + b"\0" * 16)  # other content: a second file, not a reuse
        busy = upload(c, video, "busy.mp4")
        add(c, coll, busy["id"])
        wait_status(c, coll, busy["id"], want=("processing",), every=0.05)
        sent = threading.Event()
        uploader = threading.Thread(target=_slow_upload, args=(port, 8 << 20, sent), daemon=True)
        uploader.start()
        assert sent.wait(30)
        chat = threading.Thread(target=lambda: _raw_stream_then_hang_up(
            port, httpx.Request("POST", "/", json=_chat(coll, stream=True)).read(), 10_000), daemon=True)
        chat.start()
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    proc = _serve(data, port)
    try:
        c = httpx.Client(base_url=base, timeout=120)
        assert not list((data / "files").glob("*.part")), "half-written upload left behind"
        wait_status(c, coll, busy["id"], want=("completed",), fail_on_failed=True)  # the interrupted job resumed
        videos = c.get(f"/collections/{coll}/videos").json()["data"]
        assert {v["file_id"] for v in videos} == {done["id"], busy["id"]}
        assert all(v["status"] == "completed" and v["segment_count"] > 0 for v in videos)
        # every completed file has its segments, and the store holds nothing else (no orphans, no duplicates)
        assert (httpx.get(f"http://127.0.0.1:{port}/health").json()["segments"]
                == sum(v["segment_count"] for v in videos))
        for v in videos:
            assert len(c.get(f"/files/{v['file_id']}/segments").json()["data"]) == v["segment_count"]
        files = {f["id"] for f in c.get("/files").json()["data"]}
        assert files == {done["id"], busy["id"]}
        assert sorted(p.stem for p in (data / "files").iterdir()) == sorted(files)
        r = c.post("/chat/completions", json=_chat(coll, max_tokens=8))
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
