"""Failure class 4 (recombination): an answer of the wrong kind is no answer."""
import pytest

from engine.answer_types import answers_kind, expected_kind


@pytest.mark.parametrize("question,answer,ok", [
    ("What colour was the hull repainted?", "The hull was repainted while the boat was out of the water [1].", False),
    ("What colour was the hull repainted?", "It was repainted dark blue [1].", True),
    ("What time does the last bus leave?", "The last bus leaves shortly after [2].", False),
    ("What time does the last bus leave?", "It leaves at 23:10 [2].", True),
    ("What time does the shop open?", "At 9 am.", True),
    ("What time does the last bus leave?", "The last bus leaves at 140 passengers [1].", False),  # not a time
    ("What time does the last bus leave?", "It leaves at 11 [1].", True),
    ("What time does the last ferry leave?", "The last ferry leaves at 22 minutes after crossing [1].", False),
    ("How much does a ticket for Hall B cost?", "The ticket for Hall B costs 17:30 [1].", False),
    ("How much does a ticket cost?", "A ticket costs $12 [1].", True),
    ("How much does a ticket cost?", "Entry is free for children.", True),
    ("How much was spent on spare parts this month?", "They spent 900 this month [1].", True),
    ("How many volunteers check the packets?", "Volunteers check the packets carefully [3].", False),
    ("How many volunteers check the packets?", "Three volunteers check them.", True),
    ("In which year was the first survey made?", "The first survey was made long ago [1].", False),
    ("In which year was the first survey made?", "In 1998 [1].", True),
    ("Where can visitors collect lost property?", "At desk C [1].", True),  # untyped: anything goes
    ("When does the group meet?", "On the first Saturday of every month.", True),
])
def test_answer_must_be_of_the_asked_kind(question, answer, ok):
    assert answers_kind(question, answer) is ok


def test_citation_markers_are_not_counts():
    assert not answers_kind("How many doors are there?", "The doors are red [2].")


def test_only_unambiguous_questions_are_typed():
    assert expected_kind("How much more water does the stream carry?") is None
    assert expected_kind("Who is the lab manager?") is None
    assert expected_kind("What colour is the logo?")[0] == "colour"


def test_a_question_about_the_screen_is_answered_with_shown_text():
    """Class 2: speech pointing at the screen, repeated back, is no answer when the shown line is there."""
    from engine.answer_types import names_screen_text
    lines = ["WEEKLY SYNC", "Group code: TERN-58"]
    q = "What code is shown on screen?"
    assert not names_screen_text(q, "The code is shown on screen now, so please write it down.", lines)
    assert names_screen_text(q, "The code shown on screen is TERN-58 [1].", lines)
    assert names_screen_text("What code is used?", "The code is secret.", lines)  # not about the screen
    assert names_screen_text(q, "The code is 42.", [])  # nothing was shown: other checks decide


@pytest.mark.parametrize("question,answer,ok", [
    ("What is the name of the ferry's captain?", "The captain's name is Captain TERN-58 [1].", False),  # a code
    ("What is the name of the farmer who gave the library its bean?",
     "The name of the farmer who gave the library its bean is silver ladder.", False),  # the bean's name
    ("What is the name of the ferry's captain?", "Group code: TERN-58 [1].", False),  # a line's first word
    ("What is the name of the captain?", "The captain is Dr. Ines Okafor [1].", True),
    ("What is the captain's name?", "Ines Okafor is the captain.", True),
    ("What is the treasurer's name?", "La trésorière est Hélène Garnier [2].", True),
    ("What is the name of the bean variety?", "It is called silver ladder [1].", True),  # not a person: untyped
    ("What is the name of Thomas's manager?", "The manager of Thomas is his manager [1].", False),  # asked name
    ("What is the name of Thomas's manager?", "Thomas's manager is Ines Okafor [1].", True),
])
def test_the_name_of_a_person_is_a_name(question, answer, ok):
    """Class 4: recombination into a person's name ("Captain TERN-58") is caught by the answer's shape."""
    assert answers_kind(question, answer) is ok


def test_questions_about_a_moment_of_the_video():
    from engine.answer_types import asks_moment
    for q in ("When is a horse shown?", "At what point can you see a cow?", "When does the alarm go off?",
              "When do sheep appear in the video?", "When is applause heard?"):
        assert asks_moment(q), q
    for q in ("When does the seed library group meet?", "When will we see the results?", "When is the match played?",
              "Where is a horse shown?"):
        assert not asks_moment(q), q


def test_a_name_must_be_given_near_where_the_role_is_mentioned():
    from engine.answer_types import name_beside_role
    lines = [("f", "Last year we lent out 600 packets, which surprised Olavas.", 30.0, 34.0),
             ("f", "It is called the Silver Ladder, which an old farmer gave us years ago.", 59.0, 63.0),
             ("f", "The farmer, Anna Berg, still grows it.", 64.0, 67.0),
             ("g", "Tomas said hello.", 60.0, 62.0)]
    q = "What is the name of the farmer who gave the seed library its bean?"
    assert not name_beside_role(q, "The farmer's name is Olavas [1].", lines)  # 25 s away: another sentence
    assert name_beside_role(q, "The farmer is Anna Berg [1].", lines)
    assert not name_beside_role(q, "The farmer is Tomas [2].", lines)  # beside in time, in another file
    assert name_beside_role("What is the name of the speaker?", "The speaker is Olavas.", lines)  # role never said
    assert name_beside_role("Where is the cloakroom?", "It is on the Lower Floor.", lines)  # no name asked
