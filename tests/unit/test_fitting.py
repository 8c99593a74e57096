"""Prompt fitting: oldest turns go first, then the lowest-ranked segments; a 400 only when the latest turn
alone cannot fit. Tokens are counted as words here (the real counter is llama.cpp's tokenizer)."""

import pytest

from clipcite.errors import ContextLengthExceeded
from engine.fitting import PER_MESSAGE_TOKENS, REPLY_PRIMER_TOKENS, fit_prompt


def words(text: str) -> int:
    return len(text.split())


def final(k: int) -> str:
    return " ".join(f"segment{i} " * 20 for i in range(k)) + " Question: what?"


def history(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        out += [{"role": "user", "content": f"question {i} " * 5}, {"role": "assistant", "content": f"answer {i} " * 5}]
    return out


def test_everything_fits_untouched():
    f = fit_prompt("system prompt", history(2), final, 3, [], words, n_ctx=1000, max_tokens=100)
    assert f.kept_segments == 3 and f.dropped_turns == 0
    assert [m["role"] for m in f.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert f.messages[-1]["content"] == final(3)


def test_oldest_turns_are_dropped_first_and_segments_kept():
    f = fit_prompt("system", history(50), final, 4, [], words, n_ctx=400, max_tokens=50)
    assert f.kept_segments == 4 and 0 < f.dropped_turns < 100
    kept = f.messages[1:-1]
    assert kept[0]["role"] == "user" and kept[-1]["content"].startswith("answer 49")  # newest kept, oldest gone
    assert f.prompt_tokens <= 400 - 50 - REPLY_PRIMER_TOKENS


def test_segments_dropped_from_the_lowest_rank_when_they_alone_overflow():
    f = fit_prompt("system", history(3), final, 10, [], words, n_ctx=150, max_tokens=20)
    assert 0 < f.kept_segments < 10 and f.dropped_turns == 6
    assert f.messages[-1]["content"] == final(f.kept_segments)


def test_tool_results_after_the_turn_are_always_kept():
    after = [{"role": "assistant", "content": "calling"}, {"role": "user", "content": "result " * 30}]
    f = fit_prompt("system", history(5), final, 2, after, words, n_ctx=200, max_tokens=20)
    assert f.messages[-2:] == after


def test_latest_turn_that_cannot_fit_is_context_length_exceeded():
    with pytest.raises(ContextLengthExceeded) as err:
        fit_prompt("system", [], lambda k: "word " * 5000, 0, [], words, n_ctx=2048, max_tokens=100)
    e = err.value
    assert e.status_code == 400 and e.code == "context_length_exceeded" and "2048" in e.message
    assert "max_tokens=100" in e.message


def test_max_tokens_larger_than_the_context_is_refused():
    with pytest.raises(ContextLengthExceeded):
        fit_prompt("system", [], final, 0, [], words, n_ctx=512, max_tokens=600)


def test_template_overhead_is_counted_per_message():
    # 2 messages of 1 word each: 2 + 2 * PER_MESSAGE_TOKENS
    f = fit_prompt("s", [], lambda k: "q", 0, [], words, n_ctx=100, max_tokens=10)
    assert f.prompt_tokens == 2 + 2 * PER_MESSAGE_TOKENS
