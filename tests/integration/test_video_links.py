"""BibiGPT-style chat: a message that links a video is indexed on the fly (once) and summarised by
map-reduce over all its segments, or answered about; remote URLs stay off unless allowed."""

from __future__ import annotations

import http.server
import threading
import time

import httpx
import pytest

from tests.media import TWO_SCENES, Scene, espeak_available, make_video

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    # Its own content: other modules upload TWO_SCENES as it is, and a link to identical bytes would
    # (rightly) reuse that file and its name.
    path = tmp_path_factory.mktemp("linked") / "safety_briefing.mp4"
    return path, make_video(path, TWO_SCENES + [Scene((20, 20, 20), text="END OF BRIEFING", seconds=2)])


def chat(url: str, content, **extra) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", timeout=600,
                      json={"model": "nimbus-001", "messages": [{"role": "user", "content": content}], **extra})


def test_a_bare_path_is_indexed_once_and_summarised_with_chapters(live_server, video):
    path, windows = video
    r = chat(live_server.url, str(path))
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    text = choice["message"]["content"]
    assert "Chapters:" in text and "[00:00–" in text
    cites = choice["citations"]
    assert cites and {c["filename"] for c in cites} == {"safety_briefing.mp4"}
    assert min(c["start_time"] for c in cites) == 0 and max(c["end_time"] for c in cites) == pytest.approx(
        windows[-1][1], abs=0.6)  # every segment is covered, not a top-k sample
    files_before = httpx.get(f"{live_server.url}/v1/files?limit=100").json()["total"]
    again = chat(live_server.url, [{"type": "video_url", "video_url": {"url": f"file://{path}"}},
                                   {"type": "text", "text": "Summarize the emergency instructions."}])
    # A summary (map-reduce over the linked file) cites every chapter whatever the test model answers, so
    # the citations below always exist to be checked (SmolLM2 refuses most questions).
    assert again.status_code == 200, again.text
    assert httpx.get(f"{live_server.url}/v1/files?limit=100").json()["total"] == files_before  # cached by hash
    cites = again.json()["choices"][0]["citations"]
    assert cites, ("no citation to check", again.json()["choices"][0]["message"]["content"])
    for c in cites:
        assert c["filename"] == "safety_briefing.mp4"


def test_remote_urls_are_off_by_default_and_missing_paths_are_400(live_server, tmp_path):
    r = chat(live_server.url, "http://10.0.0.5/video.mp4")
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert "CLIPCITE_REMOTE_MEDIA_FETCH" in r.json()["error"]["message"]
    r = chat(live_server.url, [{"type": "video_url", "video_url": str(tmp_path / "nope.mp4")}])
    assert r.status_code == 400 and "does not exist" in r.json()["error"]["message"]


def test_remote_fetch_only_from_allowed_hosts(tmp_path, video):
    from clipcite.errors import InvalidRequest
    from clipcite.settings import Settings
    from ingest.sources import fetch_remote

    path, _ = video
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(path.parent), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/{path.name}"
    try:
        allowed = Settings(data_dir=tmp_path, remote_media_fetch=True, remote_media_hosts=["127.0.0.0/8"])
        dest, name = fetch_remote(url, allowed, tmp_path)
        assert name == path.name and dest.read_bytes() == path.read_bytes()
        other = Settings(data_dir=tmp_path, remote_media_fetch=True, remote_media_hosts=["10.0.0.0/8"])
        with pytest.raises(InvalidRequest, match="not in CLIPCITE_REMOTE_MEDIA_HOSTS"):
            fetch_remote(url, other, tmp_path)
        small = Settings(data_dir=tmp_path, remote_media_fetch=True, remote_media_hosts=["127.0.0.1"],
                         max_upload_bytes=1000)
        with pytest.raises(InvalidRequest, match="exceeds"):
            fetch_remote(url, small, tmp_path)
        assert not list(tmp_path.glob("*.part"))
    finally:
        srv.shutdown()


def test_summary_of_the_one_video_in_a_collection(live_server, video):
    from cloudglue import Cloudglue

    path, _ = video
    cg = Cloudglue(api_key="local", host=f"{live_server.url}/v1")
    f = cg.files.upload(str(path), wait_until_finish=True, poll_interval=1)
    col = cg.collections.create(collection_type="media-descriptions", name="one-video")
    cg.collections.add_video(col.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    r = cg.chat.completions.create(model="nimbus-001", collections=[col.id],
                                   messages=[{"role": "user", "content": "Give me a summary of the video"}])
    assert "Chapters:" in r.choices[0].message.content and r.choices[0].citations
    url = f"{live_server.url}/v1/collections/{col.id}/videos/{f.id}/media-descriptions"
    t0 = time.perf_counter()
    first = httpx.get(url, params={"include_summary": "true"}, timeout=600).json()
    cold = time.perf_counter() - t0
    assert first["summary"] and first["chapters"][0]["start_time"] == 0 and first["total_chapters"] >= 1
    t0 = time.perf_counter()
    second = httpx.get(url, params={"include_summary": "true", "response_format": "markdown"}, timeout=600).json()
    assert second["summary"] == first["summary"] and time.perf_counter() - t0 < cold  # cached
    assert "summary" not in httpx.get(url).json()
