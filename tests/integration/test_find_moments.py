"""Cloudglue's find_moments through the official SDK against the real server and the default Qwen model
(the judge must follow the criterion; SmolLM2 cannot): the moment is found at the right time, with
scores, boundaries on whole utterances, paging and deletion."""

from __future__ import annotations

import httpx
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


@pytest.fixture(scope="module")
def cg(qwen_server):
    from cloudglue import Cloudglue

    return Cloudglue(api_key="local", host=f"{qwen_server.url}/v1")


def test_finds_the_moment_that_meets_the_criterion(cg, briefing_video):
    path, windows = briefing_video
    f = cg.files.upload(str(path), wait_until_finish=True, poll_interval=1)
    run = cg.find_moments.create(url=f.uri, criterion={
        "name": "emergency_exit", "instructions": "Moments where viewers are told how to leave in an emergency.",
        "scoring": {"key": "clarity", "min": 1, "max": 5}}, min_duration_seconds=2)
    got = cg.find_moments.wait_for_ready(run.job_id, polling_interval=1, max_attempts=400)
    assert got.status == "completed", got.error
    assert got.moments, "no moment found"
    best = got.moments[0]
    start, end = windows[2]
    assert best.start_time < end and best.end_time > start, (best, windows)
    assert 0 <= best.rank_score <= 1 and 1 <= best.criterion_score.value <= 5
    assert all(not (m.start_time < windows[1][1] and m.end_time > windows[1][0] and m.start_time >= windows[1][0])
               for m in got.moments), "the tyre-pressure scene does not meet the criterion"
    assert got.total_moments == len(got.moments)
    listed = cg.find_moments.list(limit=1)
    assert listed.total >= 1 and listed.runs[0].job_id == run.job_id
    gone = cg.find_moments.delete(run.job_id)
    assert gone.deleted


def test_bad_find_moments_requests_are_400(qwen_server):
    base = f"{qwen_server.url}/v1/find-moments"
    for body in ({"url": "x"}, {"url": "x", "criterion": {"name": "a"}},
                 {"url": "x", "criterion": {"name": "a", "instructions": "b"}, "boundary_policy": "wide"},
                 {"url": "x", "criterion": {"name": "a", "instructions": "b"}, "min_duration_seconds": 50,
                  "max_duration_seconds": 10}):
        assert httpx.post(base, json=body).status_code == 400, body
    assert httpx.get(f"{base}/nope").status_code == 404
    assert httpx.get(base, params={"cursor": "x"}).status_code == 400
