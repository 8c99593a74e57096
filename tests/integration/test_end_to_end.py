"""A generated video goes in through the official SDKs; answers cite the right moment.

Real models throughout: Whisper tiny.en, RapidOCR, MiniLM, SmolLM2-135M (and the default Qwen model
for the citation-accuracy check, which SmolLM2 cannot do).
"""

from __future__ import annotations

import httpx
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]

METADATA = {"department": "ops", "year": "2024", "tags": ["safety", "warehouse"]}


@pytest.fixture(scope="module")
def video(briefing_video):
    return briefing_video


@pytest.fixture(scope="module")
def cloudglue(live_server):
    from cloudglue import Cloudglue

    return Cloudglue(api_key="local", host=f"{live_server.url}/v1")


@pytest.fixture(scope="module")
def openai_client(live_server):
    from openai import OpenAI

    return OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)


@pytest.fixture(scope="module")
def indexed(cloudglue, video):
    """Upload, then add to a shot-segmented collection and a default (uniform 20 s) one."""
    path, windows = video
    f = cloudglue.files.upload(str(path), metadata=METADATA, wait_until_finish=True, poll_interval=1)
    shots = cloudglue.collections.create(
        collection_type="media-descriptions", name="shots",
        default_segmentation_config={"strategy": "shot-detector", "shot_detector_config": {"detector": "adaptive"}})
    cf = cloudglue.collections.add_video(shots.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    uniform = cloudglue.collections.create(collection_type="media-descriptions", name="uniform")
    cf2 = cloudglue.collections.add_video(uniform.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    return {"file": f, "shots": shots, "uniform": uniform, "cf": cf, "cf2": cf2, "windows": windows}


def overlaps(a_start, a_end, window):
    return a_start < window[1] and a_end > window[0]


def test_upload_probes_and_keeps_metadata(indexed, video):
    f = indexed["file"]
    assert f.status == "completed"
    assert f.metadata == METADATA
    assert abs(f.video_info.duration_seconds - video[1][-1][1]) < 0.5
    assert f.video_info.has_audio is True and f.created_at > 10**12  # milliseconds


def test_collection_processing_completes(indexed):
    assert indexed["cf"].status == "completed"
    assert indexed["cf2"].status == "completed"


def test_shot_segments_follow_the_cuts(live_server, indexed):
    from api.file_views import file_segments

    segs = file_segments(live_server.services, indexed["shots"].id, indexed["file"].id)
    windows = indexed["windows"]
    assert len(segs) == len(windows)
    for seg, (start, end) in zip(segs, windows, strict=False):
        assert abs(seg.start_time - start) < 0.6 and abs(seg.end_time - end) < 0.6


def test_media_descriptions_have_all_modalities(cloudglue, indexed):
    md = cloudglue.collections.get_media_descriptions(indexed["shots"].id, indexed["file"].id)
    speech = " ".join(p.text for p in md.speech).lower()
    assert "forklift" in speech and "emergency" in speech
    screen = " ".join(p.text for p in md.scene_text)
    assert "4471" in screen and "B12" in screen
    assert md.visual_scene_description and all(p.text for p in md.visual_scene_description)
    # Speech is placed at its time: the forklift sentence lies in scene 2.
    w2 = indexed["windows"][1]
    forklift = next(p for p in md.speech if "forklift" in p.text.lower())
    assert w2[0] <= forklift.start_time < w2[1]


def test_markdown_media_description(live_server, indexed):
    r = httpx.get(f"{live_server.url}/v1/collections/{indexed['shots'].id}/videos/{indexed['file'].id}/"
                  "media-descriptions", params={"response_format": "markdown"})
    assert r.status_code == 200 and "**Speech:**" in r.json()["content"]


@pytest.mark.parametrize("question,scene", [
    ("How often must forklift tyre pressure be checked?", 1),
    ("What is the badge code?", 1),
    ("Which exit should people use in an emergency?", 2),
])
def test_retrieval_finds_the_scene(live_server, indexed, question, scene):
    hits = live_server.services.retriever.retrieve(question, [indexed["shots"].id])
    top = hits[0].segment
    assert overlaps(top.start_time, top.end_time, indexed["windows"][scene])


@pytest.fixture(scope="module")
def qwen_indexed(qwen_server, video):
    """The same video on the default chat model's server: SmolLM2 refuses most questions, Qwen answers and
    cites, so the citation checks below always have citations to check."""
    from cloudglue import Cloudglue

    client = Cloudglue(api_key="local", host=f"{qwen_server.url}/v1")
    f = client.files.upload(str(video[0]), metadata=METADATA, wait_until_finish=True, poll_interval=1)
    coll = client.collections.create(collection_type="media-descriptions", name="filtered")
    client.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    return client, coll, f


def test_cloudglue_chat_with_filter_returns_citations(qwen_indexed, video):
    client, coll, f = qwen_indexed
    r = client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "What must forklift drivers check?"}],
        collections=[coll.id],
        filter={"metadata": [{"path": "department", "operator": "Equal", "valueText": "ops"},
                             {"path": "tags", "operator": "ContainsAny", "valueTextArray": ["safety"]}]})
    assert r.created_at > 10**12 and r.choices[0].message.role == "assistant"
    assert r.payload.collections == [coll.id]
    duration = video[1][-1][1]
    assert r.choices[0].citations, r.choices[0].message.content
    for c in r.choices[0].citations:
        assert c.file_id == f.id and c.collection_id == coll.id
        assert 0 <= c.start_time.actual_instance < c.end_time.actual_instance <= duration + 0.01


