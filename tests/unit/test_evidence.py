"""Evidence lines (`engine.evidence`): every line of the retrieved segments once, the relevant ones kept with
what completes them, numbered and timed in reading order. All content invented."""

from __future__ import annotations

import numpy as np

from clipcite.domain import ScoredSegment, ScreenLine, Segment, SoundEvent, SpeechPart
from engine.evidence import Budget, candidate_lines, gather, select


def seg(i: int, speech: list[tuple[str, float, float]], screen: list[tuple[str, float, float]] = (),
        file_id: str = "f1", **kw) -> ScoredSegment:
    return ScoredSegment(Segment("c", file_id, f"{file_id}-{i}", i, 20.0 * i, 20.0 * i + 20,
                                 speech=[SpeechPart(t, a, b) for t, a, b in speech],
                                 scene_text=[t for t, _, _ in screen],
                                 scene_text_spans=[ScreenLine(t, a, b) for t, a, b in screen],
                                 file_info={"filename": f"dir/{file_id}.mp4"}, **kw), 1.0 - 0.1 * i)


class WordEmbedder:
    """Bag-of-words vectors over a small vocabulary: a line is as close to the question as the words shared."""
    related_floor = 0.2
    vocab = ["kettle", "boils", "minutes", "lid", "teapot", "garden"]

    def embed_cached(self, texts, persist=True, query=False):
        v = np.array([[1.0 if w in t.lower() else 0.0 for w in self.vocab] + [0.05] for t in texts])
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_boundary_line_is_one_line_and_a_screen_line_across_segments_joins_its_time():
    a = seg(0, [("The kettle boils in four minutes.", 18.0, 21.0)], [("Lid: blue", 15.0, 20.0)])
    b = seg(1, [("The kettle boils in four minutes.", 18.0, 21.0), ("Pour slowly.", 24.0, 26.0)],
            [("Lid: blue", 20.0, 27.0)])
    lines = candidate_lines([a, b])
    assert [(ln.kind, ln.text, ln.start, ln.end) for ln in lines] == [
        ("said", "The kettle boils in four minutes.", 18.0, 21.0), ("screen", "Lid: blue", 15.0, 27.0),
        ("said", "Pour slowly.", 24.0, 26.0)]


def test_pictures_and_sounds_are_lines_with_their_times_and_no_colours():
    s = seg(0, [], visual_spans=[ScreenLine("A picture of a teapot in the centre, on a teal background.", 3, 8)],
            sounds=[SoundEvent("kettle whistle", 9.0, 11.0)])
    kinds = [(ln.kind, ln.text, ln.start) for ln in candidate_lines([s])]
    assert kinds == [("picture", "A picture of a teapot in the centre.", 3), ("sound", "kettle whistle", 9.0)]


def test_kept_lines_bring_the_rest_of_their_sentence_and_the_screen_shown_meanwhile():
    s = seg(0, [("Weather is fine.", 0.0, 2.0), ("The kettle boils in", 3.0, 5.0),
                ("four minutes on low heat.", 5.0, 7.0),
                ("The garden opens at noon.", 9.0, 11.0)], [("Boil time: 4 min", 3.5, 6.5), ("Garden", 9.0, 10.0)])
    lines, ranks = select("How long until the kettle boils?", candidate_lines([s]), WordEmbedder(),
                          Budget(max_lines=3, max_chars=500))
    assert [ln.text for ln in lines] == ["The kettle boils in", "Boil time: 4 min", "four minutes on low heat."]
    assert sorted(ranks) == [0, 1, 2] and ranks[0] == 0


def test_the_evidence_renders_numbered_timed_lines_by_file_and_keeps_tool_results():
    a = seg(0, [("The kettle boils in four minutes.", 2.0, 5.0)], [("Boil time: 4 min", 1.0, 6.0)])
    other = seg(1, [("The teapot is green.", 30.0, 31.0)], file_id="f2")
    ev = gather("kettle teapot", [a, other], WordEmbedder(), tools=[("call_1", '{"temp": 21}')])
    text = ev.render()
    assert text.splitlines() == ["Video f1.mp4:", "[1] 00:01-00:06 on screen: Boil time: 4 min",
                                 "[2] 00:02-00:05 said: The kettle boils in four minutes.", "Video f2.mp4:",
                                 "[3] 00:30 said: The teapot is green.", "Tool results:", '[4] {"temp": 21}']
    assert [ln.kind for ln in ev.cited([4, 2, 9])] == ["tool", "said"]  # unknown numbers are ignored
    assert len(ev.top(2).lines) == 2 and ev.top(2).lines[-1].kind == "tool"  # tool results are kept first
