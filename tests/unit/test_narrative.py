"""Narrative segmentation's timeline logic: chapters cut on shot boundaries where the topic changes."""

from __future__ import annotations

import numpy as np
import pytest

from clipcite.domain import FrameText, SpeechSpan, TimeRange, VideoInfo
from clipcite.errors import InvalidRequest
from ingest.analysis import FileAnalysis
from ingest.narrative import chapter_count, narrative_ranges
from ingest.segment import SegmentationConfig


class TopicEmbedder:
    """One axis per topic word: texts about the same thing are identical vectors."""

    dim = 3

    def embed_cached(self, texts, persist=True, query=False):
        out = []
        for t in texts:
            v = np.array([t.count("budget"), t.count("crane"), t.count("lunch")], dtype=np.float32) + 1e-3
            out.append(v / np.linalg.norm(v))
        return np.array(out)


def _analysis(said: list[tuple[float, float, str]]) -> FileAnalysis:
    return FileAnalysis(video_info=VideoInfo(duration_seconds=40.0, width=1, height=1, fps=25.0, has_audio=True),
                        speech=[SpeechSpan(t, a, b) for a, b, t in said],
                        texts=[FrameText(30.0, 40.0, ("lunch menu",))])


def test_chapters_cut_where_the_topic_changes_on_a_shot_boundary():
    a = _analysis([(0.5, 9, "the budget is set"), (10.5, 19, "budget review on monday"),
                   (20.5, 29, "the crane needs service"), (30.5, 39, "crane parts arrive")])
    ranges = narrative_ranges(a, [10.0, 20.0, 30.0], TopicEmbedder(), 0.0, 40.0, number=2)
    assert ranges == [TimeRange(0.0, 20.0), TimeRange(20.0, 40.0)]


def test_a_cut_inside_an_utterance_moves_to_its_nearer_end():
    a = _analysis([(0.5, 9, "budget"), (10.5, 20.8, "budget again"), (21.0, 39, "crane crane")])
    ranges = narrative_ranges(a, [10.0, 20.0], TopicEmbedder(), 0.0, 40.0, number=2)
    assert ranges[0].end == pytest.approx(20.8)


def test_chapter_count_defaults_bounds_and_shots():
    assert chapter_count(40, 4, None, None, None) == 2  # about one a minute, at least two
    assert chapter_count(3600, 200, None, None, None) == 12
    assert chapter_count(3600, 200, None, None, 5) == 5
    assert chapter_count(40, 2, 6, None, None) == 2  # never more chapters than shots
    assert narrative_ranges(_analysis([]), [], TopicEmbedder(), 0.0, 40.0) == [TimeRange(0.0, 40.0)]


def test_narrative_config_round_trips_and_rejects_bad_counts():
    cfg = SegmentationConfig.from_wire({"strategy": "narrative", "narrative_config": {
        "number_of_chapters": 4, "prompt": "one per speaker", "strategy": "balanced"}})
    assert (cfg.chapters, cfg.narrative_prompt) == (4, "one per speaker")
    assert SegmentationConfig.from_wire(cfg.to_wire()) == cfg
    for bad in ({"number_of_chapters": 0}, {"min_chapters": 4, "max_chapters": 2}, {"strategy": "vlm"},
                {"max_chapters": 2.5}):
        with pytest.raises(InvalidRequest):
            SegmentationConfig.from_wire({"strategy": "narrative", "narrative_config": bad})
