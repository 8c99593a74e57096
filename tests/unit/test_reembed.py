"""Changing the embedding model (or the tokenizer) re-embeds the stored segments once at start-up;
payloads stay, and a second start does nothing."""

import numpy as np

from clipcite.domain import Segment, SpeechPart
from engine import lexical
from engine.catalog import Catalog
from engine.payload import segment_payload
from engine.store import EdgeStore, HybridQuery, StorePoint
from ingest.migrate import LEGACY_VECTORS, VECTORS, refresh_text_vectors, vectors_state

DIM = 4


class TaggedEmbedder:
    """A deterministic fake model: every vector points along the axis named by `axis`."""

    related_floor = 0.3

    def __init__(self, name, axis):
        self.name, self.axis, self.dim, self.calls = name, axis, DIM, 0

    def embed(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        out[:, self.axis] = 1.0
        return out

    def embed_cached(self, texts, persist=True, query=False):
        return self.embed(texts)


def _segment(i, file_id):
    return Segment(collection_id="c1", file_id=file_id, segment_id=f"{file_id}-s{i}", index=i, start_time=10.0 * i,
                   end_time=10.0 * i + 10, speech=[SpeechPart(f"Reunión con Lucía número {i}", 10.0 * i, 10.0 * i + 3)],
                   file_info={"filename": f"{file_id}.mp4", "id": file_id})


def _populate(store):
    points = []
    for n, file_id in enumerate(("fa", "fb")):
        for i in range(3):
            seg = _segment(i, file_id)
            points.append(StorePoint(id=10 * n + i + 1, dense=[1.0, 0, 0, 0], payload=segment_payload(seg),
                                     sparse={"speech_lex": lexical.doc_vector("unrelated words only")}))
    store.upsert(points)


def test_a_new_model_re_embeds_every_segment_once_and_keeps_payloads(tmp_path):
    catalog, store = Catalog(tmp_path / "c.sqlite3"), EdgeStore(tmp_path / "store", DIM)
    _populate(store)
    before = {h.id: h.payload for h in store.scroll(None)}
    e5 = TaggedEmbedder("multilingual-e5-small", axis=2)

    assert refresh_text_vectors(catalog, store, e5) == 6
    assert {h.id: h.payload for h in store.scroll(None)} == before
    hits = store.query(HybridQuery(dense=[0, 0, 1.0, 0], limit=6), None)
    assert len(hits) == 6 and min(h.score for h in hits) > 0.99  # every point now on e5's axis
    lex = store.query(HybridQuery(dense=None, sparse={"speech_lex": lexical.query_vector("lucia reunion")}), None)
    assert len(lex) == 6  # lexical vectors rebuilt from the payload text (accent-folded)

    calls = e5.calls
    assert refresh_text_vectors(catalog, store, e5) == 0 and e5.calls == calls
    assert catalog.stored.migrations_like(VECTORS) == [vectors_state(e5)]

    minilm = TaggedEmbedder("all-minilm-l6-v2", axis=1)  # switching back re-embeds again
    assert refresh_text_vectors(catalog, store, minilm) == 6
    assert refresh_text_vectors(catalog, store, e5) == 6
    store.close()
    catalog.close()


def test_an_empty_store_only_records_the_model_and_legacy_data_is_assumed_minilm(tmp_path):
    catalog, store = Catalog(tmp_path / "c.sqlite3"), EdgeStore(tmp_path / "store", DIM)
    emb = TaggedEmbedder("multilingual-e5-small", axis=2)
    assert refresh_text_vectors(catalog, store, emb) == 0 and emb.calls == 0
    assert catalog.stored.migrations_like(VECTORS) == [vectors_state(emb)]
    assert LEGACY_VECTORS.startswith(VECTORS + "all-minilm-l6-v2|")
    store.close()
    catalog.close()
