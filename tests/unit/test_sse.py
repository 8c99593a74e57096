"""SSE framing of streamed chat through the real app and routes, with the chat model faked: role first,
content deltas, citations on the final chunk, a usage chunk when asked, an error chunk in-band, always
`[DONE]`, and the model lease given back afterwards."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.catalog import CollectionFileRecord, CollectionRecord, FileRecord, IndexStatus, MediaStatus
from engine.chat import ChatService
from tests.conftest import make_settings
from tests.fakes import FakeGenerator, FakeRetriever


class BrokenGenerator(FakeGenerator):
    def stream(self, messages, params):
        yield "Lines: 3\nAnswer: Leave through exit B12. ", None
        raise RuntimeError("decoder state lost")


@pytest.fixture()
def app_with(tmp_path):
    def build(generator):
        client = TestClient(create_app(make_settings(tmp_path / "data", startup_checks=False)))
        client.__enter__()
        svc = client.app.state.services
        lib = svc.catalog.library
        lib.add_collection(CollectionRecord("c1", "c1", None, "media-descriptions", None, 0))
        lib.add_file(FileRecord("f1", "briefing.mp4", "/x/b.mp4", 1, "sha", 0, {}, None, MediaStatus.USABLE))
        lib.upsert_collection_file(CollectionFileRecord("c1", "f1", 0, IndexStatus.COMPLETED, "seg", {}))
        svc.chat = ChatService(FakeRetriever(), generator, svc.catalog)  # type: ignore[arg-type]
        return client

    made = []
    yield lambda gen: made.append(build(gen)) or made[-1]
    for c in made:
        c.__exit__(None, None, None)


def events(client: TestClient, **extra) -> list:
    body = {"model": "nimbus-001", "collections": ["c1"], "stream": True,
            "messages": [{"role": "user", "content": "Where is the emergency exit?"}], **extra}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    frames = raw.split("\n\n")
    assert frames[-1] == "" and all(f.startswith("data: ") for f in frames[:-1])
    return [f[6:] if f[6:] == "[DONE]" else json.loads(f[6:]) for f in frames[:-1]]


def test_role_deltas_citations_usage_done(app_with):
    client = app_with(FakeGenerator("Lines: 3\nAnswer: Leave through exit B12."))
    ev = events(client, stream_options={"include_usage": True})
    assert ev[-1] == "[DONE]"
    first, *middle, final, usage, _ = ev
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"]["content"] for c in middle) == "Leave through exit B12."
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == first["id"] for c in ev[:-1])
    choice = final["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["delta"] == {} and choice["grounded"] is True
    assert [c["segment_id"] for c in choice["citations"]] == ["s1"]
    assert choice["grounding"] == {"lines": [3], "supported": True}
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 6
    svc = client.app.state.services
    assert svc.model.in_flight == 0 and svc.model.busy == 0
    stored = client.get(f"/v1/chat/completions/{first['id']}").json()
    assert stored["choices"][0]["message"]["content"] == "Leave through exit B12."


def test_no_usage_chunk_unless_asked(app_with):
    ev = events(app_with(FakeGenerator("Lines: 3\nAnswer: Leave through exit B12.")))
    assert ev[-2]["choices"][0]["finish_reason"] == "stop" and "usage" not in ev[-2]


def test_a_failure_mid_stream_is_an_error_chunk_then_done_and_the_slot_is_free(app_with, caplog):
    client = app_with(BrokenGenerator("unused"))
    ev = events(client)
    assert ev[1]["choices"][0]["delta"]["content"] == "Leave through exit B12."
    assert ev[-2]["error"]["type"] == "server_error" and ev[-2]["error"]["message"] == "internal server error"
    assert "decoder state lost" not in json.dumps(ev)  # internals stay in the log
    assert ev[-1] == "[DONE]"
    svc = client.app.state.services
    deadline = time.monotonic() + 5  # the stream's lease is released as its generator closes, just after [DONE]
    while (svc.model.in_flight or svc.model.busy) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert svc.model.in_flight == 0 and svc.model.busy == 0
    caplog.clear()  # the failure was logged at ERROR on purpose: keep the no-error guard for other tests


def test_a_prompt_that_cannot_fit_is_a_400_before_the_stream_starts(app_with):
    client = app_with(FakeGenerator("x", n_ctx=600))
    r = client.post("/v1/chat/completions", json={"model": "nimbus-001", "collections": ["c1"], "stream": True,
                                                  "messages": [{"role": "user", "content": "word " * 2000}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
    assert client.app.state.services.model.in_flight == 0
