"""CLIP image vectors end to end with a real transformers CLIPModel, randomly initialised (no CLIP weights
ship in any reachable registry): keyframes are embedded during analysis, segments carry an `image`
vector in the store, and questions search it (text-to-image) beside the other indexes."""

import json

import numpy as np
import pytest

from clipcite.settings import Settings
from engine.retrieval import RetrievalOptions
from engine.store import HybridQuery
from tests.media import Scene, make_video

COLOURS = [(0, 0, 220), (0, 200, 0), (220, 0, 0)]  # BGR: red, green, blue scenes, 2 s each


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP byte-level alphabet (so a vocabulary of single characters covers any text)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=False))


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    out = tmp_path_factory.mktemp("clip")
    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(vocab_file=str(out / "vocab.json"), merges_file=str(out / "merges.txt")).save_pretrained(out)
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    cfg = CLIPConfig(text_config=dict(vocab_size=len(vocab), max_position_embeddings=77, **small),
                     vision_config=dict(image_size=64, patch_size=16, **small), projection_dim=24)
    CLIPModel(cfg).save_pretrained(out)
    CLIPImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}).save_pretrained(out)
    return out


def test_keyframes_get_image_vectors_and_questions_search_them(clip_dir, tmp_path):
    from api.services import build_services
    from engine.catalog import CollectionRecord, new_id, now_ms
    from ingest.jobs import run_job
    from ingest.library import add_to_collection, register_file, sha256_of
    from ingest.segment import SegmentationConfig

    video = tmp_path / "colours.mp4"
    windows = make_video(video, [Scene(c, seconds=2) for c in COLOURS], audio=False)
    svc = build_services(Settings(data_dir=tmp_path / "data", clip_model=clip_dir, speech_enabled=False,
                                  ocr_enabled=False, visual_enabled=False, chat_model="smollm2-135m-instruct"))
    try:
        assert svc.store.has_image and any(s.name == "image" for s in svc.worker.ctx.analyzer.stages)
        col = svc.catalog.library.add_collection(CollectionRecord(
            id=new_id(), name="c", description=None, collection_type="media-descriptions",
            default_segmentation_config=None, created_at=now_ms()))
        rec = register_file(svc.catalog, video, video.name, video.stat().st_size, sha256_of(video), {})
        cfg = SegmentationConfig.from_wire({"strategy": "uniform", "uniform_config": {"window_seconds": 2}})
        add_to_collection(svc.catalog, col, rec, cfg)
        job = svc.catalog.jobs.claim(svc.worker.owner)
        assert run_job(svc.worker.ctx, job) == 3
        analysis = svc.current_analysis(rec.id)
        assert analysis and len(analysis.frame_vectors) >= 3

        # The picture of the second scene, embedded on its own, finds the second segment through the
        # image vector alone (identical pixels give the same vector even with random weights).
        import av
        with av.open(str(video)) as c:
            frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        middle = frames[int(np.mean(windows[1]) * 10)]
        probe = svc.retriever.image_encoder.embed_images([middle])[0].tolist()
        hits = svc.store.query(HybridQuery(dense=None, image=probe, limit=3), None)
        assert len(hits) == 3 and hits[0].payload["start_time"] == pytest.approx(windows[1][0], abs=0.01)
        assert hits[0].score > 0.99

        # A question carries a CLIP text vector into the fused search.
        q = svc.retriever.build_query("a green screen", RetrievalOptions())
        assert q.image is not None and len(q.image) == 24
        assert len(svc.retriever.retrieve("a green screen", [col.id])) == 3
    finally:
        svc.close()


def test_a_store_created_without_image_vectors_keeps_working(clip_dir, tmp_path, caplog):
    from engine.store import EdgeStore

    EdgeStore(tmp_path / "store", 384).close()
    reopened = EdgeStore(tmp_path / "store", 384, image_dim=24)
    try:
        assert reopened.has_image is False
        assert "image search is off" in caplog.text
    finally:
        reopened.close()
