"""The checks of an answer against the lines it cites (`engine.grounding`), in several languages. All content
invented."""

from __future__ import annotations

import numpy as np

from engine.evidence import Line
from engine.grounding import Grounding, codes, lexically_grounded, names, numbers, reconcile, used_lines


def said(text: str, start: float = 10.0, end: float = 14.0, lang: str | None = "en") -> Line:
    return Line("said", text, start, end, 0, "f1", lang=lang)


def shown(text: str, start: float = 9.0, end: float = 15.0) -> Line:
    return Line("screen", text, start, end, 0, "f1")


def test_one_number_many_spellings():
    assert numbers("We hired forty-one drivers and spent twelve hundred euros.", "en") == {"41", "1200"}
    assert numbers("Contratamos cuarenta y uno conductores.", "es") == {"41"}
    assert numbers("quatre-vingt-dix-neuf personnes", "fr") == {"99"}
    assert numbers("EUR 940,000 / 940.000 / 940 000") == {"940000"}
    assert numbers("opens at 09:00, closes at 9:30") == {"9:00", "9:30"}
    assert numbers("in 2024 100 people came") == {"2024", "100"}
    assert numbers("a rise of 3,5 %") == {"3.5"}


def test_codes_and_names():
    assert codes("The fault code is ZQ-417 on line B12.") == {"zq417", "b12"}
    assert names("The new lead is Ilse Varkonyi, said Tomás.") == {"ilse", "varkonyi", "tomas"}
    assert names("Yes. The meeting moved.") == set()  # sentence starts are not names


class Flat:
    """Every text the same vector: meaning never decides, only the other checks."""
    related_floor = 0.5

    def embed_cached(self, texts, persist=True, query=False):
        return np.ones((len(texts), 3), np.float32) / np.sqrt(3)


def check(answer: str, question: str, cited: list[Line], lang: str = "en"):
    return Grounding(Flat()).check(answer, question, cited, lang)


def test_a_figure_the_cited_lines_do_not_hold_fails_and_says_which():
    cited = [said("Deliveries rose by seventeen percent this year.")]
    assert check("Deliveries rose by 17%.", "How much did deliveries rise?", cited).supported
    v = check("Deliveries rose by 71%.", "How much did deliveries rise?", cited)
    assert not v.supported and v.failed == "figure 71 is in no cited line"
    assert check("In 2031 deliveries rose by 17%.", "How much did deliveries rise in 2031?", cited).supported


def test_a_code_or_a_name_the_cited_lines_do_not_hold_fails():
    cited = [shown("Pump fault: ZQ-417"), said("Call Ilse Varkonyi if the pump stops.")]
    assert check("The pump shows ZQ-417.", "Which code does the pump show?", cited).supported
    failed = check("The pump shows ZQ-418.", "Which code does the pump show?", cited).failed
    assert failed == "code zq418 is in no cited line"
    v = check("Call Ilse Marek.", "Whom do I call when the pump stops?", cited)
    assert not v.supported and "marek" in (v.failed or "")


def test_an_answer_about_another_subject_fails():
    cited = [said("Orchard Freight hired thirty drivers.")]
    v = check("Thirty drivers were hired.", "How many drivers did Lakeside Mills hire?", cited)
    assert not v.supported and "lakeside" in (v.failed or "")
    v = check("It fell by 30.", "How much did paper waste fall?", [said("Water use fell by 30 percent.")])
    assert not v.supported and v.failed == "the cited lines share no word with the question"
    assert check("Orchard Freight hired 30 drivers.", "How many drivers did Orchard Freight hire?", cited).supported


def test_a_line_about_the_named_subject_must_say_what_is_asked_of_it():
    cited = [shown("New welders: 14"), said("Orchard Freight hired thirty drivers.")]
    g = Grounding(Flat())
    # the video names the company, but the line the model named is about welders, not drivers
    v = g.check("Orchard Freight hired 14 drivers.", "How many drivers did Orchard Freight hire?", cited, "en",
                ["orchard freight update New welders: 14 Orchard Freight hired thirty drivers."], named=1)
    assert not v.supported and v.failed == "the cited lines do not say what the question asks of freight, orchard"
    # a slide that holds what is asked answers for the company the video is about
    assert g.check("Orchard Freight hired 14 welders.", "How many welders did Orchard Freight hire?", cited, "en",
                   ["orchard freight update New welders: 14"], named=1).supported
    # words no shown line holds ask nothing ("what did <name> say?"); inflections and possessives still match
    shown_lines = [said("Ilse Varkonyi leads the pump crew."), said("Revenue rose to nine million.")]
    for question in ("What did Ilse Varkonyi say?", "What is Ilse Varkonyi's role?", "Who does Ilse Varkonyi lead?"):
        assert g.subject(question, shown_lines[:1], "en", "en", named=1, shown=shown_lines) is None, question
    assert g.subject("What was Ilse Varkonyi's revenue?", shown_lines[:1], "en", "en", named=1,
                     shown=shown_lines) is not None  # another shown line speaks of revenue
    # a question that asks nothing but the name ("Who is Ilse Varkonyi?") needs no other word
    assert g.check("Ilse Varkonyi leads the pump crew.", "Who is Ilse Varkonyi?",
                   [said("Ilse Varkonyi leads the pump crew.")], "en").supported


def test_a_translated_answer_keeps_its_figures_and_may_rename_common_words():
    cited = [said("Orchard Freight hired thirty drivers.")]
    v = check("Orchard Freight contrató a 30 conductores.", "¿Cuántos conductores contrató Orchard Freight?",
              cited, "es")
    assert v.supported
    assert not check("Orchard Freight contrató a 40 conductores.", "¿Cuántos conductores contrató Orchard Freight?",
                     cited, "es").supported


