"""Citations from cited lines (`engine.citations.from_lines`): one per segment, spanning its cited lines'
seconds; tool results cited as tools; refusals recognised in every language. Invented content."""

from __future__ import annotations

from clipcite.domain import ScoredSegment, ScreenLine, Segment, SpeechPart
from engine.citations import from_lines, is_refusal, strip_markers
from engine.evidence import gather
from engine.languages import REFUSALS

SEGS = [ScoredSegment(Segment("c", "f", "s1", 1, 10.0, 20.0,
                              speech=[SpeechPart("Orders doubled this spring.", 11.0, 15.0),
                                      SpeechPart("Thanks for coming.", 16.0, 18.0)],
                              scene_text=["Orders: +100 %"],
                              scene_text_spans=[ScreenLine("Orders: +100 %", 12.0, 17.0)],
                              file_info={"filename": "spring.mp4"}), 0.9),
        ScoredSegment(Segment("c", "f", "s2", 2, 20.0, 30.0, speech=[SpeechPart("The depot moves in May.", 21, 24)],
                              file_info={"filename": "spring.mp4"}), 0.5)]


def test_one_citation_per_segment_spanning_its_cited_lines():
    ev = gather("orders depot", SEGS, None)
    order = {ln.text: n for n, ln in enumerate(ev.lines, 1)}
    cited = ev.cited([order["Orders doubled this spring."], order["Orders: +100 %"], order["The depot moves in May."]])
    cites, tools = from_lines(cited, ev, "Orders doubled; the depot moves in May.")
    assert [(c.segment.segment_id, c.number, c.start_time, c.end_time) for c in cites] == [
        ("s1", 1, 11.0, 17.0), ("s2", 2, 21.0, 24.0)]
    assert cites[0].sources == ["speech", "scene_text"] and tools == []


def test_tool_results_are_cited_as_tools():
    ev = gather("orders", SEGS, None, tools=[("call_7", "42 units in stock")])
    cites, tools = from_lines(ev.cited([len(ev.lines)]), ev, "42 units are in stock.")
    assert cites == [] and [(t.tool_call_id, t.text) for t in tools] == [("call_7", "42 units in stock")]


def test_refusals_in_every_language_and_markers():
    assert all(is_refusal(r) for r in REFUSALS.values())
    assert is_refusal("") and is_refusal("I cannot find that in the segments.")
    assert not is_refusal("Orders doubled this spring.")
    assert strip_markers("Orders doubled [1, 2] this spring [3].") == "Orders doubled this spring."
