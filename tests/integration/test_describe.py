"""Cloudglue's describe and transcribe jobs through the official SDK, against the real server and models:
create / get / list / delete / run, the `enable_*` switches, formats, modalities, time windows, word
timestamps, an existing segmentation reused, and bad input in the error shape."""

from __future__ import annotations

import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


def test_describe_run_returns_every_part_with_times(cg, uploaded):
    f, windows = uploaded
    job = cg.describe.run(url=f.uri, poll_interval=1, timeout=300, enable_audio_description=True,
                          include_word_timestamps=True, include_chapters=True)
    assert job.status == "completed", job.error
    data = job.data
    said = " ".join(p.text for p in data.speech).lower()
    assert "pressure every monday" in said
    assert any("4471" in p.text for p in data.scene_text)
    assert data.visual_scene_description
    assert data.summary and data.segment_summary and data.title == "warehouse_briefing"
    words = [w for p in data.speech for w in p.words]
    assert words and all(p.start_time - 0.06 <= w.start_time < p.end_time + 0.06 for p in data.speech
                         for w in p.words)
    duration = windows[-1][1]
    assert all(0 <= p.start_time < p.end_time <= duration + 0.5 for p in data.speech + data.scene_text)
    assert job.chapters and job.total_chapters == len(job.chapters)
    assert job.describe_config.enable_audio_description is True
    assert job.file.id == f.id and job.segmentation_id


def test_switches_modalities_windows_and_formats(cg, uploaded):
    f, windows = uploaded
    job = cg.describe.run(url=f.id, poll_interval=1, timeout=300, enable_visual_scene_description=False,
                          enable_summary=False)
    assert job.status == "completed"
    assert job.data.visual_scene_description is None and job.data.summary is None and job.data.speech
    only = cg.describe.get(job.job_id, modalities=["scene_text"])
    assert only.data.speech is None and only.data.scene_text
    start, end = windows[1]
    window = cg.describe.get(job.job_id, start_time_seconds=start, end_time_seconds=end)
    assert window.data.speech and all(p.end_time > start and p.start_time < end for p in window.data.speech)
    assert len(window.data.speech) < len(job.data.speech)
    md = cg.describe.get(job.job_id, response_format="markdown")
    assert md.data.content.startswith("# warehouse_briefing") and md.data.speech is None
    srt = cg.describe.get(job.job_id, response_format="speech_srt")
    assert "-->" in srt.data.content and "pressure every monday" in srt.data.content.lower()


def test_transcribe_jobs_list_page_and_delete(cg, uploaded):
    from cloudglue.client.resources.base import CloudglueError

    f, _ = uploaded
    t = cg.transcribe.run(url=f.uri, poll_interval=1, timeout=300, enable_summary=False)
    assert t.status == "completed" and t.data.speech and t.data.scene_text is None
    assert t.transcribe_config.enable_speech and not t.transcribe_config.enable_scene_text
    described = cg.describe.create(url=f.uri, enable_summary=False)
    seg = described.segmentation_id
    second = cg.transcribe.create(url=f.uri, enable_summary=False, segmentation_id=seg)  # reused: no new analysis
    assert second.status == "completed"
    listed = cg.transcribe.list(limit=1)
    assert listed.total >= 2 and [j.job_id for j in listed.data] == [second.job_id]
    assert listed.data[0].data is None  # no data unless asked
    with_data = cg.describe.list(limit=1, include_data=True)
    assert with_data.data[0].data.speech
    assert cg.transcribe.list(limit=100, status="failed").total == 0
    assert cg.describe.delete(described.job_id).id == described.job_id
    with pytest.raises(CloudglueError) as err:
        cg.describe.get(described.job_id)
    assert err.value.status_code == 404
    assert cg.transcribe.get(second.job_id).status == "completed"  # its segmentation and file stay
    with pytest.raises(CloudglueError) as err:  # a describe id is not a transcribe job
        cg.describe.get(t.job_id)
    assert err.value.status_code == 404


def test_bad_jobs_are_4xx_in_the_error_shape(live_server, uploaded):
    import httpx

    f, _ = uploaded
    base = f"{live_server.url}/v1"
    for body, status in (({"url": "cloudglue://files/nope"}, 404), ({}, 400),
                         ({"url": f.uri, "segmentation_id": "x", "segmentation_config": {"strategy": "uniform"}}, 400),
                         ({"url": f.uri, "segmentation_config": {"strategy": "uniform",
                                                                  "uniform_config": {"window_seconds": 0}}}, 400),
                         ({"url": f.uri, "segmentation_id": "no-such-segmentation"}, 404)):
        r = httpx.post(f"{base}/describe", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["message"]
    job = httpx.post(f"{base}/transcribe", json={"url": f.uri}).json()
    for query in ({"response_format": "pdf"}, {"modalities": "smell"},
                  {"start_time_seconds": 5, "end_time_seconds": 2}):
        r = httpx.get(f"{base}/transcribe/{job['job_id']}", params=query)
        assert r.status_code == 400, (query, r.text)


def test_resources_without_an_offline_counterpart_answer_501_with_the_reason(cg, live_server):
    import httpx
    from cloudglue.client.resources.base import CloudglueError

    for call in (cg.data_connectors.list, cg.face_detection.list, cg.share.list):
        with pytest.raises(CloudglueError) as err:
            call()
        assert err.value.status_code == 501
    r = httpx.post(f"{live_server.url}/v1/face-match", json={}, params={"resource": "x"})
    assert r.status_code == 501 and r.json()["error"]["type"] == "not_supported_error"
    assert "face" in r.json()["error"]["message"]
