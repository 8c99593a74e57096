from clipcite.domain import SpeechSpan, TimeRange, Word
from ingest.pipeline import FileAnalysis, build_segments, point_id, segment_uuid


def span(text, start, end):
    words = text.split()
    step = (end - start) / len(words)
    return SpeechSpan(text, start, end, tuple(Word(w, start + i * step, start + (i + 1) * step) for i, w in enumerate(words)))


def test_straddling_sentence_goes_to_both_sides_and_short_tails_do_not():
    analysis = FileAnalysis(video_info={"duration_seconds": 30.0},
                            speech=[span("first sentence here", 1, 4), span("members get a dividend of three percent", 18, 22.5),
                                    span("ok", 19.6, 20.2)])
    segs = build_segments(analysis, [TimeRange(0, 20), TimeRange(20, 30)], "c", "f", {}, {})
    assert [p.text for p in segs[0].speech] == ["first sentence here", "members get a dividend of three percent", "ok"]
    assert [p.text for p in segs[1].speech] == ["members get a dividend of three percent"]


def test_ids_are_deterministic():
    a = segment_uuid("c", "f", TimeRange(0, 20))
    assert a == segment_uuid("c", "f", TimeRange(0, 20)) != segment_uuid("c", "f", TimeRange(0, 21))
    assert point_id(a) == point_id(a) and 0 <= point_id(a) < 2**63
