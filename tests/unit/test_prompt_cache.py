"""PromptCache bookkeeping with fake states (llama.cpp's side: tests/integration/test_prompt_states.py)."""

from engine.prompt_cache import PromptCache


def writer(tag: bytes):
    def write(state):
        state.write(tag)
        return len(tag)
    return write


def test_the_longest_shared_prefix_wins_when_it_beats_the_live_one():
    cache = PromptCache(1 << 20, min_gain=4)
    cache.put([1, 2, 3, 4, 5, 6, 7, 8], 8, writer(b"aaaa"))
    cache.put([1, 2, 9, 9, 9, 9, 9, 9, 9, 9], 8, writer(b"bbbb"))
    saved, shared = cache.best([1, 2, 3, 4, 5, 6, 7, 8, 50, 51], live=2)
    assert saved.tokens == (1, 2, 3, 4, 5, 6, 7, 8) and shared == 8
    assert cache.best([1, 2, 3, 4, 5, 6, 7, 8, 50], live=6) is None  # the live prefix is nearly as good
    assert cache.longest([1, 2, 9, 9, 7]) == 4 and cache.longest([4]) == 0
    counted = cache.tokens_saved
    cache.discard(saved.tokens, counted)  # llama.cpp could not restore it: not offered again, not counted
    assert cache.best([1, 2, 3, 4, 5, 6, 7, 8, 50, 51], live=2) is None and cache.hits == 0
    assert cache.tokens_saved == 0
    assert cache.best([7, 7, 7], live=0) is None


def test_a_prompt_differing_only_at_its_end_replaces_the_earlier_state():
    cache = PromptCache(1 << 20, min_gain=4)
    context = list(range(100, 140))
    cache.put(context + [1, 2], 8, writer(b"q1"))
    cache.put(context + [3, 4, 5], 8, writer(b"q2"))  # the same context, another question
    cache.put(list(range(500, 540)), 8, writer(b"other"))
    assert len(cache) == 2
    saved, shared = cache.best(context + [1, 2], live=0)
    assert saved.tokens == tuple(context + [3, 4, 5]) and shared == len(context)


def test_states_stay_within_the_budget_least_recently_used_out_first():
    cache = PromptCache(3 * 100, min_gain=4)
    prompts = [[k] * 20 for k in range(1, 5)]
    for p in prompts[:3]:
        cache.put(p, 100, writer(b"x" * 100))
    cache.best(prompts[0], live=0)  # used: now the most recent
    cache.put(prompts[3], 100, writer(b"x" * 100))
    assert cache.nbytes <= 300 and len(cache) == 3
    assert cache.best(prompts[1], live=0) is None  # the least recently used went
    assert cache.best(prompts[0], live=0) is not None


def test_nothing_is_kept_without_a_budget_or_when_the_copy_fails():
    assert not PromptCache(0).put([1] * 30, 10, writer(b"x"))
    cache = PromptCache(1 << 20)
    assert not cache.put([1] * 30, 10, lambda state: 0)
    assert not cache.put([2] * 30, 10, lambda state: 1 / 0)
    assert len(cache) == 0 and cache.nbytes == 0
