from clipcite.domain import ScoredSegment, Segment, SpeechPart
from engine.retrieval import coverage, rerank


def seg(name, speech="", visual=()):
    return ScoredSegment(Segment("c", name, name, 0, 0.0, 1.0, speech=[SpeechPart(speech, 0, 1)] if speech else [],
                                 visual=list(visual), file_info={"filename": f"{name}.mp4"}), 0.0)


def test_rare_query_term_beats_a_common_one():
    hits = [seg("a", "use the extension shown on screen"), seg("b", "", ["objects: horse"]),
            seg("c", "the code is shown here"), seg("d", "numbers shown")]
    assert rerank("When is a horse shown?", hits)[0].segment.file_id == "b"


def test_coverage_matches_stems_by_prefix():
    assert coverage({"goggl"}, {"goggles"}) == 1.0
    assert coverage({"room", "212"}, {"room"}) == 0.5
    assert coverage(set(), {"x"}) == 0.0


def test_rerank_keeps_order_when_nothing_matches():
    hits = [seg("a", "alpha"), seg("b", "bravo")]
    assert [h.segment.file_id for h in rerank("zulu", hits)] == ["a", "b"]


class RecordingStore:
    """Answers every query with Spanish segments and records which vectors each query used."""

    has_image = False

    def __init__(self, language):
        self.language, self.queries = language, []

    def query(self, q, flt):
        from engine.store import Hit
        self.queries.append(q)
        return [Hit(i, 1.0 - 0.1 * i, {"collection_id": "c", "file_id": "f", "segment_id": f"s{i}", "index": i,
                                       "start_time": 0.0, "end_time": 1.0,
                                       "video_info": {"language": self.language}}) for i in range(3)]


class QueryEmbedder:
    dim, name, related_floor, same_meaning_floor = 4, "fake", 0.3, None

    def embed_cached(self, texts, persist=True, query=False):
        import numpy as np
        return np.ones((len(texts), 4), dtype=np.float32) / 2


def test_a_question_in_another_language_than_the_matches_is_answered_by_dense_search_alone():
    from engine.retrieval import RetrievalOptions, Retriever
    store = RecordingStore("es")
    Retriever(store, QueryEmbedder()).retrieve("When is the next sales meeting?", ["c"], opts=RetrievalOptions())
    assert len(store.queries) == 2 and store.queries[0].sparse and not store.queries[1].sparse
    same = RecordingStore("en")
    Retriever(same, QueryEmbedder()).retrieve("When is the next sales meeting?", ["c"], opts=RetrievalOptions())
    assert len(same.queries) == 1  # same language: the hybrid result stands


def test_an_image_sent_with_the_question_replaces_the_text_to_image_vector():
    from engine.retrieval import RetrievalOptions, Retriever

    class TextToImage:
        def embed_texts(self, texts):
            import numpy as np
            return np.full((len(texts), 2), 0.5, dtype=np.float32)

    store = RecordingStore("en")
    store.has_image = True
    retriever = Retriever(store, QueryEmbedder(), image_encoder=TextToImage())
    retriever.retrieve("where is this slide?", ["c"], opts=RetrievalOptions(image=(1.0, 0.0)))
    retriever.retrieve("where is this slide?", ["c"], opts=RetrievalOptions())
    assert [q.image for q in store.queries] == [[1.0, 0.0], [0.5, 0.5]]
    store.has_image = False  # a store without keyframe vectors: no image search at all
    retriever.retrieve("where is this slide?", ["c"], opts=RetrievalOptions(image=(1.0, 0.0)))
    assert store.queries[-1].image is None
