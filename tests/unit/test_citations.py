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
    hours = [ScoredSegment(segment(0, "", ("Open daily 9:00-18:00",)), 1.0)]  # a morning hour, unpadded
    assert is_grounded("The zoo is open from 9:00 AM to 6:00 PM [1].", "What are the opening hours?", hours)
    assert is_grounded("It opens at 09:00 [1].", "What are the opening hours?", hours)
    assert not is_grounded("It opens at 8:00 AM [1].", "What are the opening hours?", hours)


def test_a_picture_answer_is_cited_for_the_seconds_the_picture_is_shown():
    from clipcite.domain import ScreenLine
    segment = Segment("c", "f", "s", 0, 40.0, 60.0, speech=[SpeechPart("Welcome to the loading bay.", 40.0, 44.0)],
                      visual_spans=[ScreenLine("A picture of a horse in the centre.", 46.0, 51.0)])
    (c,) = cite("A horse is shown at 00:46-00:51 [1].", [ScoredSegment(segment, 1.0)], focus="When is a horse shown?")
    assert (c.start_time, c.end_time) == (46.0, 51.0)


def test_an_answer_that_only_restates_its_question_adds_nothing():
    """"What rules were explained?" -> "The rules were explained in the video." is grounded word for word."""
    from engine.citations import adds_nothing
    assert adds_nothing("The rules were explained in the video.", "What rules were explained?")
    assert not adds_nothing("Laser goggles must be worn at all times [1].", "What rules were explained?")
    assert not adds_nothing("Yes, it is open on Mondays.", "Is it open on Mondays?")
    assert not adds_nothing(REFUSAL, "What rules were explained?")


def test_a_marker_on_a_segment_without_the_fact_moves_to_the_segment_that_holds_it():
    """The model numbered the notice of [1] as [2]: the figure decides where the citation goes."""
    notices = seg(0, "", ["Audio guide: channel 9", "Lost property: desk C"])
    lecture = seg(1, "the stones on the ridge")
    (c,) = cite("The audio guide is on channel 9 [2].", [notices, lecture], focus="Which channel is the guide on?")
    assert c.segment.segment_id == "s0" and c.number == 1
    (c,) = cite("The stones lie on the ridge [2].", [notices, lecture], focus="Where are the stones?")
    assert c.segment.segment_id == "s1"  # the marked segment holds it: kept
    (c,) = cite("It is channel 12 [2].", [notices, lecture], focus="Which channel?")
    assert c.segment.segment_id == "s1"  # nobody holds it: the marker stands (grounding judges the answer)
