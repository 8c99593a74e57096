"""Shared steps of integration tests: upload a video, add it to a collection, wait for a status."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

DONE = ("completed", "failed")


def upload(client: httpx.Client, path: Path, name: str | None = None, **form: Any) -> dict[str, Any]:
    """POST /files; `client` has the `/v1` base URL."""
    with open(path, "rb") as fh:
        r = client.post("/files", files={"file": (name or path.name, fh, "video/mp4")}, data=form or None)
    r.raise_for_status()
    return r.json()


def add(client: httpx.Client, collection_id: str, file_id: str) -> None:
    client.post(f"/collections/{collection_id}/media", json={"file_id": file_id}).raise_for_status()


def wait_status(client: httpx.Client, collection_id: str, file_id: str, want: tuple[str, ...] = DONE,
                timeout: float = 240, every: float = 0.2, fail_on_failed: bool = False) -> dict[str, Any]:
    """Poll the collection entry until its status is one of `want`; fails the test past `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        st = client.get(f"/collections/{collection_id}/videos/{file_id}").json()
        if st["status"] in want:
            return st
        assert not (fail_on_failed and st["status"] == "failed"), st
        assert time.monotonic() < deadline, f"{file_id} still {st['status']} after {timeout:.0f} s (wanted {want})"
        time.sleep(every)


def index(client: httpx.Client, collection_id: str, path: Path, name: str | None = None,
          timeout: float = 240) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload, add, wait until indexed; returns (file object, collection entry)."""
    f = upload(client, path, name)
    add(client, collection_id, f["id"])
    return f, wait_status(client, collection_id, f["id"], timeout=timeout)


def index_generated(server_url: str, path: Path, scenes: list, collection: str) -> tuple[str, dict[str, Any],
                                                                                         list[tuple[float, float]]]:
    """Generate a video from `scenes` (tests.media), index it into a new collection and check it completed;
    returns (collection id, file object, scene windows)."""
    import pytest

    from tests.media import espeak_available, make_video

    if not espeak_available():
        pytest.skip("needs espeak-ng")
    windows = make_video(path, scenes)
    with httpx.Client(base_url=f"{server_url}/v1", timeout=60) as client:
        coll = client.post("/collections", json={"name": collection}).json()
        f, entry = index(client, coll["id"], path)
    assert entry["status"] == "completed", entry
    return coll["id"], f, windows


def ask_chat(server_url: str, collection: str, question: str, **extra: Any) -> dict[str, Any]:
    """One question through the official OpenAI SDK: the answer text and its citations."""
    from openai import OpenAI

    client = OpenAI(api_key="local", base_url=f"{server_url}/v1", max_retries=0)
    r = client.chat.completions.create(model="nimbus-001", messages=[{"role": "user", "content": question}],
                                       extra_body={"collections": [collection], **extra}, temperature=0)
    return {"text": r.choices[0].message.content or "", "citations": r.choices[0].model_extra.get("citations") or []}
