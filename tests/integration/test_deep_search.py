"""Deep search through the official `cloudglue` SDK against the real server and the default Qwen model:
planned searches merged by rank, the moment found, a checked synthesis, background mode, listing, errors."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


@pytest.fixture(scope="module")
def cg(qwen_server):
    from cloudglue import Cloudglue

    return Cloudglue(api_key="local", host=f"{qwen_server.url}/v1")


@pytest.fixture(scope="module")
def collection(cg, briefing_video):
    path, windows = briefing_video
    f = cg.files.upload(str(path), wait_until_finish=True, poll_interval=1)
    coll = cg.collections.create(collection_type="media-descriptions", name="deep",
                                 default_segmentation_config={"strategy": "shot-detector",
                                                              "shot_detector_config": {"detector": "adaptive"}})
    cg.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    return coll.id, f.id, windows


def test_deep_search_finds_and_explains_the_moment(cg, collection):
    coll, file_id, windows = collection
    ds = cg.deep_search.create(query="How do staff get out of the building if something goes wrong?",
                               collections=[coll], include=["search_queries"], limit=3)
    assert ds.status == "completed" and ds.text
    best = ds.results[0]
    start, end = windows[2]
    assert best.start_time < end and best.end_time > start and best.file_id == file_id, (best, windows)
    assert best.score == 1 and all(0 < r.score <= 1 for r in ds.results)
    assert len(ds.search_queries) >= 1 and ds.search_queries[0].query.startswith("How do staff")
    assert ds.usage.search_calls == len(ds.search_queries)
    assert cg.deep_search.get(ds.id).text == ds.text
    listed = cg.deep_search.list(limit=1)
    assert listed.total >= 1 and listed.data[0].id == ds.id


def test_background_deep_search_files_source_and_errors(cg, collection, qwen_server):
    from cloudglue.client.resources.base import CloudglueError

    coll, file_id, _ = collection
    ds = cg.deep_search.create(query="tyre pressure", files=[f"cloudglue://files/{file_id}"], background=True,
                               limit=2)
    assert ds.status == "in_progress"
    deadline = time.monotonic() + 300
    while (got := cg.deep_search.get(ds.id)).status == "in_progress":
        assert time.monotonic() < deadline
        time.sleep(1)
    assert got.status == "completed" and got.results
    cg.deep_search.delete(ds.id)
    with pytest.raises(CloudglueError) as err:
        cg.deep_search.get(ds.id)
    assert err.value.status_code == 404
    base = f"{qwen_server.url}/v1/deepSearch"
    for body in ({"query": "x"}, {"query": "", "knowledge_base": {"source": "default"}},
                 {"query": "x", "knowledge_base": {"source": "collections"}},
                 {"query": "x", "knowledge_base": {"source": "default"}, "stream": True}):
        assert httpx.post(base, json=body).status_code == 400, body
    assert httpx.post(base, json={"query": "x", "knowledge_base": {"source": "collections",
                                                                    "collections": ["nope"]}}).status_code == 404
