"""Tags through the official `cloudglue` SDK against the real server: on files and segments, listed, updated
and deleted; found by tag search (`tag_lexical`, `tag_semantic`, `label_filters`) and selected by
`filter.tags` (OpenAI SDK `extra_body`), also on segments indexed after the tag was made."""

from __future__ import annotations

import httpx
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


@pytest.fixture(scope="module")
def indexed(cg, briefing_video):
    path, windows = briefing_video
    f = cg.files.upload(str(path), wait_until_finish=True, poll_interval=1)
    coll = cg.collections.create(collection_type="media-descriptions", name="tagged",
                                 default_segmentation_config={"strategy": "uniform",
                                                              "uniform_config": {"window_seconds": 5}})
    entry = cg.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    return f, coll, cg.segmentations.get(entry.segmentation.id).data.segments


def _search(base: str, coll: str, query: str, **extra) -> list[dict]:
    r = httpx.post(f"{base}/search", json={"scope": "segment", "collections": [coll], "query": query, **extra})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_tags_crud_search_and_filter(cg, indexed, live_server):
    from cloudglue.client.resources.base import CloudglueError

    f, coll, segments = indexed
    base = f"{live_server.url}/v1"
    whole = cg.tags.create(label="site", value="north depot", file_id=f.id)
    second = sorted(segments, key=lambda s: s.start_time)[1]
    one = cg.tags.create(label="hazard", value="forklift", file_id=f.id, segment_id=second.id)
    assert whole.type == "file" and one.type == "segment" and one.segment_id == second.id
    assert {t.id for t in cg.tags.list_file_tags(f.id).data} == {whole.id, one.id}
    assert [t.id for t in cg.tags.list_file_segment_tags(f.id, second.id).data] == [one.id]
    assert cg.tags.list(type="segment").total == 1

    hits = cg.search.search(scope="segment", collections=[coll.id], query="forklift",
                            search_modalities=["tag_lexical"], label_filters=["hazard"])
    assert [h.actual_instance.id for h in hits.results] == [second.id]
    by_meaning = _search(base, coll.id, "lift truck", search_modalities=["tag_semantic"], label_filters=["hazard"])
    assert by_meaning and by_meaning[0]["id"] == second.id and by_meaning[0]["tag"]["value"] == "forklift"
    assert not _search(base, coll.id, "forklift", search_modalities=["tag_lexical"], label_filters=["site"])

    only = _search(base, coll.id, "safety briefing", filter={"tags": [
        {"path": "hazard", "operator": "Equal", "valueText": "forklift"}]})
    assert [h["id"] for h in only] == [second.id]
    assert len(_search(base, coll.id, "safety", limit=50, filter={"tags": [
        {"path": "site", "operator": "Equal", "valueText": "north depot"}]})) == len(segments)

    cg.tags.update(one.id, value="pallet jack")
    assert _search(base, coll.id, "x", filter={"tags": [
        {"path": "hazard", "operator": "Equal", "valueText": "forklift"}]}) == []
    cg.tags.delete(one.id)
    with pytest.raises(CloudglueError) as err:
        cg.tags.get(one.id)
    assert err.value.status_code == 404

    later = cg.collections.create(collection_type="media-descriptions", name="tagged-later")
    cg.collections.add_video(later.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    assert _search(base, later.id, "safety", filter={"tags": [
        {"path": "site", "operator": "Equal", "valueText": "north depot"}]})  # new segments carry the file's tag


def test_bad_tags_are_4xx(indexed, live_server):
    f, coll, _ = indexed
    base = f"{live_server.url}/v1"
    for body, status in (({"label": "a", "value": "b", "file_id": "nope"}, 404),
                         ({"label": "a", "value": "b", "file_id": f.id, "segment_id": "nope"}, 404),
                         ({"label": "a.b", "value": "c", "file_id": f.id}, 400),
                         ({"label": "a", "file_id": f.id}, 400)):
        r = httpx.post(f"{base}/tags", json=body)
        assert r.status_code == status, (body, r.text)
    less = {"tags": [{"path": "a", "operator": "LessThan", "valueText": "1"}]}
    r = httpx.post(f"{base}/search", json={"scope": "segment", "collections": [coll.id], "query": "x", "filter": less})
    assert r.status_code == 400
    r = httpx.post(f"{base}/search", json={"scope": "segment", "collections": [coll.id], "query": "x",
                                           "label_filters": ["a"]})
    assert r.status_code == 400
