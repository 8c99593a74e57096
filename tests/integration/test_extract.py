"""Cloudglue's extract jobs through the official SDK against the real server and SmolLM2: entities that
are valid JSON for the schema (a grammar), timed segment entities, video-level merging, metadata mode,
paging and bad input."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]

SCHEMA = {"type": "object", "properties": {"codes": {"type": "array", "items": {"type": "string"}},
                                           "rule": {"type": "string"}}, "required": ["codes", "rule"]}


def test_segment_entities_follow_the_schema_and_carry_segment_times(cg, uploaded):
    f, windows = uploaded
    job = cg.extract.run(url=f.uri, schema=SCHEMA, prompt="Codes shown or said, and the safety rule.",
                         enable_segment_level_entities=True, poll_interval=1, timeout=600,
                         segmentation_config={"strategy": "manual", "manual_config": {"segments": [
                             {"start_time": a, "end_time": b} for a, b in windows]}})
    assert job.status == "completed", job.error
    segs = job.data.segment_entities
    assert [(s.start_time, s.end_time) for s in segs] == [tuple(w) for w in windows]
    for s in segs:
        jsonschema.validate(s.entities, SCHEMA)
    assert job.total == 3 and job.data.entities is None
    page = cg.extract.get(job.job_id, limit=1, offset=2)
    assert len(page.data.segment_entities) == 1 and page.data.segment_entities[0].start_time == windows[2][0]


def test_video_level_entities_and_metadata_mode(cg, uploaded):
    f, _ = uploaded
    cg.files.update(f.id, metadata={"site": "north depot"})
    job = cg.extract.run(url=f.uri, schema=SCHEMA, poll_interval=1, timeout=600)
    assert job.status == "completed"
    jsonschema.validate(job.data.entities, SCHEMA)
    assert job.data.segment_entities is None
    meta = cg.extract.run(url=f.uri, prompt="Which site is this file from?", enable_metadata_mode=True,
                          schema={"type": "object", "properties": {"site": {"type": "string"}}, "required": ["site"]},
                          poll_interval=1, timeout=600)
    assert meta.status == "completed" and isinstance(meta.data.entities["site"], str)
    listed = cg.extract.list(limit=1)
    assert listed.total >= 2 and listed.data[0].job_id == meta.job_id
    cg.extract.delete(meta.job_id)
    assert cg.extract.list(limit=100).total == listed.total - 1


def test_bad_extract_requests_are_400(live_server, uploaded):
    f, _ = uploaded
    for body in ({"url": f.uri}, {"url": f.uri, "prompt": "x", "enable_video_level_entities": True,
                                  "enable_segment_level_entities": True},
                 {"url": f.uri, "schema": {"type": "array"}}, {"url": f.uri, "prompt": ""},
                 {"url": f.uri, "prompt": "x", "enable_transcript_mode": True, "enable_metadata_mode": True}):
        r = httpx.post(f"{live_server.url}/v1/extract", json=body)
        assert r.status_code == 400, (body, r.text)
    assert httpx.get(f"{live_server.url}/v1/extract/nope").status_code == 404
