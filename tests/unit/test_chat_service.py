"""ChatService with fakes for the model and retrieval (a real catalog in a temp dir): the plan it makes,
grounding, citations, streaming, and prompt fitting. Real models are covered by the integration tests."""

from __future__ import annotations

import pytest

from clipcite.errors import ContextLengthExceeded, InvalidRequest, NotFound
from engine.catalog import Catalog, CollectionFileRecord, CollectionRecord, FileRecord, IndexStatus, MediaStatus
from engine.chat import ChatAnswer, ChatRequest, ChatService, LinkedVideo
from engine.conversation import Turn
from engine.generation import GenerationParams
from engine.tools import ToolSpec, ToolUse
from tests.fakes import FakeGenerator, FakeRetriever

REFUSAL = "The videos do not contain this information."


@pytest.fixture()
def catalog(tmp_path):
    cat = Catalog(tmp_path / "catalog.sqlite3")
    for cid in ("c1", "c2"):
        cat.library.add_collection(CollectionRecord(cid, cid, None, "media-descriptions", None, 0))
    cat.library.add_file(FileRecord("f1", "briefing.mp4", "/x/briefing.mp4", 1, "sha", 0, {}, None,
                                    MediaStatus.USABLE))
    cat.library.upsert_collection_file(CollectionFileRecord("c1", "f1", 0, IndexStatus.COMPLETED, "seg", {}))
    yield cat
    cat.close()


def service(catalog, reply: str, n_ctx: int = 4096) -> tuple[ChatService, FakeRetriever, FakeGenerator]:
    retriever, generator = FakeRetriever(), FakeGenerator(reply, n_ctx)
    return ChatService(retriever, generator, catalog), retriever, generator  # type: ignore[arg-type]


def ask(question: str, **kw) -> ChatRequest:
    return ChatRequest(turns=[Turn("user", question)], **kw)


def line_of(gen: FakeGenerator, text: str) -> int:
    """The number the prompt gave the line holding `text`."""
    prompt = gen.seen[0][-1]["content"]
    return next(int(ln[1:ln.index("]")]) for ln in prompt.splitlines() if ln.startswith("[") and text in ln)


def test_the_answer_cites_the_lines_it_names_and_their_seconds(catalog):
    chat, retriever, gen = service(catalog, "Lines: 1\nAnswer: The badge code is 4471.")
    ans = chat.answer(ask("What is the badge code?", collections=["c1"]))
    assert line_of(gen, "Badge code 4471") == 1  # on screen for the whole segment: before what is said in it
    assert ans.text == "The badge code is 4471." and ans.grounded and ans.grounding["lines"] == [1]
    assert [c.segment.segment_id for c in ans.citations] == ["s0"]
    assert (ans.citations[0].start_time, ans.citations[0].end_time) == (0.0, 20.0)  # the screen line's time
    assert ans.citations[0].sources == ["scene_text"]
    assert retriever.calls == [("What is the badge code?", ["c1"], None)]
    prompt = gen.seen[0][-1]["content"]
    assert prompt.endswith("Question: What is the badge code?") and "said: Forklift drivers" in prompt
    assert len(gen.seen) == 1  # one model call


def test_lines_none_is_the_refusal_in_one_call(catalog):
    chat, _, gen = service(catalog, "Lines: none")
    ans = chat.answer(ask("Who founded the company?", collections=["c1"]))
    assert ans.text == REFUSAL and ans.citations == [] and ans.grounded and len(gen.seen) == 1


def test_a_figure_no_cited_line_holds_is_the_refusal_and_says_why(catalog):
    chat, _, _ = service(catalog, "Lines: 1\nAnswer: The badge code is 4472.")
    ans = chat.answer(ask("What is the badge code?", collections=["c1"]))
    assert ans.text == REFUSAL and ans.citations == [] and not ans.grounded
    assert ans.grounding["failed"] == "figure 4472 is in no cited line"


def test_a_later_unsupported_sentence_is_cut_and_the_supported_one_kept(catalog):
    chat, _, _ = service(catalog, "Lines: 1\nAnswer: The badge code is 4471. It changes every 90 days.")
    ans = chat.answer(ask("What is the badge code?", collections=["c1"]))
    assert ans.text == "The badge code is 4471." and not ans.grounded and ans.grounding["dropped_sentences"] == 1
    assert ans.citations


def test_without_strict_grounding_the_text_stays_flagged(catalog):
    chat, _, _ = service(catalog, "Lines: 1\nAnswer: The badge code is 4472.")
    ans = chat.answer(ask("What is the badge code?", collections=["c1"], strict_grounding=False))
    assert ans.text == "The badge code is 4472." and not ans.grounded


