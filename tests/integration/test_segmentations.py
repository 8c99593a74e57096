"""Segmentations through the official `cloudglue` SDK against the real server: uniform, shot and narrative
(chapters on the scene cuts, each described by the model), listing, paging, deleting, and bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


def test_uniform_segmentation_lists_pages_and_deletes(cg, uploaded):
    from cloudglue.client.resources.base import CloudglueError

    f, windows = uploaded
    seg = cg.files.create_segmentation(f.id, {"strategy": "uniform", "uniform_config": {"window_seconds": 4}},
                                       wait_until_finish=True, poll_interval=1, timeout=300)
    assert seg.status == "completed" and seg.total_segments == 4  # 15.6 s in 4 s windows
    got = cg.segmentations.get(seg.segmentation_id, limit=2, offset=1)
    assert got.data.total == 4 and [(s.start_time, s.end_time) for s in got.data.segments] == [(4.0, 8.0),
                                                                                               (8.0, 12.0)]
    listed = cg.files.list_segmentations(f.id)
    assert seg.segmentation_id in {s.segmentation_id for s in listed.data}
    cg.segmentations.delete(seg.segmentation_id)
    with pytest.raises(CloudglueError) as err:
        cg.segmentations.get(seg.segmentation_id)
    assert err.value.status_code == 404


def test_narrative_chapters_start_on_scene_cuts_and_are_described(cg, uploaded, live_server):
    f, windows = uploaded
    body = {"strategy": "narrative", "narrative_config": {"number_of_chapters": 3}}
    made = httpx.post(f"{live_server.url}/v1/files/{f.id}/segmentations", json=body).json()
    seg = cg.segmentations.get(made["segmentation_id"])
    import time

    deadline = time.monotonic() + 300
    while seg.status not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(1)
        seg = cg.segmentations.get(made["segmentation_id"])
    assert seg.status == "completed"
    chapters = seg.data.chapters
    assert len(chapters) == 3 and seg.total_chapters == 3
    cuts = [w[0] for w in windows[1:]]
    starts = [c.start_time for c in chapters[1:]]
    assert all(min(abs(s - c) for c in cuts) <= 2.0 for s in starts), (starts, cuts)
    assert all(c.description.strip() for c in chapters)
    assert [(c.start_time, c.end_time) for c in chapters] == [(s.start_time, s.end_time) for s in seg.data.segments]


def test_bad_segmentations_are_4xx(cg, uploaded, live_server):
    f, _ = uploaded
    base = f"{live_server.url}/v1"
    for body in ({}, {"strategy": "keyframes"}, {"strategy": "narrative", "narrative_config": {"min_chapters": 5,
                                                                                               "max_chapters": 2}},
                 {"strategy": "uniform", "uniform_config": {"window_seconds": 500}}):
        r = httpx.post(f"{base}/files/{f.id}/segmentations", json=body)
        assert r.status_code == 400, (body, r.text)
    assert httpx.post(f"{base}/files/nope/segmentations", json={"strategy": "uniform"}).status_code == 404
    coll = cg.collections.create(collection_type="media-descriptions", name="user-collection")
    entry = cg.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    r = httpx.delete(f"{base}/segmentations/{entry.segmentation.id}")
    assert r.status_code == 409 and "remove the file" in r.json()["error"]["message"]


def test_keyframe_config_lists_each_segments_keyframes(cg, uploaded, live_server):
    f, windows = uploaded
    seg = cg.files.create_segmentation(f.id, {"strategy": "uniform", "uniform_config": {"window_seconds": 8},
                                              "keyframe_config": {"frames_per_segment": 2, "max_width": 160}},
                                       wait_until_finish=True, poll_interval=1, timeout=300)
    assert seg.segmentation_config.keyframe_config.frames_per_segment == 2
    raw = httpx.get(f"{live_server.url}/v1/segmentations/{seg.segmentation_id}").json()
    first = raw["data"]["segments"][0]
    assert [k["timestamp"] for k in first["keyframes"]] == [2.0, 6.0]
    image = httpx.get(f"{live_server.url}{first['keyframes'][1]['url']}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    past = httpx.get(f"{live_server.url}/v1/files/{f.id}/frame.jpg", params={"time_seconds": 999})
    assert past.status_code == 400
    bad = httpx.post(f"{live_server.url}/v1/files/{f.id}/segmentations",
                     json={"strategy": "uniform", "keyframe_config": {"frames_per_segment": 9}})
    assert bad.status_code == 400
