"""Hostile and odd media: each ends `failed` with a reason or is processed, and the worker goes on."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.builders import wait_status
from tests.media import TWO_SCENES, espeak_available, make_video

pytestmark = [pytest.mark.integration]


def _video(path: Path, frames: int, size=(160, 90), fps=10, audio=False, vfr=False) -> Path:
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        if frames == 0:
            out.start_encoding()  # header only: a container whose video stream holds nothing
        for i in range(frames):
            img = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = pts
            frame.time_base = Fraction(1, 1000)
            pts += (50 if i % 2 else 200) if vfr else 1000 // fps
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if audio:
            aus = out.add_stream("aac", rate=16000)
            for i in range(0, 16000, 1024):
                f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.int16), format="s16", layout="mono")
                f.sample_rate, f.pts = 16000, i
                for pkt in aus.encode(f):
                    out.mux(pkt)
    return path


def _audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as out:
        aus = out.add_stream("aac", rate=16000)
        for i in range(0, 32000, 1024):
            f = av.AudioFrame.from_ndarray((np.random.default_rng(i).normal(0, 0.1, (1, 1024)) * 3000)
                                           .astype(np.int16), format="s16", layout="mono")
            f.sample_rate, f.pts = 16000, i
            for pkt in aus.encode(f):
                out.mux(pkt)
    return path


def _png(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), np.full((90, 160, 3), 200, np.uint8))
    return path


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = _video(d / "good.mp4", 30)
    cases = {
        "zero_bytes.mp4": (d / "zero_bytes.mp4", "failed"),
        "text_renamed.mp4": (d / "text_renamed.mp4", "failed"),
        "truncated.mp4": (d / "truncated.mp4", None),  # failed or processed: the head may still decode
        "audio_only.m4a": (_audio_only(d / "audio_only.m4a"), "failed"),
        "still.png": (_png(d / "still.png"), None),  # a one-frame "video" is processed or refused, never a crash
        "no_audio.mp4": (_video(d / "no_audio.mp4", 20), "completed"),
        "zero_seconds.mp4": (_video(d / "zero_seconds.mp4", 0), "failed"),
        "vfr.mp4": (_video(d / "vfr.mp4", 30, vfr=True), "completed"),
        "large_frame.mp4": (_video(d / "large_frame.mp4", 3, size=(3840, 2160)), "completed"),
        "wrong_extension.avi": (_video(d / "wrong_extension.avi", 20), "completed"),
    }
    (d / "zero_bytes.mp4").write_bytes(b"")
    (d / "text_renamed.mp4").write_text("not a video at all\n" * 50)
    data = good.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return good, cases


def _wait(client: httpx.Client, coll: str, fid: str, timeout: float = 180) -> dict:
    return wait_status(client, coll, fid, timeout=timeout, every=0.5)


def test_each_bad_file_gets_a_clear_result_and_the_worker_keeps_going(live_server, fixtures):
    good, cases = fixtures
    client = httpx.Client(base_url=f"{live_server.url}/v1", timeout=120)
    coll = client.post("/collections", json={"name": "hostile"}).json()["id"]
    results = {}
    for name, (path, expected) in cases.items():
        with open(path, "rb") as fh:
            r = client.post("/files", files={"file": (name, fh, "application/octet-stream")})
        assert r.status_code == 200, r.text
        f = r.json()
        add = client.post(f"/collections/{coll}/media", json={"file_id": f["id"]})
        assert add.status_code == 200
        results[name] = (f, expected)
    for name, (f, expected) in results.items():
        st = _wait(client, coll, f["id"])
        if expected:
            assert st["status"] == expected, (name, st)
        if st["status"] == "failed":
            assert st.get("error"), name  # a reason, always
    # The worker survived all of it.
    with open(good, "rb") as fh:
        f = client.post("/files", files={"file": ("good.mp4", fh, "video/mp4")}).json()
    client.post(f"/collections/{coll}/media", json={"file_id": f["id"]})
    assert _wait(client, coll, f["id"])["status"] == "completed"


def test_uploaded_names_cannot_escape_the_data_dir(live_server, tmp_path):
    client = httpx.Client(base_url=f"{live_server.url}/v1", timeout=60)
    r = client.post("/files", files={"file": ("../../../etc/evil.mp4", b"x" * 10, "video/mp4")})
    f = r.json()
    assert f["filename"] == "evil.mp4"
    stored = list((live_server.settings.resolved_data_dir / "files").glob(f"{f['id']}*"))
    assert len(stored) == 1 and stored[0].parent == live_server.settings.resolved_data_dir / "files"


def test_bad_metadata_is_a_400(live_server):
    client = httpx.Client(base_url=f"{live_server.url}/v1", timeout=60)
    r = client.post("/files", files={"file": ("a.mp4", b"x", "video/mp4")}, data={"metadata": "[1,2"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "metadata"


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")
def test_corrupt_audio_stream_is_a_failed_job_or_processed(live_server, tmp_path):
    path = tmp_path / "corrupt_audio.mp4"
    make_video(path, TWO_SCENES[:1])
    data = bytearray(path.read_bytes())
    # Scribble over the middle of the file, where interleaved audio packets live.
    mid = len(data) // 2
    data[mid: mid + 4000] = bytes((i * 37) % 256 for i in range(4000))
    path.write_bytes(bytes(data))
    client = httpx.Client(base_url=f"{live_server.url}/v1", timeout=60)
    coll = client.post("/collections", json={"name": "corrupt"}).json()["id"]
    with open(path, "rb") as fh:
        f = client.post("/files", files={"file": ("corrupt_audio.mp4", fh, "video/mp4")}).json()
    client.post(f"/collections/{coll}/media", json={"file_id": f["id"]})
    st = _wait(client, coll, f["id"])
    assert st["status"] == "completed" or st.get("error")


def _faststart_video(path: Path, frames: int) -> Path:
    """An MP4 with its index first (as ffmpeg's `-movflags faststart` and most web encoders write it): cut
    short, it still opens and claims the whole duration."""
    import av

    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 160, 90, "yuv420p"
        for i in range(frames):
            img = np.random.default_rng(i).integers(0, 255, (90, 160, 3), np.uint8)  # incompressible: real bytes
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
    return path


def test_truncated_file_fails_with_the_decoded_extent_or_is_indexed_with_a_warning(tmp_path):
    from clipcite.errors import MediaError
    from ingest.probe import probe

    whole = _faststart_video(tmp_path / "whole.mp4", 180)
    assert probe(whole).duration_seconds == pytest.approx(18.0, abs=0.2) and probe(whole).warnings == ()
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError) as err:
        probe(cut)
    assert err.value.message.startswith("truncated: decoded ") and "of 18.0 s" in err.value.message
    partial = probe(cut, allow_partial=True)
    assert partial.warnings and partial.warnings[0].startswith("truncated")
    assert 2.0 < partial.duration_seconds < 12.0  # the readable head, not the header's 18 s


def test_truncated_upload_is_failed_with_its_reason(live_server, tmp_path):
    whole = _faststart_video(tmp_path / "whole.mp4", 120)
    data = whole.read_bytes()
    client = httpx.Client(base_url=f"{live_server.url}/v1", timeout=120)
    f = client.post("/files", files={"file": ("cut.mp4", data[: len(data) // 3], "video/mp4")}).json()
    assert f["status"] == "failed" and f["error"].startswith("truncated: decoded"), f
