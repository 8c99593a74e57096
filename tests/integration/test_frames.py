"""Frame extractions through the official `cloudglue` SDK: uniform frames with times, paging, their JPEGs
(at the asked width), listing per file, deleting, and bad input."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
import pytest

from tests.media import espeak_available

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")]


def test_uniform_frames_with_times_and_images(cg, uploaded, live_server):
    from cloudglue.client.resources.base import CloudglueError

    f, windows = uploaded
    fx = cg.files.create_frame_extraction(f.id, uniform_config={"frames_per_second": 0.5, "max_width": 160},
                                          start_time_seconds=4.0, wait_until_finish=True, poll_interval=1)
    assert fx.status == "completed" and fx.frame_count == 6  # 4.0, 6.0, ... 14.0 of a 15.6 s video
    page = cg.frames.get(fx.frame_extraction_id, limit=2, offset=1)
    assert [fr.timestamp for fr in page.data.frames] == [6.0, 8.0] and page.data.total == 6
    image = httpx.get(page.data.frames[1].thumbnail_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    decoded = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[1] == 160
    # the frame at 8 s is from the second scene (its green background)
    b, g, r = decoded[5, 5].tolist()
    assert g > r and g > b
    assert fx.frame_extraction_id in {x.frame_extraction_id for x in cg.files.list_frame_extractions(f.id).data}
    cg.frames.delete(fx.frame_extraction_id)
    with pytest.raises(CloudglueError) as err:
        cg.frames.get(fx.frame_extraction_id)
    assert err.value.status_code == 404
    base = f"{live_server.url}/v1"
    for body in ({"strategy": "keyframes"}, {"uniform_config": {"frames_per_second": 0}},
                 {"start_time_seconds": 5, "end_time_seconds": 2}):
        assert httpx.post(f"{base}/files/{f.id}/frames", json=body).status_code == 400, body
    assert httpx.post(f"{base}/files/nope/frames", json={}).status_code == 404