def test_streamed_and_whole_replies_are_the_same_answer(catalog):
    reply = "Lines: 3\nAnswer: Leave through exit B12. Exit B13 is closed."
    chat, _, _ = service(catalog, reply)
    whole = chat.answer(ask("Where is the emergency exit?", collections=["c1"]))
    chat, _, _ = service(catalog, reply)
    items = list(chat.stream(ask("Where is the emergency exit?", collections=["c1"])))
    deltas, final = items[:-1], items[-1]
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == final.text == whole.text == "Leave through exit B12."
    assert isinstance(final, ChatAnswer) and final.grounded == whole.grounded is False
    assert [c.segment.segment_id for c in final.citations] == [c.segment.segment_id for c in whole.citations]
    assert final.grounding == whole.grounding


def test_plan_scope_validation_and_whole_library(catalog):
    chat, retriever, _ = service(catalog, "x")
    with pytest.raises(NotFound):
        chat.plan(ask("q?", collections=["nope"]))
    with pytest.raises(NotFound):
        chat.plan(ask("q?", video_id="nope"))
    with pytest.raises(InvalidRequest):
        chat.plan(ChatRequest(turns=[Turn("system", "be brief"), Turn("user", "   ")]))
    plan = chat.plan(ask("What is the badge code?"))
    assert plan.collections is None and plan.file_ids is None and not plan.summary  # two collections: no summary


def test_summary_is_decided_once_for_a_one_file_scope(catalog):
    chat, _, _ = service(catalog, "x")
    plan = chat.plan(ask("Summarize the video", collections=["c1"]))
    assert plan.summary and plan.file_ids == ["f1"]
    assert not chat.plan(ask("Summarize the video", collections=["c2"])).summary  # no indexed file
    tools = ToolUse((ToolSpec("lookup", "find things", {}),), "auto")
    assert not chat.plan(ask("Summarize the video", collections=["c1"], tools=tools)).summary
    structured = GenerationParams(response_format={"type": "json_object"})
    plan = chat.plan(ask("Summarize the video", collections=["c1"], params=structured))
    assert not plan.summary and not plan.strict_grounding  # structured output is never swapped for the refusal


def test_a_linked_video_becomes_the_scope_and_its_instruction_the_question(catalog):
    chat, _, _ = service(catalog, "x")
    req = ChatRequest(turns=[Turn("user", "/videos/briefing.mp4")], linked=LinkedVideo("c1", "f1", ""))
    plan = chat.plan(req)
    assert plan.collections == ["c1"] and plan.file_ids == ["f1"] and plan.summary
    assert plan.turns[-1].content == "Summarize the video."
    assert req.turns[-1].content == "/videos/briefing.mp4"  # the request itself is not mutated
    plan = chat.plan(ChatRequest(turns=[Turn("user", "x")], linked=LinkedVideo("c1", "f1", "Who is speaking?")))
    assert plan.turns[-1].content == "Who is speaking?" and not plan.summary


def test_summary_answers_from_every_segment_of_the_file(catalog):
    chat, retriever, gen = service(catalog, "Drivers check tyres; the exit is north.")
    ans = chat.answer(ask("Summarize the video", collections=["c1"]))
    assert retriever.calls == []  # map-reduce over the file, not top-k retrieval
    assert ans.citations and {c.segment.segment_id for c in ans.citations} <= {"s0", "s1"}


def test_long_conversations_are_fitted_and_an_oversized_turn_is_refused(catalog):
    chat, _, gen = service(catalog, "Lines: 1\nAnswer: The badge code is 4471.", n_ctx=400)
    history = [Turn(r, f"turn {i} " * 10) for i in range(60) for r in ("user", "assistant")]
    ans = chat.answer(ChatRequest(turns=[*history, Turn("user", "What is the badge code?")], collections=["c1"],
                                  params=GenerationParams(max_tokens=50)))
    assert ans.text == "The badge code is 4471."
    sent = gen.seen[0]
    assert 2 < len(sent) < len(history) + 2 and sent[-1]["content"].endswith("What is the badge code?")
    assert sum(gen.count_tokens(m["content"]) for m in sent) < 400 - 50 - 24
    with pytest.raises(ContextLengthExceeded):
        chat.prepare(ask("word " * 1000, collections=["c1"]))


def test_summaries_that_hit_their_budget_end_at_a_whole_sentence():
    from engine.summary import whole_sentences

    cut = "The seed library lends packets. Olavas checks repacketed seeds. A silv"
    assert whole_sentences(cut, "length") == "The seed library lends packets. Olavas checks repacketed seeds."
    assert whole_sentences(cut, "stop") == cut  # the model ended there itself
    assert whole_sentences("Room 212 needs goggles (Dr. Okafor).", "length").endswith("(Dr. Okafor).")
    assert whole_sentences("no sentence end at all", "length") == "no sentence end at all"


def test_weak_matches_are_left_out_of_the_prompt():
    """A clear best match is not drowned by weak ones (the model refused it among five others)."""
    from clipcite.domain import ScoredSegment
    from engine.chat import relevant
    from tests.fakes import SEGMENTS

    scored = [ScoredSegment(SEGMENTS[0], 0.83), ScoredSegment(SEGMENTS[1], 0.21)]
    assert [s.score for s in relevant(scored, 0.4)] == [0.83]
    assert [s.score for s in relevant([scored[0], ScoredSegment(SEGMENTS[1], 0.5)], 0.4)] == [0.83, 0.5]
    assert relevant(scored, 0.0) == scored and relevant([], 0.4) == []


