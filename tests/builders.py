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
