"""The utterance vector cache: misses embedded once, persisted only when asked, shared across restarts."""

import numpy as np

from engine.embedding import SentenceEmbedder, VectorCache


class CountingEmbedder(SentenceEmbedder):
    """The real caching logic over a fake model: vectors derived from the text, calls recorded."""

    def __init__(self, cache):
        super().__init__("unused", cache=cache)
        self.dim = 4
        self.calls: list[list[str]] = []

    def _encode(self, texts, query):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("a"), 1.0, 2.0 if query else 0.5] for t in texts], dtype=np.float32)


def test_misses_are_embedded_once_in_one_batch_and_in_order(tmp_path):
    emb = CountingEmbedder(VectorCache(tmp_path / "v.sqlite3"))
    out = emb.embed_cached(["alpha", "beta", "alpha"])
    assert emb.calls == [["alpha", "beta"]]
    assert out.shape == (3, 4) and out[0].tolist() == out[2].tolist() == [5, 2, 1, 0.5]
    emb.embed_cached(["beta", "gamma"])
    assert emb.calls[-1] == ["gamma"]


def test_persisted_vectors_survive_a_restart_and_questions_do_not(tmp_path):
    path = tmp_path / "v.sqlite3"
    first = CountingEmbedder(VectorCache(path))
    first.embed_cached(["an utterance"])
    first.embed_cached(["a question?"], persist=False)
    first.cache.close()
    second = CountingEmbedder(VectorCache(path))
    vec = second.embed_cached(["an utterance"])
    assert second.calls == [] and vec[0].tolist() == [12, 2, 1, 0.5]  # float16 round trip is exact here
    second.embed_cached(["a question?"])
    assert second.calls == [["a question?"]]


def test_memory_lru_is_bounded():
    cache = VectorCache(None, memory_items=2)
    cache.put({b"a": np.zeros(2), b"b": np.ones(2)}, persist=True)
    cache.get([b"a"])  # touch a: b is now the oldest
    cache.put({b"c": np.ones(2)}, persist=True)
    assert set(cache.get([b"a", b"b", b"c"])) == {b"a", b"c"}


def test_empty_input():
    emb = CountingEmbedder(VectorCache(None))
    assert emb.embed_cached([]).shape == (0, 4) and emb.calls == []


def test_an_asymmetric_model_keeps_question_and_passage_vectors_apart():
    """e5 embeds 'query: x' and 'passage: x' differently: the same text asked and indexed must not share
    a cache entry, and a symmetric model (MiniLM) shares it."""
    emb = CountingEmbedder(VectorCache(None))
    emb.asymmetric = True
    passage = emb.embed_cached(["north exit"])[0]
    asked = emb.embed_cached(["north exit"], persist=False, query=True)[0]
    assert passage[3] == 0.5 and asked[3] == 2.0 and len(emb.calls) == 2
    emb.asymmetric = False
    assert emb.embed_cached(["gate"], query=True)[0][3] == 0.5
    emb.embed_cached(["gate"])
    assert emb.calls[-1] == ["gate"] and len(emb.calls) == 3
