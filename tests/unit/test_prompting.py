from clipcite.domain import FrameVisual, ScoredSegment, ScreenLine, Segment, SpeechPart
from engine.prompting import REFUSAL, SYSTEM_PROMPT, build_user_message, fmt_time, pick_parts
from ingest.indexing import merge_visuals


def test_fmt_time():
    assert fmt_time(5.4) == "00:05" and fmt_time(75) == "01:15" and fmt_time(3725) == "1:02:05"


def test_pick_parts_keeps_time_order_and_best_matches():
    assert pick_parts([0.1, 0.9, 0.05, 0.2]) == [1, 3]
    assert pick_parts([0.1, 0.9, 0.5, 0.2]) == [1, 2]
    assert pick_parts([0.0, 0.0]) == [0, 1]


def test_a_picked_half_sentence_brings_its_other_half():
    texts = ["You take a packet in spring.", "Last year we lent out about 600", "packets, which surprised us.",
             "Beans are popular.", "Tomatoes too."]
    assert pick_parts([0.1, 0.2, 0.9, 0.3, 0.1], keep=2, floor=0.95, texts=texts) == [1, 2, 3]
    assert pick_parts([0.1, 0.9, 0.2, 0.1, 0.3], keep=2, floor=0.95, texts=texts) == [1, 2, 4]


def test_user_message_numbers_segments_and_uses_focused_speech():
    parts = [SpeechPart("one.", 10, 11), SpeechPart("two.", 11, 12), SpeechPart("three.", 12, 13)]
    seg = Segment("c", "f", "s", 0, 10.0, 20.0, speech=parts, scene_text=["Exit B12"], visual=["objects: horse"],
                  file_info={"filename": "a/b/talk.mp4"})
    msg = build_user_message("Where?", [ScoredSegment(seg, 1.0)], speech={0: [parts[0], parts[2]]})
    assert msg.startswith("[1] talk.mp4 00:10-00:20\nspeech: one. … three.\non screen: Exit B12")
    assert msg.endswith("Question: Where?")
    assert REFUSAL in SYSTEM_PROMPT


def test_speech_and_screen_text_of_one_moment_sit_together():
    """Failure class 1 and 2: the slide shown while a number is said is printed next to that utterance."""
    parts = [SpeechPart("Welcome.", 0, 3), SpeechPart("The code is shown on screen now.", 12, 15),
             SpeechPart("See you.", 18, 19)]
    seg = Segment("c", "f", "s", 0, 0.0, 20.0, speech=parts, scene_text=["INTRO", "Code: TERN-58"],
                  scene_text_spans=[ScreenLine("INTRO", 0.0, 4.0), ScreenLine("Code: TERN-58", 11.5, 16.0)],
                  file_info={"filename": "x.mp4"})
    lines = build_user_message("q", [ScoredSegment(seg, 1.0)]).splitlines()[1:5]
    assert lines == ["on screen: INTRO", "speech: Welcome.", "on screen: Code: TERN-58",
                     "speech: The code is shown on screen now. See you."]


def test_speaker_names_follow_the_picked_utterances():
    parts = [SpeechPart("Hi.", 0, 1, "speaker_1"), SpeechPart("Hello.", 1, 2, "speaker_2"),
             SpeechPart("Bye.", 2, 3, "speaker_2")]
    seg = Segment("c", "f", "s", 0, 0.0, 5.0, speech=parts, file_speaker_count=2,
                  metadata={"speakers": {"speaker_1": "Dana"}}, file_info={"filename": "x.mp4"})
    msg = build_user_message("q", [ScoredSegment(seg, 1.0)])
    assert "speech: Dana: Hi. speaker_2: Hello. Bye." in msg


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


def test_keyframe_sentences_reach_the_prompt_without_their_colours():
    from engine.prompting import without_colours
    assert without_colours("A slide of text, on a teal background.") == "A slide of text."
    assert without_colours("A picture in grey and brown tones.") == "A picture."
    assert without_colours("A picture of a horse in the centre.") == "A picture of a horse in the centre."


def test_keyframe_sentences_carry_their_times_on_screen():
    """"When is a horse shown?" is answered from the picture line: it says when, merged per sentence."""
    from clipcite.domain import ScoredSegment, ScreenLine, Segment
    from engine.prompting import build_user_message
    horse = "A picture of a horse in the centre, on a grey background."
    seg = Segment("c", "f", "s", 2, 40.0, 60.0, visual_spans=[
        ScreenLine(horse, 42.0, 47.0), ScreenLine("A slide of text.", 47.0, 52.0), ScreenLine(horse, 55.0, 58.0)])
    prompt = build_user_message("When is a horse shown?", [ScoredSegment(seg, 1.0)])
    assert "A picture of a horse in the centre (00:42-00:47, 00:55-00:58). A slide of text (00:47-00:52)." in prompt
    assert "grey" not in prompt


def test_a_sentence_cut_by_the_segment_window_is_finished_from_the_next_segment():
    from clipcite.domain import ScoredSegment, Segment, SpeechPart
    from engine.prompting import continue_sentences

    first = Segment("c", "f", "a", 2, 40.0, 60.0, speech=[SpeechPart("Beans are popular.", 45, 48),
                                                           SpeechPart("The one everybody asks for is a bean", 56, 59)],
                    file_info={"filename": "talk.mp4"})
    second = Segment("c", "f", "b", 3, 60.0, 80.0, speech=[SpeechPart("called the Silver Ladder.", 59, 62),
                                                            SpeechPart("We meet on Saturdays.", 65, 68)],
                     file_info={"filename": "talk.mp4"})
    other = Segment("c", "g", "c", 3, 60.0, 80.0, speech=[SpeechPart("Unrelated.", 61, 62)])
    segs = [ScoredSegment(first, 1.0), ScoredSegment(other, 0.9), ScoredSegment(second, 0.8)]
    out = continue_sentences(segs, {})
    assert [p.text for p in out[0]][-1] == "called the Silver Ladder."  # the file's next window, not another file
    assert 1 not in out and 2 not in out  # those end their sentences
    msg = build_user_message("Which bean?", segs, 600, out)
    assert "is a bean called the Silver Ladder." in msg  # read as one sentence, no gap mark
    assert continue_sentences([ScoredSegment(first, 1.0)], {}) == {}  # the next window was not retrieved
