"""The extractive retry after a refusal: the copied line must be one of the segments' lines."""
from clipcite.domain import ScoredSegment, ScreenLine, Segment, SpeechPart
from engine.extraction import extract, locate
from tests.fakes import FakeGenerator

SEG = Segment("c", "f", "s", 0, 20.0, 40.0, speech=[SpeechPart("On spare parts, we spent $900 this month.", 24, 27)],
              scene_text=["No flash photography"], scene_text_spans=[ScreenLine("No flash photography", 30, 34)],
              file_info={"filename": "sync.mp4"})
OTHER = Segment("c", "g", "t", 0, 0.0, 20.0, speech=[SpeechPart("The ferry leaves from the north pier.", 1, 4)],
                file_info={"filename": "ferry.mp4"})
SEGS = [ScoredSegment(OTHER, 0.9), ScoredSegment(SEG, 0.8)]


def test_a_copied_line_or_fragment_is_located_in_its_segment():
    assert locate("[2] On spare parts, we spent $900 this month.", SEGS).answer() == \
        "On spare parts, we spent $900 this month [2]."
    assert locate("$900", SEGS).line == "On spare parts, we spent $900 this month."  # a fragment of a line
    assert locate("[2] on screen: No flash photography", SEGS).answer() == "No flash photography [2]."
    # Two adjacent lines copied as one (an OCR crumb before the notice): the whole line inside it counts.
    assert locate("3000 No flash photography", SEGS).line == "No flash photography"
    assert locate("flash photography of the ferry pier at dawn", SEGS) is None  # a line's words, mostly new


def test_none_paraphrases_and_inventions_locate_nowhere():
    assert locate("NONE", SEGS) is None and locate("None.", SEGS) is None
    assert locate("The hull was painted dark blue by the crew.", SEGS) is None
    assert locate("", SEGS) is None


def test_extract_asks_the_model_with_the_segments_and_locates_its_reply():
    gen = FakeGenerator("[2] On spare parts, we spent $900 this month.")
    found = extract(gen, "How much was spent on spare parts?", SEGS, 400)
    assert found is not None and found.number == 2
    prompt = gen.seen[0][-1]["content"]
    assert "[2] sync.mp4 00:20-00:40" in prompt and prompt.endswith("Question: How much was spent on spare parts?")
    assert extract(FakeGenerator("NONE"), "Who is the captain?", SEGS, 400) is None
    assert extract(gen, "q", [], 400) is None


def test_a_refused_answerable_question_is_answered_from_the_copied_line(tmp_path):
    """End to end in the service: refusal -> extractive retry -> grounded, cited answer."""
    from engine.catalog import Catalog, CollectionRecord
    from engine.chat import ChatRequest, ChatService
    from engine.conversation import Turn
    from engine.prompting import REFUSAL
    from tests.fakes import FakeRetriever

    class Replies(FakeGenerator):
        def __init__(self, *replies):
            super().__init__(replies[0])
            self.replies = list(replies)

        def chat(self, messages, params):
            self.reply = self.replies.pop(0)
            return super().chat(messages, params)

    catalog = Catalog(tmp_path / "c.sqlite3")
    catalog.library.add_collection(CollectionRecord("c1", "c1", None, "media-descriptions", None, 0))
    chat = ChatService(FakeRetriever(), Replies(REFUSAL, "[1] Forklift drivers check the tyre pressure every Monday."),
                       catalog)  # type: ignore[arg-type]
    ans = chat.answer(ChatRequest(turns=[Turn("user", "When do drivers check tyres?")], collections=["c1"]))
    assert ans.text == "Forklift drivers check the tyre pressure every Monday [1]." and ans.grounded
    assert ans.citations and ans.citations[0].segment.segment_id == "s0"
    catalog.close()


def test_a_question_about_the_screen_copies_a_shown_line():
    """Class 2: only on-screen lines are offered (and accepted) when the question asks what is shown."""
    gen = FakeGenerator("[2] No flash photography")
    found = extract(gen, "What is written on screen?", SEGS, 400)
    prompt = gen.seen[0][-1]["content"]
    assert "speech:" not in prompt and "[2] sync.mp4 00:20-00:40\non screen: No flash photography" in prompt
    assert found is not None and found.answer() == "No flash photography [2]."  # numbered as the answer's
    assert locate("On spare parts, we spent $900 this month.", SEGS, screen_only=True) is None


def test_a_question_about_when_something_is_shown_or_heard_is_answered_from_pictures_and_sounds():
    """No model call: the picture or sound that names the asked thing, with its time."""
    from clipcite.domain import SoundEvent
    horse = Segment("c", "h", "u", 2, 40.0, 60.0, speech=[SpeechPart("Welcome to the loading bay.", 40, 44)],
                    visual_spans=[ScreenLine("A picture of a horse in the centre, on a grey background.", 46, 51)],
                    sounds=[SoundEvent("alarm clock ringing", 52.0, 55.0, 0.8)], file_info={"filename": "tour.mp4"})
    segs = [ScoredSegment(OTHER, 0.9), ScoredSegment(horse, 0.8)]
    gen = FakeGenerator("[1] The ferry leaves from the north pier.")
    found = extract(gen, "When is a horse shown?", segs, 400)
    assert found is not None and found.answer() == "A picture of a horse in the centre (00:46-00:51) [2]."
    assert extract(gen, "At what point can you see a horse?", segs, 400).number == 2
    assert extract(gen, "When does the alarm go off?", segs, 400).answer() == "alarm clock ringing (00:52-00:55) [2]."
    assert extract(gen, "When is an elephant shown?", segs, 400) is None  # nothing names it: the refusal stands
    assert gen.seen == []


def test_among_equal_matches_the_description_that_is_mostly_the_asked_thing_wins():
    cheetah = Segment("c", "z", "v", 0, 0.0, 20.0, visual_spans=[
        ScreenLine("A picture of a bear on the right, resembling a cheetah (a kind of big cat).", 7, 10)])
    kitten = Segment("c", "f", "w", 1, 20.0, 40.0,
                     visual_spans=[ScreenLine("A picture of a cat in the centre.", 30, 39)])
    found = extract(FakeGenerator("NONE"), "When is a cat shown?", [ScoredSegment(cheetah, 0.9),
                                                                     ScoredSegment(kitten, 0.8)], 400)
    assert found is not None and found.number == 2 and found.when == (30, 39)


def test_a_prohibition_question_is_answered_by_the_sign_that_names_its_thing():
    from engine.extraction import find_notice
    assert find_notice("What kind of photography is not allowed?", SEGS).answer() == "No flash photography [2]."
    assert find_notice("Is flash photography permitted?", SEGS).number == 2
    assert find_notice("Is smoking allowed?", SEGS) is None  # the sign is about something else
    assert find_notice("What kind of photography do visitors like?", SEGS) is None  # no prohibition asked


def test_the_retry_falls_back_to_the_sign_when_the_model_copies_nothing():
    found = extract(FakeGenerator("NONE"), "What kind of photography is not allowed?", SEGS, 400)
    assert found is not None and found.line == "No flash photography"
    assert extract(FakeGenerator("NONE"), "How much does a ticket cost?", SEGS, 400) is None
