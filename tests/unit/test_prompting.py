from clipcite.domain import FrameVisual
from engine.prompting import fmt_time, without_colours
from ingest.indexing import merge_visuals


def test_fmt_time():
    assert fmt_time(5.4) == "00:05" and fmt_time(75) == "01:15" and fmt_time(3725) == "1:02:05"


def test_visuals_merge_into_one_stable_description():
    frames = [FrameVisual(0, 1, "", objects=("kettle",), colours=("white", "black")),
              FrameVisual(1, 2, "", objects=("kettle", "person"), scenes=("teapot",), colours=("white",))]
    (text,) = merge_visuals(frames)
    assert text == "objects: kettle, person; resembles teapot; colours: white, black"
    assert merge_visuals([]) == []


def test_colours_are_left_out_of_what_the_model_reads():
    assert without_colours("objects: kettle; resembles teapot; dark colours: navy, black") == \
        "objects: kettle; resembles teapot"
    assert without_colours("colours: navy") == ""
    assert without_colours("A slide of text, on a teal background.") == "A slide of text."
    assert without_colours("A picture in grey and brown tones.") == "A picture."
    assert without_colours("A picture of a kettle in the centre.") == "A picture of a kettle in the centre."


def test_split_hundreds_are_joined():
    from engine.lexical import join_spoken_numbers, tokens
    assert join_spoken_numbers("inside room 300 and 14.") == "inside room 314."
    assert join_spoken_numbers("between 200 and 300") == "between 200 and 300"
    assert "314" in tokens("room 300 and 14")
