"""The cross-encoder rerank path with a real sentence-transformers CrossEncoder, randomly initialised
(no cross-encoder weights ship in any reachable registry; users point CLIPCITE_RERANKER_MODEL at theirs)."""

import pytest

from clipcite.domain import Segment, SpeechPart
from clipcite.errors import ModelUnavailable
from clipcite.settings import Settings
from engine.retrieval import CrossEncoderReranker, LexicalReranker, RetrievalOptions, Retriever
from ingest.indexing import index_segments

TEXTS = ["the forklift tyres were checked on monday", "the badge code for the lab door is 4471",
         "lunch is served in the canteen", "the harbour crane lifts containers"]


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from models.registry import ModelRegistry

    minilm = ModelRegistry(tmp_path_factory.mktemp("models")).resolve("all-minilm-l6-v2", "embedding")
    tok = AutoTokenizer.from_pretrained(str(minilm), local_files_only=True)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, num_labels=1)
    out = tmp_path_factory.mktemp("cross-encoder")
    BertForSequenceClassification(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_services_use_the_configured_cross_encoder(cross_encoder_dir, tmp_path):
    from api.services import build_services

    svc = build_services(Settings(data_dir=tmp_path, reranker_model=cross_encoder_dir, speech_enabled=False,
                                  ocr_enabled=False, visual_enabled=False, chat_model="smollm2-135m-instruct"))
    try:
        assert isinstance(svc.retriever.reranker, CrossEncoderReranker)
        segs = [Segment(collection_id="c", file_id="f", segment_id=f"s{i}", index=i, start_time=i * 10.0,
                        end_time=i * 10.0 + 10, speech=[SpeechPart(t, i * 10.0, i * 10.0 + 5)])
                for i, t in enumerate(TEXTS)]
        index_segments(svc.store, svc.embedder, segs, "c", "f", "site.mp4")
        hits = svc.retriever.retrieve("what is the badge code 4471", ["c"], opts=RetrievalOptions(limit=3))
        assert len(hits) == 3
        # A random model scores near 0.5 for every pair; the lexical share still puts the exact code first.
        assert hits[0].segment.segment_id == "s1"
        lexical = Retriever(svc.store, svc.embedder, LexicalReranker()).retrieve(
            "what is the badge code 4471", ["c"], opts=RetrievalOptions(limit=3))
        assert [h.score for h in hits] != [h.score for h in lexical]  # the model's scores, not the lexical ones
    finally:
        svc.close()


def test_missing_cross_encoder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="cross-encoder"):
        CrossEncoderReranker(tmp_path / "nope")


def test_model_alone_scores_every_pair(cross_encoder_dir):
    from engine.retrieval import ScoredSegment

    ce = CrossEncoderReranker(cross_encoder_dir, lexical_weight=0.0)
    hits = [ScoredSegment(Segment(collection_id="c", file_id="f", segment_id=f"s{i}", index=i, start_time=0,
                                  end_time=1, speech=[SpeechPart(t, 0, 1)]), 0.0) for i, t in enumerate(TEXTS)]
    out = ce.rerank("badge code", hits)
    assert sorted(h.segment.segment_id for h in out) == ["s0", "s1", "s2", "s3"]
    assert all(0.0 <= h.score <= 1.0 for h in out) and len({h.score for h in out}) > 1
