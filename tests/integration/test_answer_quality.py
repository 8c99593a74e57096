"""The answer failure classes of unseen corpora (issue 13), each on real models: Whisper tiny.en, RapidOCR,
MiniLM and the default chat model (Qwen2.5 1.5B), through the OpenAI SDK.

One generated video holds one case per class: a value only shown on screen while speech points at it, a
short silent text slide, a spoken fact among other talk (moment-precise citation), and questions that the
segment's words could be recombined into but that the video does not answer (a colour, a person's name).
"""

from __future__ import annotations

import pytest

from tests.builders import ask_chat, index_generated
from tests.media import Scene

pytestmark = pytest.mark.integration

SCENES = [
    Scene((110, 60, 40), text="DEPOT NOTICES", say="Welcome to the depot notices for this week."),
    Scene((40, 90, 120), text="Booking code: KESTREL-41",
          say="Groups can book ahead. Enter the booking code shown on screen when you pay."),
    Scene((30, 30, 30), text="Left luggage: counter 7", seconds=4.0),  # silent, shorter than a segment
    Scene((60, 120, 60), text="Depot works",
          say="Over the winter the roof was replaced. The workshop was repainted while it was closed. "
              "The new canteen opens on the second of May."),
    Scene((90, 30, 30), text="No flash photography", seconds=3.0),  # a silent prohibition sign
]


@pytest.fixture(scope="module")
def depot(qwen_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("quality") / "depot_notices.mp4"
    collection, _, windows = index_generated(qwen_server.url, path, SCENES, "quality")
    return collection, windows


def ask(qwen_server, collection: str, question: str) -> dict:
    return ask_chat(qwen_server.url, collection, question)


def inside(c: dict, window: tuple[float, float], tolerance: float = 1.0) -> bool:
    """moment@1's rule: starts in the window (with tolerance) and at least half of the span lies in it."""
    start, end = window
    span = c["end_time"] - c["start_time"]
    shared = min(c["end_time"], end) - max(c["start_time"], start)
    return start - tolerance <= c["start_time"] <= end + tolerance and shared >= 0.5 * span


def test_value_shown_on_screen_is_answered_with_the_shown_text(qwen_server, depot):
    """Class 2: speech says "shown on screen"; the answer is the on-screen value, cited at that slide."""
    collection, windows = depot
    a = ask(qwen_server, collection, "What is the booking code for groups?")
    assert "KESTREL-41" in a["text"].upper().replace(" ", ""), a
    assert a["citations"] and inside(a["citations"][0], windows[1]), a


def test_short_silent_slide_is_found_and_cited_for_its_own_seconds(qwen_server, depot):
    """Class 3 and 8: a 4-second slide without speech, inside a longer segment, answers and is cited at
    its own seconds rather than the whole segment."""
    collection, windows = depot
    a = ask(qwen_server, collection, "Where can travellers leave their luggage?")
    assert "counter 7" in a["text"].lower() or "counter seven" in a["text"].lower(), a
    first = a["citations"][0]
    assert inside(first, windows[2]), (first, windows[2])
    assert first["end_time"] - first["start_time"] < first["segment_end_time"] - first["segment_start_time"]


def test_spoken_fact_is_cited_at_the_utterance(qwen_server, depot):
    """Class 8: a spoken fact is cited for the seconds it is said, inside its segment."""
    collection, windows = depot
    a = ask(qwen_server, collection, "When does the new canteen open?")
    assert "may" in a["text"].lower(), a
    assert a["citations"] and inside(a["citations"][0], windows[3]), a


# Known failure (issue 30, open): with the question-keyed answer-type rules gone, nothing general tells that
# a copied line does not hold what is asked (a colour, a person's name) when it shares the question's subject;
# the 1.5B model names that line instead of "none". Kept visible as expected failures until a general check
# (the model's own uncertainty at "Lines:", an entailment model) refuses them; the unseen corpora's
# "refusals right" figure measures the same class.
_NON_ANSWER = pytest.mark.xfail(reason="issue 30: a copied line sharing the subject is not refused", strict=False)


@_NON_ANSWER
def test_recombined_words_do_not_answer_an_unanswered_question(qwen_server, depot):
    """Class 4: "what colour" over a segment that says "repainted" but names no colour is refused."""
    collection, _ = depot
    a = ask(qwen_server, collection, "What colour was the workshop repainted?")
    assert "do not contain" in a["text"].lower() and not a["citations"], a


@_NON_ANSWER
def test_a_code_is_not_a_persons_name(qwen_server, depot):
    """Class 4: "the name of the depot manager" is no question the booking code answers."""
    collection, _ = depot
    a = ask(qwen_server, collection, "What is the name of the depot manager?")
    assert "do not contain" in a["text"].lower() and not a["citations"], a


def test_a_prohibition_sign_answers_what_is_not_allowed(qwen_server, depot):
    """Class 3: a 3-second silent "No X" sign answers "what kind of X is not allowed?" and is cited there
    (the model refused it beside the sign; the retry reads the sign that names the thing asked)."""
    collection, windows = depot
    a = ask(qwen_server, collection, "What kind of photography is not allowed?")
    assert "flash" in a["text"].lower(), a
    assert a["citations"] and inside(a["citations"][0], windows[4]), a
