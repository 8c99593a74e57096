"""Reading screens (real RapidOCR): a terminal whose states differ only in a few small lines gives one keyframe
per state; a table row and a `key = value` line are read as one line each; a slide that stays up 40 s is one
line with one interval. Invented content."""

from __future__ import annotations

import pytest

from clipcite.domain import FrameText
from ingest.frames import iter_keyframes
from ingest.stages.scene_text.ocr import RapidOcrReader, appearances
from tests.media import make_screen_video

pytestmark = [pytest.mark.integration]

STATES = [["$ deploy --target larch-api"],
          ["$ deploy --target larch-api", "$ cat larch.toml", "workers = 12", "timeout = 45"],
          ["$ deploy --target larch-api", "$ cat larch.toml", "workers = 12", "timeout = 45",
           "ERROR Q417: disk quota reached"],
          ["$ deploy --target larch-api", "$ cat larch.toml", "workers = 12", "timeout = 45",
           "ERROR Q417: disk quota reached", "$ quota --raise 20"]]


@pytest.fixture(scope="module")
def reader():
    return RapidOcrReader()


def _read(path, reader, duration):
    kfs = list(iter_keyframes(path))
    texts = [FrameText(k.time, kfs[i + 1].time if i + 1 < len(kfs) else duration, tuple(reader.read(k.image)))
             for i, k in enumerate(kfs)]
    return kfs, appearances(texts)


@pytest.mark.parametrize("size,px", [((640, 360), 14), ((1920, 1080), 16)])
def test_each_small_text_state_is_one_keyframe_read_once_and_timed(tmp_path, reader, size, px):
    path = tmp_path / "term.mp4"
    windows = make_screen_video(path, [(s, 6.0) for s in STATES], size=size, px=px)
    kfs, apps = _read(path, reader, windows[-1][1])
    assert len(kfs) == len(STATES)
    for kf, (start, _) in zip(kfs, windows, strict=True):
        assert abs(kf.time - start) <= 0.6
    found = {text: (a, b) for text, a, b in apps}
    assert found.get("workers = 12") is not None, apps
    a, b = found["workers = 12"]
    assert abs(a - windows[1][0]) <= 1.0 and abs(b - windows[-1][1]) <= 1.0  # one line, one interval
    assert "ERROR Q417: disk quota reached" in found and any("quota --raise 20" in t for t in found)


def test_a_table_keeps_its_rows_and_a_long_slide_is_one_line(tmp_path, reader):
    rows = ["Site        Change", "harrow       -3 %", "tilbury      +11 %"]
    path = tmp_path / "table.mp4"
    windows = make_screen_video(path, [(rows, 40.0)], px=18, background=(245, 244, 240), colour=(20, 20, 30))
    _, apps = _read(path, reader, windows[-1][1])
    texts = [t for t, _, _ in apps]
    assert "harrow -3 %" in texts and "tilbury +11 %" in texts, texts
    spans = [(a, b) for t, a, b in apps if t == "harrow -3 %"]
    assert spans == [(spans[0][0], 40.0)] and spans[0][0] <= 0.5  # up for 40 s: one line, one interval
