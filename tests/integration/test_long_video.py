"""A ten-minute video end to end (the benchmark `scripts/bench_long.py` does 10/30/60 minutes with memory
and time): indexed whole, a fact near the end found at its time, and a whole-video summary whose chapters
span all ten minutes in at most 12 chapter lines."""

from __future__ import annotations

import re

import pytest

from tests.media import Scene, espeak_available, make_video

pytestmark = pytest.mark.integration
TOPICS = ["pallets", "forklifts", "labels", "gloves", "ladders", "scanners", "boxes", "trolleys", "doors", "lights"]


@pytest.fixture(scope="module")
def ten_minutes(cg, tmp_path_factory):
    if not espeak_available():
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    scenes = [Scene(((37 * i) % 200 + 30, (91 * i) % 200 + 30, (53 * i) % 200 + 30), text=f"ROOM {100 + i}",
                    say=f"Part {i + 1}. Room {100 + i} stores the {TOPICS[i % 10]} for team {i + 1}.", seconds=20.0)
              for i in range(30)]
    path = tmp_path_factory.mktemp("long") / "ten_minute_tour.mp4"
    make_video(path, scenes)
    f = cg.files.upload(str(path), wait_until_finish=True, poll_interval=1)
    coll = cg.collections.create(collection_type="media-descriptions", name="ten minutes")
    cf = cg.collections.add_video(coll.id, f.id, wait_until_finish=True, poll_interval=2, timeout=900)
    return f, coll, cf


def test_ten_minutes_index_whole_and_a_late_fact_is_found_at_its_time(cg, ten_minutes):
    f, coll, cf = ten_minutes
    assert cf.status == "completed" and f.video_info.duration_seconds == pytest.approx(600, abs=2)
    desc = cg.collections.get_media_descriptions(coll.id, f.id)
    ends = [s.end_time for s in desc.speech]
    assert len(ends) >= 25 and max(ends) >= 581  # the last part (spoken from 580 s) is there too
    r = cg.search.search(query="Room 127 ladders team 28", scope="segment", collections=[coll.id], limit=3)
    best = r.results[0].actual_instance
    assert best.start_time <= 27 * 20 + 10 and best.end_time >= 27 * 20 + 5, (best.start_time, best.end_time)


def _seconds(stamp: str) -> int:
    m, s = stamp.split(":")[-2:]
    return int(m) * 60 + int(s)


def test_a_whole_video_summary_spans_all_ten_minutes(cg, ten_minutes):
    _, coll, _ = ten_minutes
    r = cg.chat.completions.create(model="nimbus-001", messages=[{"role": "user", "content": "Summarize this video."}],
                                   collections=[coll.id])
    text = r.choices[0].message.content
    ranges = [(_seconds(a), _seconds(b)) for a, b in re.findall(r"^- \[([\d:]+)\s*[-–]\s*([\d:]+)\]", text, re.M)]
    assert 2 <= len(ranges) <= 12, text
    assert ranges[0][0] <= 20 and ranges[-1][1] >= 580, ranges  # from the first part to the last
    assert max(b[0] - a[1] for a, b in zip(ranges, ranges[1:], strict=False)) <= 20, ranges  # no stretch left out