def test_filter_that_excludes_everything_gives_a_refusal_without_citations(cloudglue, indexed):
    r = cloudglue.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "What must forklift drivers check?"}],
        collections=[indexed["shots"].id],
        filter={"metadata": [{"path": "department", "operator": "Equal", "valueText": "finance"}]})
    assert not r.choices[0].citations


def test_openai_sdk_chat_carries_citations_and_usage(openai_client, indexed):
    r = openai_client.chat.completions.create(
        # A summary of the collection's one video always cites; SmolLM2's answers to questions may be refused.
        model="nimbus-001", messages=[{"role": "user", "content": "Summarize this video."}],
        extra_body={"collections": [indexed["uniform"].id], "strict_grounding": False}, max_tokens=24, seed=1)
    assert r.object == "chat.completion" and r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 50 and r.usage.completion_tokens > 0
    citations = r.choices[0].model_extra["citations"]
    assert isinstance(citations, list) and citations, "no citation to check"
    for c in citations:
        assert c["file_id"] == indexed["file"].id and c["end_time"] > c["start_time"]


def test_openai_streaming_matches_non_streaming(openai_client, indexed):
    # strict_grounding off: a streamed answer cannot be replaced after the fact, a non-streamed one can.
    kwargs = dict(model="nimbus-001", messages=[{"role": "user", "content": "Summarise the safety rules."}],
                  extra_body={"collections": [indexed["uniform"].id], "strict_grounding": False}, max_tokens=20,
                  seed=7, temperature=0)
    full = openai_client.chat.completions.create(**kwargs)
    chunks = list(openai_client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == full.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][0]
    assert "citations" in final.choices[0].model_extra


def test_openai_errors_are_typed(openai_client, indexed):
    import openai

    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as err:
        openai_client.chat.completions.create(model="nimbus-001", messages=[{"role": "user", "content": "hi"}], n=2)
    assert err.value.body["param"] == "n"
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="nimbus-001", messages=[{"role": "user", "content": "hi"}],
                                              extra_body={"collections": ["nope"]})
    with pytest.raises(openai.BadRequestError) as err:
        openai_client.chat.completions.create(
            model="nimbus-001", messages=[{"role": "user", "content": "hi"}],
            extra_body={"collections": [indexed["uniform"].id],
                        "filter": {"metadata": [{"path": "x", "operator": "Near", "valueText": "1"}]}})
    assert err.value.body["param"] == "filter.metadata[0].operator"


