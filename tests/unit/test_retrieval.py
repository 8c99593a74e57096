from clipcite.domain import ScoredSegment, Segment, SpeechPart
from engine.retrieval import coverage, rerank


def seg(name, speech="", visual=()):
    return ScoredSegment(Segment("c", name, name, 0, 0.0, 1.0, speech=[SpeechPart(speech, 0, 1)] if speech else [],
                                 visual=list(visual), file_info={"filename": f"{name}.mp4"}), 0.0)


def test_rare_query_term_beats_a_common_one():
    hits = [seg("a", "use the extension shown on screen"), seg("b", "", ["objects: horse"]),
            seg("c", "the code is shown here"), seg("d", "numbers shown")]
    assert rerank("When is a horse shown?", hits)[0].segment.file_id == "b"


def test_coverage_matches_stems_by_prefix():
    assert coverage({"goggl"}, {"goggles"}) == 1.0
    assert coverage({"room", "212"}, {"room"}) == 0.5
    assert coverage(set(), {"x"}) == 0.0


def test_rerank_keeps_order_when_nothing_matches():
    hits = [seg("a", "alpha"), seg("b", "bravo")]
    assert [h.segment.file_id for h in rerank("zulu", hits)] == ["a", "b"]
