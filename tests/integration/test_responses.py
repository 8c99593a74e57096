"""The Responses API through both official SDKs (`openai` and `cloudglue`), against the real server with
real models (Whisper tiny.en, RapidOCR, the embedder, SmolLM2): answers with citations as annotations,
streaming with the documented event sequence, continuation, tools, structured output, storage and paging,
background responses, images in questions, errors in the API's shape, and persistence across a restart."""

from __future__ import annotations

import base64
import json
import time

import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import LiveServer, make_settings
from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]

TICKET = {"type": "function", "name": "create_ticket", "description": "Open a maintenance ticket",
          "parameters": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}


@pytest.fixture(scope="module")
def oa(live_server):
    from openai import OpenAI

    return OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)


@pytest.fixture(scope="module")
def one_video(cg, uploaded):
    """A collection holding only the briefing video (a summary request then covers that one video)."""
    f, windows = uploaded
    coll = cg.collections.create(collection_type="media-descriptions", name="responses")
    cf = cg.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=1, timeout=300)
    assert cf.status == "completed"
    return {"collection": coll.id, "file": f.id, "windows": windows}


def test_openai_response_cites_moments_as_annotations(oa, one_video):
    r = oa.responses.create(model="nimbus-001", input="Summarize this video.",
                            extra_body={"collections": [one_video["collection"]]})
    assert r.object == "response" and r.status == "completed"
    assert r.output_text.strip()
    (message,) = [o for o in r.output if o.type == "message"]
    notes = message.content[0].annotations
    assert notes, r.output_text
    duration = one_video["windows"][-1][1]
    for a in notes:
        extra = a.model_dump()
        assert extra["type"] == "cloudglue_citation" and extra["file_id"] == one_video["file"]
        assert 0 <= extra["start_time"] < extra["end_time"] <= duration + 0.5
        if extra.get("start_index") is not None:  # the [n] marker the annotation belongs to
            assert r.output_text[extra["start_index"]:extra["end_index"]] == f"[{extra['number']}]"
    assert r.usage.input_tokens > 0 and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    again = oa.responses.retrieve(r.id)
    assert again.output_text == r.output_text and again.id == r.id
    items = oa.responses.input_items.list(r.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "Summarize this video."


def test_openai_stream_follows_the_documented_event_sequence(oa, one_video):
    kinds, deltas = [], []
    with oa.responses.stream(model="nimbus-001", input="What must forklift drivers check?",
                             extra_body={"collections": [one_video["collection"]]}, max_output_tokens=24) as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert "response.output_text.delta" in kinds
    assert "".join(deltas).strip() == final.output_text
    assert final.status in ("completed", "incomplete")
    assert oa.responses.retrieve(final.id).output_text == final.output_text  # stored when it ended


def test_previous_response_id_continues_the_conversation_and_its_scope(oa, one_video, live_server):
    first = oa.responses.create(model="nimbus-001", input="What must forklift drivers check?", max_output_tokens=24,
                                extra_body={"collections": [one_video["collection"]]})
    follow = oa.responses.create(model="nimbus-001", input="And how often?", previous_response_id=first.id,
                                 max_output_tokens=24)
    assert follow.previous_response_id == first.id and follow.status in ("completed", "incomplete")
    context = live_server.services.catalog.stored.response_context(follow.id)
    turns = [(t["role"], t["content"]) for t in context["turns"]]
    assert turns[0] == ("user", "What must forklift drivers check?")
    assert turns[1] == ("assistant", first.output_text)
    assert turns[2] == ("user", "And how often?")
    assert context["scope"]["collections"] == [one_video["collection"]]  # inherited: the follow-up named none
    with pytest.raises(Exception) as err:
        oa.responses.create(model="nimbus-001", input="hi", previous_response_id="resp_missing")
    assert getattr(err.value, "status_code", None) == 404


def test_function_call_then_its_output_continues(oa, one_video):
    r = oa.responses.create(model="nimbus-001", input="The forklift tyres are flat, open a ticket.", tools=[TICKET],
                            tool_choice={"type": "function", "name": "create_ticket"}, max_output_tokens=60)
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "create_ticket"
    assert isinstance(json.loads(calls[0].arguments)["title"], str)
    done = oa.responses.create(model="nimbus-001", previous_response_id=r.id, tools=[TICKET], max_output_tokens=30,
                               input=[{"type": "function_call_output", "call_id": calls[0].call_id,
                                       "output": json.dumps({"ticket": "T-1042", "status": "open"})}])
    assert done.status in ("completed", "incomplete")
    assert [o.type for o in done.output] == ["message"]


def test_text_format_json_schema_gives_valid_json(oa, one_video):
    schema = {"type": "object", "properties": {"topic": {"type": "string"}, "speakers": {"type": "integer"}},
              "required": ["topic", "speakers"]}
    r = oa.responses.create(model="nimbus-001", input="What is the video about? Answer as JSON.",
                            text={"format": {"type": "json_schema", "name": "about", "schema": schema}},
                            max_output_tokens=60, extra_body={"collections": [one_video["collection"]]})
    data = json.loads(r.output_text)
    assert isinstance(data["topic"], str) and isinstance(data["speakers"], int)


def test_openai_errors_are_in_the_api_shape(oa, live_server):
    import openai

    with pytest.raises(openai.NotFoundError) as nf:
        oa.responses.create(model="no-such-model", input="hi")
    assert nf.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        oa.responses.create(model="nimbus-001", input="hi", tools=[{"type": "web_search"}])
    assert "function tools" in bad.value.message
    with pytest.raises(openai.BadRequestError):
        oa.responses.create(model="nimbus-001", input="hi", stream=True, background=True)
    with pytest.raises(openai.NotFoundError):
        oa.responses.retrieve("resp_missing")
    raw = httpx.post(f"{live_server.url}/v1/responses", json={"model": "nimbus-001", "input": [
        {"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,bm90IGFuIGltYWdl"}]}]})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    for body in ({"model": "nimbus-001"}, {"model": "nimbus-001", "input": ""}, {"model": "nimbus-001", "input": []},
                 {"model": "nimbus-001", "input": [{"type": "function_call_output"}]},
                 {"model": "nimbus-001", "input": "hi", "knowledge_base": {"source": "files"}}):
        r = httpx.post(f"{live_server.url}/v1/responses", json=body)
        assert r.status_code == 400, (body, r.text)
        assert set(r.json()["error"]) >= {"message", "type", "param"}


