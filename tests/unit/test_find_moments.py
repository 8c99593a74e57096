"""find_moments' logic around the model: candidate pieces, merging, boundary policies, judging."""

from __future__ import annotations

import json

import numpy as np

from clipcite.domain import ScreenLine, SpeechPart
from engine.find_moments import Criterion, MomentFinder, Piece, pieces
from engine.generation import Generation
from tests.fakes import segment


class WordEmbedder:
    related_floor = 0.1

    def embed_cached(self, texts, persist=True, query=False):
        words = ["exit", "tyre", "welcome"]
        out = [np.array([t.lower().count(w) for w in words], dtype=np.float32) + 1e-3 for t in texts]
        return np.array([v / np.linalg.norm(v) for v in out])


class Judge:
    def __init__(self):
        self.calls = []

    def chat(self, messages, params):
        content = messages[-1]["content"]
        self.calls.append(content)
        moment = content.split("Moment:")[1].split("Criterion:")[0]
        line = next((x.split(": ", 1)[1] for x in moment.strip().splitlines() if "exit" in x), "")
        return Generation(text=json.dumps({"quote": line, "score": 8 if line else 1, "title": "Exit", "reason": "r"}),
                          prompt_tokens=1, completion_tokens=1, finish_reason="stop")


def _segments():
    a = segment(0, "")
    a.speech = [SpeechPart("Welcome everyone.", 0.0, 3.0), SpeechPart("Check the tyre pressure.", 3.0, 7.0)]
    b = segment(1, "")
    b.start_time, b.end_time = 10.0, 20.0
    b.speech = [SpeechPart("Leave by the north exit in an emergency.", 11.0, 15.5)]
    b.scene_text_spans = [ScreenLine("Exit B12", 10.0, 20.0)]
    return [a, b]


def test_pieces_are_each_timed_piece_once():
    segs = _segments()
    segs[1].speech.append(SpeechPart("Check the tyre pressure.", 3.0, 7.0))  # straddles both segments
    found = pieces(segs)
    assert sum(p.text == "Check the tyre pressure." for p in found) == 1
    assert {p.signal for p in found} >= {"speech", "scene_text"}


def test_finds_only_the_matching_moment_with_sentence_bounds():
    judge = Judge()
    found = MomentFinder(WordEmbedder(), judge).find(Criterion("exit", "how to leave by the exit"), _segments(), 20.0)
    assert len(found) == 1
    m = found[0]
    assert (m.start, m.end) == (10.75, 15.75)  # the utterance, grown evenly to the 5 s minimum
    assert m.signals == ["speech"] and 0 < m.rank <= 1
    assert all("tyre" not in c.split("Moment:")[1] for c in judge.calls[1:])  # unrelated pieces not judged


def test_a_quote_must_come_from_the_moment():
    window = [Piece(0, 3, "Leave by the north exit in an emergency.", "speech")]
    assert MomentFinder.quoted("leave by the north exit", window)
    assert not MomentFinder.quoted("the fire doors are on the south side", window)
    assert not MomentFinder.quoted("", window)


def test_boundary_policies_and_duration_limits():
    finder = MomentFinder(WordEmbedder(), Judge())
    said = [Piece(11.0, 15.5, "Leave by the north exit", "speech")]
    window = [Piece(12.0, 13.0, "exit", "scene_text")]
    assert finder.bounds(Criterion("x", "y", min_duration=1), window, said, 20.0) == (11.0, 15.5)
    assert finder.bounds(Criterion("x", "y", boundary="tight", min_duration=1), window, said, 20.0) == (12.0, 13.0)
    assert finder.bounds(Criterion("x", "y", boundary="loose", min_duration=1), window, said, 20.0) == (10.0, 15.0)
    assert finder.bounds(Criterion("x", "y", boundary="tight", min_duration=5), window, said, 20.0) == (10.0, 15.0)
    edge = [Piece(0.0, 1.0, "exit", "scene_text")]
    assert finder.bounds(Criterion("x", "y", boundary="tight", min_duration=5), edge, said, 20.0) == (0.0, 5.0)
