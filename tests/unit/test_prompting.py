from clipcite.domain import FrameVisual, ScoredSegment, Segment, SpeechPart
from engine.prompting import REFUSAL, SYSTEM_PROMPT, build_user_message, fmt_time, pick_sentences
from ingest.indexing import merge_visuals


def test_fmt_time():
    assert fmt_time(5.4) == "00:05" and fmt_time(75) == "01:15" and fmt_time(3725) == "1:02:05"


def test_pick_sentences_keeps_time_order_and_best_matches():
    parts = ["a", "b", "c", "d"]
    assert pick_sentences(parts, [0.1, 0.9, 0.05, 0.2]) == "b … d"
    assert pick_sentences(parts, [0.1, 0.9, 0.5, 0.2]) == "b … c"
    assert pick_sentences(["x", "y"], [0.0, 0.0]) == "x y"


def test_user_message_numbers_segments_and_uses_focused_speech():
    seg = Segment("c", "f", "s", 0, 10.0, 20.0, speech=[SpeechPart("long transcript", 10, 12)],
                  scene_text=["Exit B12"], visual=["objects: horse"], file_info={"filename": "a/b/talk.mp4"})
    msg = build_user_message("Where?", [ScoredSegment(seg, 1.0)], speech={0: "focused"})
    assert msg.startswith("[1] talk.mp4 00:10-00:20\nspeech: focused\non screen: Exit B12")
    assert msg.endswith("Question: Where?")
    assert REFUSAL in SYSTEM_PROMPT


def test_visuals_merge_into_one_stable_description():
    frames = [FrameVisual(0, 1, "", objects=("horse",), colours=("white", "black")),
              FrameVisual(1, 2, "", objects=("horse", "person"), scenes=("sorrel",), colours=("white",))]
    (text,) = merge_visuals(frames)
    assert text == "objects: horse, person; resembles sorrel; colours: white, black"
    assert merge_visuals([]) == []


def test_prompt_leaves_colours_out_but_keeps_objects():
    from engine.prompting import without_colours
    assert (without_colours("objects: horse; resembles sorrel; dark colours: navy, black")
            == "objects: horse; resembles sorrel")
    assert without_colours("colours: navy") == ""
    seg = Segment("c", "f", "s", 0, 0.0, 5.0, visual=["objects: horse; colours: white"],
                  file_info={"filename": "x.mp4"})
    msg = build_user_message("q", [ScoredSegment(seg, 1.0)])
    assert "objects: horse" in msg and "white" not in msg


def test_split_hundreds_are_joined():
    from engine.lexical import join_spoken_numbers, tokens
    assert join_spoken_numbers("inside room 200 and 12.") == "inside room 212."
    assert join_spoken_numbers("between 200 and 300") == "between 200 and 300"
    assert "212" in tokens("room 200 and 12")