def test_model_aliases_are_listed_and_answered(oa, live_server):
    ids = {m.id for m in oa.models.list().data}
    assert {"nimbus-001", "bibigpt", "gpt-4o-2024-11-20"} <= ids
    for model in ("bibigpt", "bibigpt/video-chat", "gpt-4o-2024-11-20"):
        r = oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=4)
        assert r.model == model
    import openai

    with pytest.raises(openai.NotFoundError):
        oa.chat.completions.create(model="bibigpt2", messages=[{"role": "user", "content": "hi"}], max_tokens=4)


def _slide_png(text: str) -> str:
    img = np.full((360, 640, 3), 255, np.uint8)
    cv2.putText(img, text, (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", img)
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def test_an_image_in_the_question_joins_the_search_with_its_text(oa, one_video, live_server):
    slide = _slide_png("Badge code 4471")
    r = oa.responses.create(model="nimbus-001", max_output_tokens=24, extra_body={"collections": [
        one_video["collection"]]}, input=[{"role": "user", "content": [
            {"type": "input_text", "text": "Where in the video is this slide?"},
            {"type": "input_image", "image_url": slide}]}])
    question = live_server.services.catalog.stored.response_context(r.id)["turns"][-2]["content"]
    assert "Where in the video is this slide?" in question and "4471" in question
    # the same words find the moment the slide is on screen (the second scene)
    hits = live_server.services.retriever.retrieve(question, [one_video["collection"]])
    start, end = one_video["windows"][1]
    assert hits and hits[0].segment.start_time < end and hits[0].segment.end_time > start
    chat = oa.chat.completions.create(model="nimbus-001", max_tokens=8, extra_body={
        "collections": [one_video["collection"]]}, messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": slide}}]}])
    assert chat.choices[0].message.content is not None


def test_cloudglue_responses_create_get_list_delete(cg, one_video):
    from cloudglue.client.resources.base import CloudglueError

    r = cg.responses.create(input="Summarize this video.", collections=[one_video["collection"]],
                            include=["cloudglue_citations.media_descriptions"])
    assert r.status == "completed" and r.object == "response"
    text = r.output[0].actual_instance.content[0]
    assert text.type == "output_text" and text.text.strip()
    assert text.annotations and all(a.file_id == one_video["file"] for a in text.annotations)
    assert any(a.speech for a in text.annotations)  # media descriptions were included
    assert cg.responses.get(r.id).id == r.id
    second = cg.responses.create(input=[{"role": "user", "content": "What must forklift drivers check?"}],
                                 collections=[one_video["collection"]],
                                 filter={"file": [{"path": "id", "operator": "Equal", "valueText": one_video["file"]}]})
    page = cg.responses.list(limit=1, offset=0)
    assert page.total >= 2 and len(page.data) == 1 and page.data[0].id == second.id
    assert cg.responses.list(limit=1, offset=1).data[0].id != second.id
    done = cg.responses.list(status="completed", limit=100)
    assert second.id in {i.id for i in done.data} and all(i.status == "completed" for i in done.data)
    assert cg.responses.list(status="cancelled").total == 0
    gone = cg.responses.delete(second.id)
    assert gone.deleted and gone.id == second.id
    with pytest.raises(CloudglueError) as err:
        cg.responses.get(second.id)
    assert err.value.status_code == 404
    with pytest.raises(CloudglueError) as err:
        cg.responses.create(input="hi", collections=["no-such-collection"])
    assert err.value.status_code == 404


def test_cloudglue_stream_and_files_source(cg, one_video):
    events = list(cg.responses.create(input="What must forklift drivers check?", files=[one_video["file"]],
                                      stream=True))
    names = [e["event"] for e in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    text = "".join(e["data"]["delta"] for e in events if e["event"] == "response.output_text.delta")
    final = events[-1]["data"]["response"]
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == text.strip()
    assert [e["data"]["sequence_number"] for e in events] == list(range(len(events)))


def test_cloudglue_background_response_completes_and_cancel_keeps_it(cg, one_video):
    r = cg.responses.create(input="Summarize this video.", collections=[one_video["collection"]], background=True)
    assert r.status == "in_progress" and not r.output
    deadline = time.monotonic() + 240
    while (got := cg.responses.get(r.id)).status == "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert got.status == "completed" and got.output[0].actual_instance.content[0].text
    assert cg.responses.cancel(r.id).status == "completed"  # a finished response stays as it is


def test_responses_persist_across_a_restart(tmp_path):
    with LiveServer(make_settings(tmp_path / "data")) as srv:
        from openai import OpenAI

        oa = OpenAI(api_key="local", base_url=f"{srv.url}/v1", max_retries=0)
        r = oa.responses.create(model="nimbus-001", input="hello", max_output_tokens=8)
        unstored = oa.responses.create(model="nimbus-001", input="hello", max_output_tokens=8, store=False)
        stored = srv.services.catalog.stored
        stored.put_response("resp_unfinished", 1_000, "in_progress",
                            {"id": "resp_unfinished", "object": "response", "created_at": 1, "status": "in_progress",
                             "model": "nimbus-001", "output": [], "background": True},
                            {"turns": [], "scope": {}, "items": []})
    with LiveServer(make_settings(tmp_path / "data")) as srv:
        oa = OpenAI(api_key="local", base_url=f"{srv.url}/v1", max_retries=0)
        assert oa.responses.retrieve(r.id).output_text == r.output_text
        left = oa.responses.retrieve("resp_unfinished")
        assert left.status == "failed" and left.error.code == "server_restarted"
        import openai

        with pytest.raises(openai.NotFoundError):
            oa.responses.retrieve(unstored.id)
