"""Speaker labels on real recorded voices (festival kal + slt): DER, filters, names."""

from __future__ import annotations

import importlib.util

import pytest

from ingest.stages.speech.speakers import diarization_error_rate
from tests.media import TWO_VOICES, festival_available, make_video, speech_windows

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not festival_available(), reason="needs festival + festvox voices"),
              pytest.mark.skipif(importlib.util.find_spec("resemblyzer") is None, reason="needs resemblyzer")]


@pytest.fixture(scope="module")
def two_voices(cloudglue_client, tmp_path_factory):
    path = tmp_path_factory.mktemp("voices") / "harbour_meeting.mp4"
    windows = make_video(path, TWO_VOICES)
    f = cloudglue_client.files.upload(str(path), metadata={"team": "harbour"}, wait_until_finish=True, poll_interval=1)
    coll = cloudglue_client.collections.create(collection_type="media-descriptions", name="meeting",
                                               default_segmentation_config={"strategy": "uniform",
                                                                            "uniform_config": {"window_seconds": 5}})
    cf = cloudglue_client.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    assert cf.status == "completed"
    return {"file": f, "coll": coll, "truth": speech_windows(TWO_VOICES, windows)}


@pytest.fixture(scope="module")
def cloudglue_client(live_server):
    from cloudglue import Cloudglue

    return Cloudglue(api_key="local", host=f"{live_server.url}/v1")


def _hyp(md):
    return [(p.start_time, p.end_time, p.speaker) for p in md.speech]


def test_two_voices_get_two_labels_with_low_error(cloudglue_client, two_voices):
    md = cloudglue_client.collections.get_media_descriptions(two_voices["coll"].id, two_voices["file"].id)
    labels = [p.speaker for p in md.speech]
    assert set(labels) == {"speaker_1", "speaker_2"} and labels[0] == "speaker_1"
    der = diarization_error_rate(two_voices["truth"], list(dict.fromkeys(_hyp(md))))
    assert der <= 0.10, der


def test_speaker_filter_and_names(cloudglue_client, live_server, two_voices):
    from engine.filters import parse_filter

    flt = parse_filter({"metadata": [{"path": "speaker", "scope": "segment", "operator": "Equal",
                                      "valueText": "speaker_2"}]})
    hits = live_server.services.retriever.retrieve("ferry launch date", [two_voices["coll"].id], flt)
    assert hits and all("speaker_2" in h.segment.speakers for h in hits)
    asked = live_server.services.retriever.retrieve("What did speaker 2 say?", [two_voices["coll"].id])
    assert "speaker_2" in asked[0].segment.speakers
    cloudglue_client.files.update(two_voices["file"].id, metadata={"team": "harbour",
                                                                  "speakers": {"speaker_1": "Dana",
                                                                               "speaker_2": "Lee"}})
    md = cloudglue_client.collections.get_media_descriptions(two_voices["coll"].id, two_voices["file"].id,
                                                             response_format="markdown")
    assert "Dana:" in md.content and "Lee:" in md.content
    md = cloudglue_client.collections.get_media_descriptions(two_voices["coll"].id, two_voices["file"].id)
    assert {p.speaker for p in md.speech} == {"Dana", "Lee"}


def test_transcript_exports_carry_speakers(live_server, two_voices):
    import httpx

    fid = two_voices["file"].id
    srt = httpx.get(f"{live_server.url}/v1/files/{fid}/transcript.srt")
    assert srt.status_code == 200 and srt.text.startswith("1\n00:00:")
    assert " --> " in srt.text and ("speaker_1:" in srt.text or "Dana:" in srt.text)
    vtt = httpx.get(f"{live_server.url}/v1/files/{fid}/transcript.vtt")
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT") and "<v " in vtt.text
    assert httpx.get(f"{live_server.url}/v1/files/{fid}/transcript.docx").status_code == 400
