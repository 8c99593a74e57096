"""The worker-to-owner route on the shared test server: a batch for a job its sender does not hold is
refused with `written: false` (nothing stored), and points that do not fit the store are a 400 in the
API's error shape, never a 500."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def _batch(dim: int, **over) -> dict:
    point = {"id": 7, "dense": [0.1] * dim, "payload": {"collection_id": "c", "file_id": "f", "segment_id": "f-0"},
             "sparse": {"speech_lex": {"indices": [1, 2], "values": [0.5, 0.5]}}}
    return {"job_id": "no-such-job", "owner": "host:1:x", "collection_id": "c", "file_id": "f",
            "points": [point | over], "keep": [7]}


def test_batches_of_jobs_the_sender_does_not_hold_write_nothing(live_server):
    before = httpx.get(f"{live_server.url}/health").json()["segments"]
    dim = live_server.services.store.dim
    r = httpx.post(f"{live_server.url}/v1/internal/segments", json=_batch(dim))
    assert r.status_code == 200 and r.json() == {"written": False}
    assert httpx.get(f"{live_server.url}/health").json()["segments"] == before
    has_image = live_server.services.store.has_image
    assert httpx.get(f"{live_server.url}/v1/internal/store").json() == {"has_image": has_image}


@pytest.mark.parametrize("bad", [{"dense": [0.1, 0.2]},
                                 {"sparse": {"speech_lex": {"indices": [1, 2], "values": [0.5]}}}])
def test_points_that_do_not_fit_the_store_are_a_400(live_server, bad):
    dim = live_server.services.store.dim
    r = httpx.post(f"{live_server.url}/v1/internal/segments", json=_batch(dim, **bad))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
