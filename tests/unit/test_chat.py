from engine.conversation import Turn, last_user_message, prompt_question, search_query


def test_short_follow_up_is_searched_with_the_previous_question():
    msgs = [Turn("user", "When does the ferry service launch?"),
            Turn("assistant", "On the fourth of June [2]."),
            Turn("user", "and who said it?")]
    # The previous answer (markers stripped) carries the words of the segment being discussed.
    assert search_query(msgs) == "When does the ferry service launch? On the fourth of June. and who said it?"
    assert last_user_message(msgs) == "and who said it?"
    assert prompt_question(msgs) == "and who said it? (follow-up to: When does the ferry service launch?)"
    refused = [msgs[0], Turn("assistant", "The videos do not contain this information."), msgs[2]]
    assert search_query(refused) == "When does the ferry service launch? and who said it?"


def test_standalone_question_is_searched_alone():
    msgs = [Turn("user", "When does the ferry service launch?"),
            Turn("assistant", "June."),
            Turn("user", "What is the harbour budget this year?")]
    assert search_query(msgs) == "What is the harbour budget this year?"
    assert search_query([Turn("system", "x")]) == ""


def test_follow_up_detection():
    from engine.conversation import is_follow_up
    assert is_follow_up("and when does it start?")
    assert is_follow_up("Who said that?")
    assert not is_follow_up("Who is the lab manager?")
    assert not is_follow_up("What is the harbour budget this year?")