def test_a_picture_line_carries_its_time_and_its_citation_is_those_seconds(catalog):
    """"When is a horse shown?" is answered from the keyframe sentence that names it, whose line says when."""
    from clipcite.domain import ScoredSegment, ScreenLine, Segment
    from tests.fakes import SEGMENTS
    sentence = "A picture of a horse in the centre."
    horse = Segment("c1", "f1", "s9", 9, 40.0, 60.0, visual=[sentence], visual_spans=[ScreenLine(sentence, 46.0, 51.0)])
    chat, retriever, gen = service(catalog, "Lines: 3\nAnswer: A horse is shown at 00:46-00:51.")
    retriever.retrieve = lambda *a, **k: [ScoredSegment(SEGMENTS[1], 1.0), ScoredSegment(horse, 0.9)]
    ans = chat.answer(ask("When is a horse shown?", collections=["c1"]))
    assert "[3] 00:46-00:51 picture: A picture of a horse in the centre." in gen.seen[0][-1]["content"]
    assert ans.grounded and ans.text == "A horse is shown at 00:46-00:51."
    assert [(c.segment.segment_id, c.start_time, c.end_time) for c in ans.citations] == [("s9", 46.0, 51.0)]


def test_summary_follows_a_brief_instruction(catalog):
    """Class 7: "in one sentence" gets one sentence, not an overview plus chapters (they stay cited)."""
    chat, _, gen = service(catalog, "Drivers check tyre pressure every Monday.")
    ans = chat.answer(ask("Summarize this video in one sentence.", collections=["c1"]))
    assert ans.text == "Drivers check tyre pressure every Monday." and "Chapters" not in ans.text
    assert ans.citations
    chat, _, gen = service(catalog, "Drivers check tyre pressure every Monday.")
    assert "Chapters:" in chat.answer(ask("Summarize this video.", collections=["c1"])).text
    from engine.summary import is_bare_request, wants_brief
    assert is_bare_request("Please summarize this video.") and not is_bare_request("Summarize it for new drivers")
    assert wants_brief("TL;DR please") and wants_brief("give me a two-line recap") and not wants_brief("Summarize")


def test_summary_chapter_lines_are_checked_against_their_segments(catalog):
    """Class 7: a chapter line that states what its segments do not is replaced by their own words."""
    chat, _, _ = service(catalog, "Quarterly revenue tripled thanks to marketing campaigns worldwide.")
    ans = chat.answer(ask("Summarize the video", collections=["c1"]))
    chapters = [line for line in ans.text.splitlines() if line.startswith("- [")]
    assert chapters and "revenue" not in ans.text.lower()
    assert "Forklift drivers check the tyre pressure every Monday." in chapters[0]


def test_an_hour_long_summary_covers_the_whole_hour_in_bounded_calls_of_bounded_size():
    """180 twenty-second segments: at most max_chapters + 1 model calls, every prompt about the size of a
    short video's, and chapters spread from the first minute to the last."""
    from engine.summary import CHUNK_PROMPT_CHARS, summarize
    from tests.fakes import segment

    segments = [segment(i, f"In minute {i // 3} the crew loads pallet {i} onto the second truck and signs the "
                        "delivery note for the depot. " * 4) for i in range(180)]
    gen = FakeGenerator("The crew loads pallets onto the second truck.", 4096)
    out = summarize(segments, gen, max_chapters=12, check=lambda *_: True)
    assert len(gen.seen) <= 13 and 6 <= len(out.chapters) <= 12
    assert max(len(m[-1]["content"]) for m in gen.seen[:-1]) <= CHUNK_PROMPT_CHARS + 40 * 15
    assert out.chapters[0].start_time == 0.0 and out.chapters[-1].end_time == 3600.0
    gaps = [b.start_time - a.end_time for a, b in zip(out.chapters, out.chapters[1:], strict=False)]
    assert gaps and max(gaps) == 0.0  # consecutive: no stretch of the hour left out


def test_an_answer_that_copies_another_line_than_it_names_cites_the_line_that_states_it(catalog):
    """The model named line 4 (another segment's speech) but its answer states the code of line 1 (the
    screen): the line that states every figure of the answer is its evidence."""
    chat, _, _ = service(catalog, "Lines: 4\nAnswer: The badge code is 4471.")
    ans = chat.answer(ask("What is the badge code?", collections=["c1"]))
    assert ans.grounded and ans.text == "The badge code is 4471."
    assert [c.segment.segment_id for c in ans.citations] == ["s0"] and ans.citations[0].sources == ["scene_text"]
    chat, _, _ = service(catalog, "Lines: 4\nAnswer: The badge code is 9999.")  # stated by no line at all
    assert not chat.answer(ask("What is the badge code?", collections=["c1"])).grounded