def test_meaning_far_from_the_cited_lines_fails():
    class Apart:
        related_floor = 0.8

        def embed_cached(self, texts, persist=True, query=False):
            return np.eye(len(texts), 4, dtype=np.float32)

    v = Grounding(Apart()).check("The roof is green.", "What colour is the roof?",
                                 [said("The roof was repaired; the green door was not.")], "en")
    assert not v.supported and v.failed.startswith("the answer's meaning is far")


def test_an_answer_adds_what_its_lines_say_and_nothing_from_elsewhere():
    cited = [said("Kettle boil time: four minutes on the low ring.")]
    q = "How long does the kettle take to boil?"
    assert check("The kettle boils in four minutes on the low ring.", q, cited).supported
    assert check("The kettle boils.", q, cited).failed == "the answer adds nothing to the question"
    assert check("The kettle boiled in four minutes on the low rings.", q, cited).supported  # one stray word
    failed = check("The kettle boils in four minutes beside the purple lantern.", q, cited).failed
    assert failed.startswith("the answer's words are in no cited line")
    leak = Grounding(None, frozenset({"tram", "platform", "ticket"})).check(
        "The kettle boils on the tram platform in four minutes.", q, cited, "en").failed
    assert leak == "the answer copies the prompt's example: tram, platform"


def test_a_scaled_figure_is_one_number_in_any_spelling():
    cited = [shown("Sales: $2.4M"), said("Sales reached two point four million dollars.")]
    assert check("Sales reached $2.4 million.", "What were the sales?", cited).supported
    assert check("Sales reached 2,4 millones de dólares.", "¿Cuáles fueron las ventas?", cited, "es").supported
    assert not check("Sales reached $2.5 million.", "What were the sales?", cited).supported
    assert numbers("walk 10 m north") == {"10"}
    said_too = [shown("Sales: $2.4M"), said("Sales reached 2.4 million dollars.")]
    assert check("Sales reached 2.4 million dollars.", "What were the sales?", said_too).text == \
        "Sales reached 2.4 million dollars."


def test_a_moment_cites_the_line_that_begins_then_not_the_one_that_ends():
    before = Line("picture", "A slide of text.", 0.0, 6.0, 0, "f1")
    horse = Line("picture", "A picture of a horse in the centre.", 6.0, 11.0, 0, "f1")
    assert used_lines("A horse is shown at 00:06-00:11.", "When is a horse shown?", [before, horse], "en") == [horse]


def test_the_screen_spelling_of_a_word_said_at_the_same_moment_is_used():
    cited = [said("From Monday, steal tow boots are required in the kiln room."),
             shown("Kiln room: steel-toe boots required")]
    assert reconcile("Steal tow boots are required.", cited) == "Steal steel-toe boots are required."  # noqa: E501 - see below
    cited = [said("The shuttle leaves from bay tree."), shown("Shuttle: bay 3")]
    assert reconcile("The shuttle leaves from bay tree.", cited) == "The shuttle leaves from bay 3."
    # a screen line shown at another time is no witness
    assert reconcile("The shuttle leaves from bay tree.", [said("The shuttle leaves from bay tree."),
                                                            shown("Shuttle: bay 3", 40.0, 45.0)]) == \
        "The shuttle leaves from bay tree."


def test_text_without_cited_lines_is_checked_by_its_words():
    from clipcite.domain import ScoredSegment, Segment, SpeechPart
    segs = [ScoredSegment(Segment("c", "f", "s", 0, 0, 20, speech=[SpeechPart("Orders doubled in May.", 1, 4)]), 1.0)]
    assert lexically_grounded("Orders doubled in May.", "summary", segs)
    assert not lexically_grounded("Orders tripled after 42 adverts in Lisbon.", "summary", segs)


def test_an_ordinal_is_a_figure_and_a_name_the_question_gives_in_lower_case_counts_as_asked():
    cited = [shown("Glass annex: Tuesday 6 June")]
    assert check("Work on the Glass Annex starts on Tuesday 6th June.", "When does work on the glass annex start?",
                 cited).supported
    assert not check("Work on the Glass Annex starts on Tuesday 7th June.", "When does work on the glass annex start?",
                     cited).supported


def test_a_misheard_name_still_names_the_subject():
    from engine.grounding import mentions, name_runs

    q = "Where will Quillborne Maritime open its next depot?"
    assert name_runs(q) == ["quillbornemaritime"]
    assert name_runs("Who leads Zarvik?") == []
    # The recogniser wrote the rare name as words it knows; a near spelling of the whole name counts.
    assert mentions("Quill Bourne Maritim will open its next depot in Osk.", names(q), name_runs(q))
    assert mentions("Welcome to the Tellarvex update", {"tellarvex"}, [])
    assert mentions("welcome to the telar vex update", {"tellarvex"}, [])
    # Another name that merely shares letters does not.
    assert not mentions("Quarry Borne Marine will open a depot in Osk.", names(q), name_runs(q))
    assert not mentions("Northfield opens a depot", {"northwind"}, [])
    assert not mentions("Vex opens a depot", {"vexa"}, [])  # short names only as written


def test_the_subject_check_reads_a_misheard_name_in_the_videos_context():
    g = Grounding()
    line = said("They will open the next depot in Osk.")
    ctx = ["ops update Welcome to the Quill Bourne Maritim update. They will open the next depot in Osk."]
    assert g.check("The next depot is in Osk.", "Where will Quillborne Maritime open its next depot?",
                   [line], "en", ctx).supported
    other = ["ops update Welcome to the Harrow Freight update. They will open the next depot in Osk."]
    verdict = g.check("The next depot is in Osk.", "Where will Quillborne Maritime open its next depot?",
                      [line], "en", other)
    assert not verdict.supported and "do not mention" in (verdict.failed or "")
