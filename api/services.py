"""Builds the long-lived components once (in the app's lifespan) and hands them to routes.

Heavy models are constructed here but load their weights on first use; weights are located through the
model registry, so a missing model is a clear error naming its package, raised at start-up.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from clipcite.settings import Settings
from engine.admission import ModelAccess
from engine.catalog import Catalog
from engine.chat import ChatService
from engine.generation import LlamaGenerator
from engine.retrieval import CrossEncoderReranker, Retriever
from engine.search import SearchService
from engine.store import SegmentStore, open_store
from ingest.embed import SentenceEmbedder, VectorCache
from ingest.image_embed import ClipEncoder
from ingest.migrate import run_migrations
from ingest.jobs import IngestContext, IngestWorker
from ingest.library import Library, sweep_uploads
from ingest.pipeline import Analyzer
from ingest.scene_text import RapidOcrReader
from ingest.speakers import DiarizationOptions, SpeakerDiarizer
from ingest.speech import WhisperTranscriber
from ingest.visual import VlmSettings, build_describer
from models.devices import DevicePlan, plan_devices, usable_cores
from models.registry import ModelRegistry

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    devices: DevicePlan
    registry: ModelRegistry
    catalog: Catalog
    store: SegmentStore
    embedder: SentenceEmbedder
    generator: LlamaGenerator
    retriever: Retriever
    chat: ChatService
    worker: IngestWorker
    files_dir: Path
    search: SearchService
    # Every model caller (chat, streams, tools, summaries) takes the model through this one lease.
    model: ModelAccess
    library: Library  # deletes that keep catalog, store and ingest jobs consistent

    def current_analysis(self, file_id: str) -> dict | None:
        """The file's cached model outputs under the stage options now in force (None: not processed)."""
        return self.catalog.get_analysis(file_id, self.worker.ctx.analyzer.options_key())

    def close(self) -> None:
        self.model.close()
        self.worker.stop()
        self.generator.close()
        self.store.close()
        self.catalog.close()
        self.embedder.cache.close()


def _embedding_dim(model_dir: Path) -> int:
    """Read the output size from the model's files so the store opens without loading torch."""
    for dense in sorted(model_dir.glob("*_Dense/config.json")):
        return int(json.loads(dense.read_text())["out_features"])
    cfg = model_dir / "config.json"
    return int(json.loads(cfg.read_text()).get("hidden_size", 384)) if cfg.exists() else 384


def build_services(settings: Settings) -> Services:
    data = settings.resolved_data_dir
    data.mkdir(parents=True, exist_ok=True)
    files_dir = data / "files"
    files_dir.mkdir(exist_ok=True)
    devices = plan_devices(settings.device, settings.threads)
    th = devices.stage_threads
    registry = ModelRegistry(settings.resolved_models_dir)

    embed_path = registry.resolve(settings.embed_model, "embedding")
    chat_path = registry.resolve(settings.chat_model, "chat")
    transcriber = None
    if settings.speech_enabled:
        transcriber = WhisperTranscriber(registry.resolve(settings.whisper_model, "whisper"), settings.whisper_model,
                                         device=devices.device, compute_type=devices.whisper_compute_type,
                                         threads=th.speech, language=settings.whisper_language,
                                         batch_size=settings.whisper_batch_size)
    cores = usable_cores()
    overlap = settings.ingest_overlap if settings.ingest_overlap is not None else cores >= 2
    # Measured on 2 vCPUs (one core of throughput): a second OCR worker gained 3 % for +480 MB RSS, so
    # parallel OCR starts above two cores.
    ocr_workers = settings.ocr_workers or (max(1, cores // max(1, th.vision))
                                           if overlap and devices.device == "cpu" and cores > 2 else 1)
    ocr = RapidOcrReader(threads=th.vision, det_side=settings.ocr_det_side, cuda=devices.device == "cuda",
                         concurrency=ocr_workers) if settings.ocr_enabled else None
    vlm = VlmSettings(settings.vlm_model, settings.vlm_mmproj, settings.vlm_handler,
                      devices.llama_gpu_layers(settings.n_gpu_layers)) if settings.vlm_model else None
    describer = build_describer(settings.visual_describer, th.vision, vlm) if settings.visual_enabled else None
    diarizer = None
    if settings.speakers_enabled and transcriber is not None:
        if importlib.util.find_spec("resemblyzer") is None:
            log.warning("speaker labels disabled: pip install resemblyzer 'setuptools<80' to enable them")
        else:
            diarizer = SpeakerDiarizer(DiarizationOptions(threshold=settings.speaker_threshold), th.speech,
                                       devices.device)

    catalog = Catalog(data / "catalog.sqlite3")
    vectors = VectorCache(data / "cache" / f"vectors-{embed_path.name}.sqlite3")
    embedder = SentenceEmbedder(embed_path, device=devices.device, threads=th.embed, cache=vectors)
    clip = ClipEncoder(settings.clip_model, devices.device, th.vision) if settings.clip_model else None
    store = open_store(settings.store, data, _embedding_dim(embed_path), clip.dim if clip else None,
                       url=settings.qdrant_url,
                       api_key=settings.qdrant_api_key, collection=settings.qdrant_collection,
                       shards=settings.qdrant_shards, replication=settings.qdrant_replication)
    run_migrations(catalog, store)
    sweep_uploads(catalog, files_dir)
    generator = LlamaGenerator(chat_path, settings.chat_model, n_ctx=settings.n_ctx, threads=th.chat,
                               n_gpu_layers=devices.llama_gpu_layers(settings.n_gpu_layers))
    reranker = CrossEncoderReranker(settings.reranker_model, devices.device, th.embed) \
        if settings.reranker_model else None
    retriever = Retriever(store, embedder, reranker, clip)
    analyzer = Analyzer(transcriber=transcriber, ocr=ocr, describer=describer, sample_fps=settings.frame_sample_fps,
                        diarizer=diarizer, overlap=overlap, ocr_workers=ocr_workers,
                        image_encoder=clip if store.has_image else None)
    ctx = IngestContext(catalog, store, embedder, analyzer, settings.segment_seconds)
    worker = IngestWorker(ctx, workers=settings.ingest_workers)
    library = Library(catalog, store, ctx.fence)
    library.finish_pending_deletes()
    return Services(settings=settings, devices=devices, registry=registry, catalog=catalog, store=store,
                    embedder=embedder, generator=generator, retriever=retriever,
                    chat=ChatService(retriever, generator, settings.context_chars_per_segment), worker=worker,
                    files_dir=files_dir, search=SearchService(retriever),
                    model=ModelAccess(settings.max_chat_in_flight), library=library)