def test_error_shape_for_malformed_json_and_unknown_ids(live_server):
    r = httpx.post(f"{live_server.url}/v1/chat/completions", content=b"{not json",
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = httpx.get(f"{live_server.url}/v1/files/does-not-exist")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = httpx.post(f"{live_server.url}/v1/collections", json={"name": 5})
    assert r.status_code == 400 and r.json()["error"]["param"] == "name"


def test_listing_and_deleting(cloudglue, live_server, indexed, video):
    files = cloudglue.files.list()
    assert any(f.id == indexed["file"].id for f in files.data)
    assert any(c.id == indexed["shots"].id for c in cloudglue.collections.list().data)
    videos = cloudglue.collections.list_videos(indexed["uniform"].id)
    assert [v.file_id for v in videos.data] == [indexed["file"].id]
    # A second upload of the same video, added and removed again: its segments go with it.
    f2 = cloudglue.files.upload(str(video[0]), metadata={"department": "tmp"}, wait_until_finish=True, poll_interval=1)
    cloudglue.collections.add_video(indexed["uniform"].id, f2.id, wait_until_finish=True, poll_interval=1)
    from engine.filters import Group, Match
    store = live_server.services.store
    assert store.count(Group(must=[Match("file_id", (f2.id,))])) > 0
    cloudglue.files.delete(f2.id)
    assert store.count(Group(must=[Match("file_id", (f2.id,))])) == 0
    assert [v.file_id for v in cloudglue.collections.list_videos(indexed["uniform"].id).data] == [indexed["file"].id]


def test_broken_upload_fails_with_reason_and_worker_survives(cloudglue, live_server, tmp_path, video):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is a text file, not a video")
    f = cloudglue.files.upload(str(bad), wait_until_finish=True, poll_interval=1)
    assert f.status == "failed"
    coll = cloudglue.collections.create(collection_type="media-descriptions", name="broken")
    cf = cloudglue.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1)
    assert cf.status == "failed"
    raw = httpx.get(f"{live_server.url}/v1/collections/{coll.id}/videos/{f.id}").json()
    assert "not a readable video" in raw["error"]
    good = cloudglue.files.upload(str(video[0]), wait_until_finish=True, poll_interval=1)
    done = cloudglue.collections.add_video(coll.id, good.id, wait_until_finish=True, poll_interval=1)
    assert done.status == "completed"


def test_metadata_update_is_reflected_in_filters(cloudglue, live_server, indexed):
    from engine.filters import parse_filter

    store = live_server.services.store
    moved = parse_filter({"metadata": [{"path": "department", "operator": "Equal", "valueText": "logistics"}]})
    like = {"metadata": [{"path": "department", "operator": "Like", "valueText": "LOGI%"}]}
    assert store.count(moved) == 0
    assert cloudglue.files.list(filter=like).total == 0
    cloudglue.files.update(indexed["file"].id, metadata={**METADATA, "department": "logistics"})
    assert store.count(moved) > 0
    assert [f.id for f in cloudglue.files.list(filter=like).data] == [indexed["file"].id]
    assert [v.file_id for v in cloudglue.collections.list_videos(indexed["shots"].id, filter=like).data] == [
        indexed["file"].id]
    cloudglue.files.update(indexed["file"].id, metadata=METADATA)
    assert store.count(moved) == 0
    assert cloudglue.files.list(filter=like).total == 0


def test_utterance_vectors_are_cached_at_index_time(live_server, indexed):
    """Answering ranks utterances against the question; their vectors are stored while indexing so a
    question embeds only itself."""
    from engine.embedding import VectorCache
    from engine.filters import Group, Match

    svc = live_server.services
    texts = [p["text"] for h in svc.store.scroll(Group(must=[Match("file_id", (indexed["file"].id,))]))
             for p in h.payload.get("speech") or [] if p["text"]]
    assert texts
    on_disk = VectorCache(svc.settings.data_dir / "cache" / f"vectors-{svc.embedder.model_path.name}.sqlite3")
    try:
        found = on_disk.get([VectorCache.key(t) for t in texts])
    finally:
        on_disk.close()
    assert len(found) == len(set(texts))
    fresh = svc.embedder.embed([texts[0]])[0]
    assert float(fresh @ found[VectorCache.key(texts[0])]) > 0.999


