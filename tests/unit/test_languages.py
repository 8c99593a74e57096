"""Answer language: identified from the question, named in the prompt, used for the refusal; a translated
answer is checked by meaning (cross-lingual embedder) instead of shared words."""

from engine import languages
from engine.chat import ChatRequest, ChatService
from engine.conversation import Turn
from tests.fakes import FakeGenerator, FakeRetriever
from tests.unit.test_chat_service import catalog  # noqa: F401 - the fixture

QUESTIONS = {
    "¿Cuál es el objetivo de ventas de este trimestre?": "es",
    "Wann öffnet die Bibliothek am Samstag?": "de",
    "Combien de membres compte le club cette année?": "fr",
    "新办公室在哪里？": "zh",
    "新しいオフィスはどこですか？": "ja",
    "What time does the canteen open?": "en",
}


def test_the_question_language_is_identified():
    for question, lang in QUESTIONS.items():
        assert languages.answer_language(question) == lang, question


def test_short_or_unclear_questions_count_as_english():
    assert languages.detect("KESTREL-41?") is None
    assert languages.answer_language("Who is Lucía?") == "en"


def test_every_refusal_is_recognised_as_one():
    from engine.citations import is_refusal
    assert all(is_refusal(text) for text in languages.REFUSALS.values())
    assert not is_refusal("Die Bibliothek öffnet um neun Uhr.")


def _ask(catalog, reply, question):  # noqa: F811
    retriever, generator = FakeRetriever(), FakeGenerator(reply)
    chat = ChatService(retriever, generator, catalog)  # type: ignore[arg-type]
    return chat.answer(ChatRequest(turns=[Turn("user", question)], collections=["c1"])), generator


def test_a_spanish_question_is_answered_in_spanish_and_refused_in_spanish(catalog):  # noqa: F811
    ans, gen = _ask(catalog, "Lines: none", "¿Cuál es el código de la credencial?")
    assert gen.seen[0][-1]["content"].endswith("Write the answer in Spanish.")
    assert ans.text == languages.REFUSALS["es"] and ans.citations == [] and ans.grounded


def test_a_translated_answer_keeps_its_figures_and_is_cited(catalog):  # noqa: F811
    ans, _ = _ask(catalog, "Lines: 1\nAnswer: El código de la credencial es 4471.",
                  "¿Cuál es el código de la credencial?")
    assert ans.text == "El código de la credencial es 4471." and ans.grounded and ans.citations


def test_a_translated_answer_with_a_made_up_figure_is_refused_however_close_its_meaning(catalog):  # noqa: F811
    ans, _ = _ask(catalog, "Lines: 1\nAnswer: El código de la credencial es 5520.",
                  "¿Cuál es el código de la credencial?")  # the fake embedder finds every sentence the same
    assert ans.text == languages.REFUSALS["es"] and not ans.grounded
    assert ans.grounding["failed"] == "figure 5520 is in no cited line"


def test_english_questions_get_no_language_line(catalog):  # noqa: F811
    _, gen = _ask(catalog, "Lines: 1\nAnswer: The badge code is 4471.", "What is the badge code?")
    assert gen.seen[0][-1]["content"].endswith("Question: What is the badge code?")


def test_summary_requests_are_recognised_in_other_languages():
    from engine.summary import wants_summary
    for text in ("请总结这个视频", "Resume este vídeo, por favor", "Fasse das Video zusammen",
                 "Fais un résumé de la vidéo", "この動画を要約して"):
        assert wants_summary(text), text
    assert not wants_summary("¿Cuántas licencias vendió el equipo?")
