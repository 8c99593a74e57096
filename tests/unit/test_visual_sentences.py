"""Visual descriptions a person would write: the sort of picture, what is in it and where, the everyday
word for what the classifier names, colours only where they are the point, and a time per sentence."""

import numpy as np

from clipcite.domain import FrameText, FrameVisual, SpeechSpan, TimeRange
from ingest.indexing import frame_sentence, visual_sentences
from ingest.stages.visual.describer import frame_kind, imagenet_kind, plural, where


def test_kinds_of_frame_from_pixels():
    import cv2
    slide = np.full((270, 480, 3), (128, 128, 0), np.uint8)
    cv2.putText(slide, "Left luggage: counter 7", (20, 135), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    noise = np.random.default_rng(1).integers(0, 255, (270, 480, 3), dtype=np.uint8)
    assert frame_kind(slide) == "graphic"
    assert frame_kind(np.full((270, 480, 3), 3, np.uint8)) == "dark"
    assert frame_kind(np.full((270, 480, 3), 200, np.uint8)) == "blank"
    assert frame_kind(noise) == "photo"


def test_imagenet_names_get_their_everyday_word():
    assert imagenet_kind(339) == "horse" and imagenet_kind(281) == "cat" and imagenet_kind(200) == "dog"
    assert imagenet_kind(398) is None  # objects keep their own names
    assert plural("person", 2) == "2 people" and plural("apple", 1) == "an apple"
    assert where([0.1]) == "on the left" and where([0.5]) == "in the centre" and where([0.1, 0.9]) == "across the frame"


def test_sentences_say_what_the_frame_is():
    horse = FrameVisual(0, 3, "", objects=("horse",), scenes=("sorrel", "horse"), colours=("green",), kind="photo",
                        placed=("a horse in the centre",))
    assert frame_sentence(horse, False, False) == \
        "A picture of a horse in the centre, resembling a sorrel (a kind of horse)."
    slide = FrameVisual(0, 3, "", colours=("teal",), kind="graphic")
    assert frame_sentence(slide, True, False) == "A slide of text, on a teal background."
    talk = FrameVisual(0, 3, "", objects=("person",), kind="photo", placed=("a person on the left",))
    assert frame_sentence(talk, False, True) == "A picture of a person speaking on the left."
    assert frame_sentence(FrameVisual(0, 1, "", kind="dark"), False, False) == "A dark, nearly empty frame."
    assert frame_sentence(FrameVisual(0, 1, "", caption="A rider mounts."), False, False) == "A rider mounts."


def test_each_sentence_keeps_the_time_its_keyframes_are_on_screen():
    frames = [FrameVisual(0, 4, "", colours=("teal",), kind="graphic"),
              FrameVisual(4, 7, "", objects=("horse",), kind="photo", placed=("a horse in the centre",)),
              FrameVisual(7, 9, "", objects=("horse",), kind="photo", placed=("a horse in the centre",)),
              FrameVisual(9, 30, "", colours=("teal",), kind="graphic")]
    texts = [FrameText(0, 4, ("DEPOT NOTICES",))]
    spans = visual_sentences(frames, texts, [SpeechSpan("hello", 10, 12)], TimeRange(0, 20))
    assert [(s.text, s.start_time, s.end_time) for s in spans] == [
        ("A slide of text, on a teal background.", 0, 4),
        ("A picture of a horse in the centre.", 4, 9),  # two keyframes that say the same: one span
        ("A graphic, on a teal background.", 9, 20)]  # clipped to the segment; no text on screen here


def test_narrower_kinds_keep_the_broader_one():
    """"A parrot" asks for the macaw, "a bird" too; a goose or black swan is a water bird."""
    assert imagenet_kind(88) == "parrot, a bird" and imagenet_kind(100) == "water bird"
    assert imagenet_kind(145) == "bird"  # king penguin: its label says the rest