def test_like_and_listing_filters_through_the_sdk(cloudglue, live_server, indexed):
    """Like is case-insensitive with % wildcards, in search and in listings; a bad filter is a 400."""
    shots = indexed["shots"].id
    name = indexed["file"].filename
    suffix = {"file": [{"path": "filename", "operator": "Like", "valueText": "%" + name[-6:].upper()}]}
    r = cloudglue.search.search(scope="segment", collections=[shots], query="badge code", limit=3, filter=suffix)
    assert r.results and all(x.actual_instance.file_id == indexed["file"].id for x in r.results)
    none = {"file": [{"path": "filename", "operator": "Like", "valueText": "zz%" + name}]}
    assert cloudglue.search.search(scope="segment", collections=[shots], query="badge code", limit=3,
                                   filter=none).results == []
    assert [v.file_id for v in cloudglue.collections.list_videos(shots, filter=suffix).data] == [indexed["file"].id]
    year = {"metadata": [{"path": "year", "operator": "GreaterThan", "valueText": "2030"}]}
    assert cloudglue.files.list(filter=year).total == 0
    bad = httpx.get(f"{live_server.url}/v1/files", params={"filter": "{not json"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "filter"
    bad = httpx.get(f"{live_server.url}/v1/files",
                    params={"filter": '{"metadata": [{"path": "x", "operator": "Near"}]}'})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "filter.metadata[0].operator"


def test_stored_completions_can_be_listed(live_server):
    r = httpx.get(f"{live_server.url}/v1/chat/completions").json()
    assert r["total"] >= 1
    one = httpx.get(f"{live_server.url}/v1/chat/completions/{r['data'][0]['id']}")
    assert one.status_code == 200 and one.json()["object"] == "chat.completion"
    from openai import OpenAI

    gone = OpenAI(api_key="local", base_url=f"{live_server.url}/v1").chat.completions.delete(r["data"][0]["id"])
    assert gone.deleted and gone.id == r["data"][0]["id"]
    assert httpx.get(f"{live_server.url}/v1/chat/completions/{r['data'][0]['id']}").status_code == 404
    assert httpx.get(f"{live_server.url}/v1/chat/completions").json()["total"] == r["total"] - 1


def test_cloudglue_search_segments_files_and_groups(cloudglue, indexed):
    w2 = indexed["windows"][1]
    r = cloudglue.search.search(scope="segment", collections=[indexed["shots"].id], query="badge code 4471", limit=3)
    top = r.results[0].actual_instance
    assert top.type == "segment" and overlaps(top.start_time, top.end_time, w2)
    assert any("4471" in t.text for t in top.scene_text)
    assert cloudglue.search.get(r.id).id == r.id
    assert httpx.delete(f"{cloudglue.search.api.api_client.configuration.host}/search/{r.id}").json()["deleted"]
    assert httpx.delete(f"{cloudglue.search.api.api_client.configuration.host}/search/{r.id}").status_code == 404
    ocr_only = cloudglue.search.search(scope="segment", collections=[indexed["shots"].id], query="4471",
                                       search_modalities=["ocr_lexical"], limit=3)
    assert len(ocr_only.results) == 1  # only the scene showing the code has it on screen
    files = cloudglue.search.search(scope="file", collections=[indexed["shots"].id], query="forklift", limit=5)
    assert [f.actual_instance.file_id for f in files.results] == [indexed["file"].id]
    groups = cloudglue.search.search(scope="segment", collections=[indexed["shots"].id], query="safety",
                                     group_by_key="file", limit=5)
    g = groups.results[0].actual_instance
    assert g.file_id == indexed["file"].id and g.item_count == len(g.matched_items) >= 1


def test_search_rejects_unsupported_modalities_and_scopes(live_server, indexed):
    r = httpx.post(f"{live_server.url}/v1/search", json={"collections": [indexed["shots"].id], "query": "x",
                                                          "search_modalities": ["doc_lexical"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "search_modalities"
    r = httpx.post(f"{live_server.url}/v1/search", json={"collections": [indexed["shots"].id], "query": "x",
                                                          "scope": "face"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "scope"


def test_segment_metadata_and_thumbnails(cloudglue, live_server, indexed):
    from engine.filters import parse_filter

    segs = cloudglue.files.list_segments(indexed["file"].id)
    assert segs.total >= 3 and all(s.thumbnail_url for s in segs.data)
    first = segs.data[0]
    img = httpx.get(first.thumbnail_url)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    flagged = parse_filter({"metadata": [{"path": "reviewed", "scope": "segment", "operator": "Equal",
                                          "valueText": "yes"}]})
    assert live_server.services.store.count(flagged) == 0
    cloudglue.file_segments.update(indexed["file"].id, first.id, metadata={"reviewed": "yes"})
    assert live_server.services.store.count(flagged) == 1
    assert cloudglue.file_segments.get(indexed["file"].id, first.id).metadata == {"reviewed": "yes"}


def test_json_schema_output_always_parses_and_validates(openai_client, indexed):
    import json

    import jsonschema

    # maxLength is enforced by the grammar too, so the object always closes within the token budget.
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 60},
                                               "confident": {"type": "boolean"}},
              "required": ["answer", "confident"]}
    r = openai_client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "What is the badge code?"}], max_tokens=120,
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
        extra_body={"collections": [indexed["uniform"].id]})
    jsonschema.validate(json.loads(r.choices[0].message.content), schema)
    assert r.choices[0].finish_reason == "stop"


def test_strict_schema_with_open_lists_parses_with_default_parameters(openai_client, indexed):
    """No max_tokens and a schema with an unbounded list of unbounded strings: the bounds fitted to the
    reply's budget close the object whatever the model writes (it came back as unterminated JSON)."""
    import json

    import jsonschema

    schema = {"type": "object", "properties": {"limit_kmh": {"type": "integer"},
                                               "vehicle_types": {"type": "array", "items": {"type": "string"}}},
              "required": ["limit_kmh", "vehicle_types"], "additionalProperties": False}
    r = openai_client.chat.completions.create(
        model="nimbus-001", messages=[{"role": "user", "content": "List every vehicle type with its speed limit."}],
        response_format={"type": "json_schema", "json_schema": {"name": "limits", "schema": schema, "strict": True}},
        extra_body={"collections": [indexed["uniform"].id]})
    jsonschema.validate(json.loads(r.choices[0].message.content), schema)
    assert r.choices[0].finish_reason == "stop"


def test_videodb_shape_scopes_to_a_file(live_server, indexed):
    r = httpx.post(f"{live_server.url}/v1/chat/completions", headers={"x-access-token": "local"}, timeout=120, json={
        "model": "nimbus-001", "collection_id": indexed["uniform"].id, "video_id": indexed["file"].id,
        # A summary always cites (SmolLM2's answers to questions are often refused by the checks).
        "messages": [{"role": "user", "content": "Summarize this video."}], "max_tokens": 16})
    assert r.status_code == 200
    cites = r.json()["choices"][0]["citations"]
    assert cites, "no citation to check"
    for c in cites:
        assert c["file_id"] == indexed["file"].id
    r = httpx.post(f"{live_server.url}/v1/chat/completions", json={
        "model": "nimbus-001", "collection_id": indexed["uniform"].id, "video_id": "missing",
        "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 404


def test_real_responses_match_the_documented_models(live_server, indexed):
    """/docs documents dict-built responses with models in api.responses; check them on real data."""
    from api import responses as R

    f, col = indexed["file"], indexed["shots"]
    with httpx.Client(base_url=f"{live_server.url}/v1", timeout=300) as c:
        def get(path, model, **kw):
            r = c.get(path, **kw)
            assert r.status_code == 200, (path, r.text)
            return model.model_validate(r.json())

        get(f"/files/{f.id}", R.FileObject)
        get("/files", R.FileList)
        segs = get(f"/files/{f.id}/segments", R.SegmentList)
        get(f"/files/{f.id}/segments/{segs.data[0].id}", R.SegmentObject)
        get(f"/files/{f.id}/transcript.json", R.TranscriptJson)
        get(f"/collections/{col.id}", R.CollectionObject)
        get("/collections", R.CollectionList)
        get(f"/collections/{col.id}/videos", R.CollectionFileList)
        get(f"/collections/{col.id}/videos/{f.id}", R.CollectionFileObject)
        desc = get(f"/collections/{col.id}/videos/{f.id}/media-descriptions", R.MediaDescription)
        assert desc.speech and desc.segment_summary
        get(f"/collections/{col.id}/videos/{f.id}/media-descriptions", R.MediaDescription,
            params={"response_format": "markdown"})
        get(f"/collections/{col.id}/media-descriptions", R.MediaDescriptionList)
        for body in ({"query": "forklift", "collections": [col.id]},
                     {"query": "forklift", "collections": [col.id], "scope": "file"},
                     {"query": "forklift", "collections": [col.id], "group_by_key": "file"}):
            r = c.post("/search", json=body)
            found = R.SearchResponse.model_validate(r.json())
            assert found.results
        get(f"/search/{found.id}", R.SearchResponse)
        get("/search", R.SearchList)
        chat = c.post("/chat/completions", json={"model": "nimbus-001", "collections": [col.id],
                                                  "messages": [{"role": "user", "content": "What is the badge code?"}]})
        done = R.ChatCompletion.model_validate(chat.json())
        get(f"/chat/completions/{done.id}", R.ChatCompletion)
        get("/chat/completions", R.ChatCompletionList)
        get("/models", R.ModelList)
    R.Health.model_validate(httpx.get(f"{live_server.url}/health").json())
