"""Each probe of a hostile or careless client, on loopback against a real server, and the fixed behaviour:
oversized bodies and questions are refused in milliseconds while other users are served; every list ends
under the official SDKs' auto-pagination; odd metadata keys and filter paths are a 2xx or a 400, never a
500 and never half-written; logprobs are refused rather than silently null; a dropped streamed response
is stored as incomplete; the embedder is OpenAI's /v1/embeddings. (SIGTERM: test_shutdown.py; /docs
behind the key: tests/unit/test_api_access.py.)"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def http(live_server):
    with httpx.Client(base_url=f"{live_server.url}/v1", timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def coll(http):
    return http.post("/collections", json={"name": "limits"}).json()["id"]


def _chat(coll: str, content: str, **extra) -> dict:
    return {"model": "nimbus-001", "collections": [coll], "messages": [{"role": "user", "content": content}],
            **extra}


def _search_ok(http: httpx.Client, coll: str) -> float:
    t0 = time.perf_counter()
    r = http.post("/search", json={"collections": [coll], "query": "anything", "scope": "segment", "limit": 3})
    assert r.status_code == 200, r.text[:300]
    return time.perf_counter() - t0


def test_a_50_mb_body_is_refused_before_it_is_read_and_others_are_served(live_server, http, coll):
    refused: list[int] = []

    def big() -> None:
        with socket.create_connection(("127.0.0.1", live_server.port), timeout=30) as s:
            size = 50 * 1024 * 1024
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + f"Content-Length: {size}\r\n\r\n".encode() + b'{"messages": [{"role": "user", "content": "')
            head = s.recv(4096).decode(errors="replace")  # answered without the body being sent
            refused.append(int(head.split()[1]))

    t0 = time.perf_counter()
    t = threading.Thread(target=big)
    t.start()
    t.join(30)
    assert refused == [413] and time.perf_counter() - t0 < 5
    assert _search_ok(http, coll) < 10
    r = http.post("/chat/completions", content=json.dumps(_chat(coll, "x" * 5_000_000)))
    assert r.status_code == 413 and r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("chars", [200_000, 1_000_000])
def test_an_oversized_question_is_a_fast_400_and_search_goes_on(http, coll, chars):
    t0 = time.perf_counter()
    r = http.post("/chat/completions", json=_chat(coll, "describe it " * (chars // 12)))
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded", r.text[:300]
    assert time.perf_counter() - t0 < 3
    assert _search_ok(http, coll) < 10
    r = http.post("/responses", json={"model": "nimbus-001", "input": "y " * (chars // 2), "collections": [coll]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_every_openai_list_ends_with_each_item_once(live_server, http, tmp_path):
    from openai import OpenAI

    ids = []
    for i in range(7):  # not media: kept as failed files, listed like any other
        p = tmp_path / f"note{i}.mp4"
        p.write_bytes(f"not a video {i}".encode())
        with open(p, "rb") as fh:
            ids.append(http.post("/files", files={"file": (p.name, fh, "video/mp4")}).json()["id"])
    client = OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)
    seen = [f.id for f in client.files.list(limit=2)]
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    page = client.files.list(limit=3)
    assert page.has_more and page.data and len(page.data) == 3
    later = client.files.list(limit=3, after=page.data[-1].id)
    assert not {f.id for f in later.data} & {f.id for f in page.data}
    # chat completions are stored and listed the same way
    for _ in range(3):
        http.post("/chat/completions", json={"model": "nimbus-001", "max_tokens": 4, "strict_grounding": False,
                                             "messages": [{"role": "user", "content": "hi"}]}).raise_for_status()
    stored = [c.id for c in client.chat.completions.list(limit=2)]
    assert len(stored) >= 3 and len(stored) == len(set(stored))
    # Cloudglue lists page by offset and say their total
    from cloudglue import Cloudglue

    cg = Cloudglue(api_key="local", host=f"{live_server.url}/v1")
    got, offset = [], 0
    while True:
        res = cg.files.list(limit=2, offset=offset)
        got += [f.id for f in res.data]
        offset += len(res.data)
        if not res.data or offset >= res.total:
            break
    assert len(got) == len(set(got)) == res.total and set(ids) <= set(got)
    assert http.get("/files", params={"after": "no-such-file"}).status_code == 400


def test_response_input_items_page_with_the_openai_sdk(live_server, http, coll):
    from openai import OpenAI

    items = [{"role": "user", "content": f"part {i}"} for i in range(5)]
    r = http.post("/responses", json={"model": "nimbus-001", "input": items, "collections": [coll],
                                      "max_output_tokens": 8, "strict_grounding": False})
    assert r.status_code == 200, r.text[:300]
    client = OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)
    listed = [i.id for i in client.responses.input_items.list(r.json()["id"], limit=2)]
    assert len(listed) == 5 == len(set(listed))


ODD_KEYS = ["with space", "quote'single", "ünïcödé ключ", "brackets[0]", "emoji 🎬", "2024"]
BAD_KEYS = ["dotted.key", 'double"quote', "back\\slash", "", "ctl\x01", " padded "]


@pytest.fixture(scope="module")
def indexed_file(http, briefing_video, tmp_path_factory):
    """The briefing (other bytes: its own file) indexed into a collection of its own."""
    from tests.builders import index

    path, _ = briefing_video
    copy = tmp_path_factory.mktemp("keys") / "keys.mp4"
    copy.write_bytes(path.read_bytes() + b"\0" * 32)
    coll = http.post("/collections", json={"name": "keys"}).json()["id"]
    f, entry = index(http, coll, copy)
    assert entry["status"] == "completed", entry
    return f["id"], coll


@pytest.mark.parametrize("key", ODD_KEYS + BAD_KEYS)
def test_any_metadata_key_is_supported_or_a_400_and_never_half_written(http, indexed_file, key):
    fid, coll = indexed_file
    r = http.put(f"/files/{fid}", json={"metadata": {key: "v1"}})
    after = http.get(f"/files/{fid}").json().get("metadata") or {}
    flt = {"metadata": [{"path": key, "operator": "Equal", "valueText": "v1"}]}
    search = {"collections": [coll], "query": "warehouse", "scope": "segment", "limit": 3, "filter": flt}
    if key in BAD_KEYS:
        assert r.status_code == 400, r.text[:300]
        assert repr(key) in r.json()["error"]["message"]
        assert after == {}  # nothing written: catalog and store both as they were
        if "." not in key:  # a dotted filter path is valid: it names a nested key
            assert http.post("/search", json=search).status_code == 400
        return
    try:
        assert r.status_code == 200, r.text[:300]
        assert after == {key: "v1"}
        hits = http.post("/search", json=search)
        assert hits.status_code == 200 and hits.json()["results"], hits.text[:300]
        listed = http.get("/files", params={"filter": json.dumps(flt)}).json()["data"]
        assert [x["id"] for x in listed] == [fid]
        other = {"metadata": [{"path": key, "operator": "Equal", "valueText": "other"}]}
        assert not http.post("/search", json={**search, "filter": other}).json()["results"]
    finally:
        http.put(f"/files/{fid}", json={"metadata": {}}).raise_for_status()


@pytest.mark.parametrize("path", ['a"b', "a.(b)", "x..y", " lead", "a.\u0000"])
def test_odd_filter_paths_are_a_400(http, path):
    flt = {"metadata": [{"path": path, "operator": "Equal", "valueText": "v"}]}
    r = http.post("/search", json={"query": "q", "scope": "segment", "filter": flt})
    assert r.status_code in (200, 400), r.text[:300]
    r2 = http.get("/files", params={"filter": json.dumps(flt)})
    assert r2.status_code in (200, 400), r2.text[:300]
    if '"' in path or ".." in path or path != path.strip() or "\u0000" in path:
        assert r.status_code == 400 and r2.status_code == 400


def test_logprobs_are_refused_not_silently_null(http, coll):
    for extra in ({"logprobs": True}, {"logprobs": True, "top_logprobs": 3}):
        r = http.post("/chat/completions", json=_chat(coll, "hi", max_tokens=4, **extra))
        assert r.status_code == 400 and r.json()["error"]["param"] == "logprobs"
    r = http.post("/responses", json={"model": "nimbus-001", "input": "hi", "collections": [coll], "top_logprobs": 2})
    assert r.status_code == 400


def test_a_dropped_streamed_response_is_stored_incomplete(live_server, coll):
    body = json.dumps({"model": "nimbus-001", "input": "Tell me about the video.", "collections": [coll],
                       "stream": True, "max_output_tokens": 48}).encode()
    rid = None
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=60) as s:
        s.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        got = b""
        while b"response.created" not in got or b'"id": "resp_' not in got:
            chunk = s.recv(4096)
            assert chunk
            got += chunk
        rid = got.split(b'"id": "resp_', 1)[1].split(b'"', 1)[0].decode()
    deadline = time.time() + 60
    while True:
        r = httpx.get(f"{live_server.url}/v1/responses/resp_{rid}", timeout=30)
        if r.status_code == 200 and r.json()["status"] in ("incomplete", "completed"):
            break
        assert time.time() < deadline, r.text[:300]
        time.sleep(0.3)
    assert r.json()["status"] in ("incomplete", "completed")


def test_embeddings_through_the_openai_sdk(live_server):
    import base64

    import numpy as np
    from openai import OpenAI

    client = OpenAI(api_key="local", base_url=f"{live_server.url}/v1", max_retries=0)
    model = live_server.settings.embed_model
    out = client.embeddings.create(model=model, input=["a red bicycle", "a blue bicycle", "tax law"])
    vecs = np.array([d.embedding for d in out.data])
    assert vecs.shape[0] == 3 and out.usage.prompt_tokens > 0
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]
    b64 = client.embeddings.create(model=model, input="a red bicycle", encoding_format="base64")
    decoded = np.frombuffer(base64.b64decode(b64.data[0].embedding), "<f4")  # asked for base64: left encoded
    assert len(b64.data) == 1 and np.allclose(decoded, vecs[0], atol=1e-5)
    raw = httpx.post(f"{live_server.url}/v1/embeddings", json={"model": model, "input": "x",
                                                                "encoding_format": "base64"}).json()
    assert np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), "<f4").shape == (vecs.shape[1],)
    with pytest.raises(Exception) as err:
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert "404" in str(err.value) or "not found" in str(err.value).lower()
