from clipcite.domain import ScoredSegment, Segment, SpeechPart
from engine.citations import attribute, cite, is_refusal, marker_numbers
from engine.prompting import REFUSAL


def seg(i, speech="", screen=(), visual=()):
    return ScoredSegment(Segment(collection_id="c", file_id=f"f{i}", segment_id=f"s{i}", index=i,
                                 start_time=10.0 * i, end_time=10.0 * i + 10,
                                 speech=[SpeechPart(speech, 10.0 * i + 1, 10.0 * i + 5)] if speech else [],
                                 scene_text=list(screen), visual=list(visual),
                                 file_info={"filename": f"v{i}.mp4"}), 1.0 / (i + 1))


SEGS = [seg(0, "welcome to the quarterly update"), seg(1, "revenue reached one point eight million from cider",
        ["Revenue: $1.8M"]), seg(2, "members get a dividend of three percent")]


def test_marker_forms():
    assert marker_numbers("A [1] and [2, 3] then [3][4]; see segment 5") == [1, 2, 3, 4, 5]


def test_markers_map_to_segments_and_out_of_range_dropped():
    out = cite("Cider brought most revenue [2]. Also [9].", SEGS)
    assert [c.segment.segment_id for c in out] == ["s1"]
    assert out[0].context == "Cider brought most revenue."


def test_refusal_cites_nothing():
    assert is_refusal(REFUSAL)
    assert cite(REFUSAL + " [1]", SEGS) == []
    assert cite("The segments do not contain the manager's colour.", SEGS) == []


def test_attribution_without_markers_uses_overlap():
    out = cite("Members receive a dividend of three percent.", SEGS)
    assert [c.segment.segment_id for c in out] == ["s2"]


def test_no_overlap_no_citation():
    assert attribute("Completely unrelated words here", SEGS) == []


def test_one_word_answer_is_attributed_to_its_segment():
    segs = [seg(0, "welcome"), seg(1, "", ["Dividend: 3%"]), seg(2, "other things")]
    assert [c.segment.segment_id for c in cite("3%", segs)] == ["s1"]


def test_grounding_check():
    from engine.citations import is_grounded
    segs = [seg(0, "Questions go to the lab manager", ["Lab manager: Dr. Ines Okafor"], ["colours: navy"])]
    assert is_grounded("Dr. Ines Okafor is the lab manager [1].", "Who is the lab manager?", segs)
    assert not is_grounded("The lab manager's favourite colour is blue.", "What is the lab manager's favourite colour?",
                           segs)
    assert is_grounded("It is shown in the video segment [1] at 00:00.", "When is it shown?", segs)
    assert is_grounded(REFUSAL, "anything", segs)


def test_ordinal_segment_references_count_as_markers():
    assert marker_numbers("It is in the second segment, then segment 3.") == [2, 3]
    out = cite("A horse is shown in the first video segment.", [seg(0, "", visual=["objects: horse"]), seg(1, "x")])
    assert [c.segment.segment_id for c in out] == ["s0"]


def test_citation_narrows_to_the_supporting_moment():
    """Failure class 8: a fact said in 3 s of a 20 s window is cited for those seconds, not the window."""
    from clipcite.domain import ScreenLine
    seg = Segment("c", "f", "s", 0, 20.0, 40.0,
                  speech=[SpeechPart("Welcome back to the briefing.", 19.0, 24.0),
                          SpeechPart("The crossing now takes twenty two minutes.", 24.5, 27.5),
                          SpeechPart("Thanks for listening.", 36.0, 41.0)],
                  scene_text=["Group code: TERN-58"], scene_text_spans=[ScreenLine("Group code: TERN-58", 30.0, 35.0)])
    (c,) = cite("The crossing takes twenty two minutes [1].", [ScoredSegment(seg, 1.0)])
    assert (c.start_time, c.end_time) == (24.5, 27.5)
    (c,) = cite("The group code is TERN-58 [1].", [ScoredSegment(seg, 1.0)])
    assert (c.start_time, c.end_time) == (30.0, 35.0)
    (c,) = cite("Welcome back [1].", [ScoredSegment(seg, 1.0)])
    assert (c.start_time, c.end_time) == (20.0, 24.0)  # clipped to the segment
    (c,) = cite("Something unrelated entirely [1].", [ScoredSegment(seg, 1.0)])
    assert (c.start_time, c.end_time) == (20.0, 40.0)  # nothing matches: the whole segment


def test_a_figure_no_segment_holds_is_not_grounded_but_a_segment_time_is_fine():
    from clipcite.domain import ScoredSegment
    from engine.citations import is_grounded
    from tests.fakes import segment
    segs = [ScoredSegment(segment(1, "The crossing now takes 22 minutes."), 1.0)]  # the segment spans 20-40 s
    q = "When does the last ferry leave?"
    assert not is_grounded("The last ferry of the day leaves at 23:10 [1].", q, segs)  # a time of day made up
    assert not is_grounded("The crossing takes 25 minutes.", "How long is the crossing?", segs)
    assert is_grounded("The crossing takes 22 minutes, said at 00:25 [1].", "How long is the crossing?", segs)


def test_a_time_converted_to_the_askers_clock_is_the_same_figure():
    from clipcite.domain import ScoredSegment
    from engine.citations import is_grounded
    from tests.fakes import segment
    segs = [ScoredSegment(segment(0, "La próxima reunión será el jueves.", ("Próxima reunión: jueves 14:00",)), 1.0)]
    assert is_grounded("The meeting is at 2:00 PM on Thursday [1].", "When is the meeting?", segs)
    assert not is_grounded("The meeting is at 3 pm on Thursday [1].", "When is the meeting?", segs)
