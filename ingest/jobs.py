"""Ingest jobs: persisted in the catalog, run by worker threads inside the server process.

A job indexes one file into one collection. Any failure - bad media, a model error - ends that job as
`failed` with its reason and the worker moves on; nothing a file contains can stop the worker. Jobs
left `running` by a crash are re-queued at start-up; the pipeline is idempotent (deterministic point ids,
stale points removed), so a re-run leaves no duplicates.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import ClipciteError, MediaError
from engine.catalog import Catalog, IndexStatus, JobRecord, JobState, MediaStatus
from engine.embedding import Embedder
from engine.store import SegmentStore
from engine.tags import sync_payloads
from ingest.analysis import FileAnalysis
from ingest.indexing import build_segments, index_segments, plan, segment_image_vectors
from ingest.pipeline import Analyzer, Progress
from ingest.segment import SegmentationConfig

log = logging.getLogger(__name__)


@dataclass
class IngestContext:
    catalog: Catalog
    store: SegmentStore
    embedder: Embedder
    analyzer: Analyzer
    default_window: float = 20.0
    # Held while a job writes its points and while a delete cancels jobs and drops points: a delete either
    # sees the job's points (and drops them) or the job sees its cancellation (and writes none).
    fence: threading.RLock = field(default_factory=threading.RLock)


def analysis_for(ctx: IngestContext, file_id: str, path: Path, info: VideoInfo,
                 progress: Progress | None = None) -> FileAnalysis:
    """Cached per (file, stage options): adding a file to a second collection re-runs no model."""
    key = ctx.analyzer.options_key()
    cached = ctx.catalog.stored.get_analysis(file_id, key)
    if cached is not None:
        return FileAnalysis.from_json(cached)
    t0 = time.perf_counter()
    analysis = ctx.analyzer.analyze(path, info, progress)
    analysis.timings["total"] = time.perf_counter() - t0
    ctx.catalog.stored.put_analysis(file_id, key, analysis.to_json())
    return analysis


def run_job(ctx: IngestContext, job: JobRecord, progress: Progress | None = None) -> int:
    """Index one file into one collection; returns the number of segments."""
    report = progress or (lambda stage, frac: None)
    cat = ctx.catalog
    frec = cat.library.get_file(job.file_id)
    cf = cat.library.get_collection_file(job.collection_id, job.file_id)
    info = frec.video_info
    if frec.status == MediaStatus.UNUSABLE or info is None:
        raise MediaError(frec.error or "file is not usable media")
    cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.PROCESSING)
    # Model analysis is ~95 % of a job; segmenting, embedding and the upsert the rest.
    analysis = analysis_for(ctx, frec.id, Path(frec.path), info, lambda st, f: report(st, 0.95 * f))
    report("indexing", 0.95)
    if analysis.language and info.language != analysis.language:
        cat.library.set_video_info(frec.id, replace(info, language=analysis.language))
    cfg = SegmentationConfig.from_wire(cf.segmentation_config, ctx.default_window)
    ranges = plan(cfg, analysis, Path(frec.path), ctx.embedder)
    file_info = {"id": frec.id, "filename": frec.filename, "bytes": frec.bytes, "uri": frec.uri,
                 "created_at": frec.created_at}
    metadata = {**frec.metadata, **(cf.metadata or {})}
    segments = build_segments(analysis, ranges, job.collection_id, frec.id, file_info, metadata)
    if cat.jobs.state(job.id) == JobState.CANCELLED:
        return 0
    images = segment_image_vectors(analysis, segments) if ctx.store.has_image else None
    count = index_segments(ctx.store, ctx.embedder, segments, job.collection_id, frec.id, frec.filename, images,
                           fence=ctx.fence, wanted=lambda: cat.jobs.state(job.id) == JobState.RUNNING)
    if cat.tags.list(file_id=frec.id, limit=1)[1]:
        sync_payloads(cat, ctx.store, frec.id)  # the new segments carry the file's tags too
    return count


class IngestWorker:
    """`n` daemon threads polling the job table; `wake()` makes them look at once."""

    def __init__(self, ctx: IngestContext, workers: int = 1, poll_seconds: float = 0.5) -> None:
        self.ctx = ctx
        self.workers = workers
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        # (collection_id, file_id) -> (stage, fraction) of running jobs; in memory, for live status only.
        self._progress: dict[tuple[str, str], tuple[str, float]] = {}

    def progress_of(self, collection_id: str, file_id: str) -> dict[str, Any] | None:
        """Where a running job is: {"stage", "fraction"}; None when the file is not being processed now."""
        p = self._progress.get((collection_id, file_id))
        return {"stage": p[0], "fraction": round(p[1], 3)} if p else None

    def start(self) -> None:
        requeued = self.ctx.catalog.jobs.requeue_interrupted()
        if requeued:
            log.warning("re-queued %d ingest job(s) interrupted by a previous shutdown", requeued)
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"ingest-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.ctx.catalog.jobs.claim()
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self.process(job)

    def process(self, job: JobRecord) -> None:
        cat = self.ctx.catalog
        t0 = time.perf_counter()
        key = (job.collection_id, job.file_id)
        self._progress[key] = ("queued", 0.0)
        try:
            n = run_job(self.ctx, job, lambda stage, frac: self._progress.__setitem__(key, (stage, frac)))
        except Exception as exc:  # noqa: BLE001 - every failure ends the job, never the worker
            reason = exc.message if isinstance(exc, ClipciteError) else f"{type(exc).__name__}: {exc}"
            if cat.jobs.state(job.id) == JobState.CANCELLED:  # its file or collection went away meanwhile
                log.info("ingest job %s stopped: its file left the collection (%s)", job.id, reason)
                return
            level = logging.WARNING if isinstance(exc, ClipciteError) else logging.ERROR
            log.log(level, "ingest job %s (file %s) failed: %s", job.id, job.file_id, reason,
                    exc_info=not isinstance(exc, ClipciteError))
            cat.jobs.finish(job.id, JobState.FAILED, reason)
            with contextlib.suppress(Exception):  # the row may be gone (file deleted meanwhile)
                cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.FAILED,
                                                       error=reason)
            return
        finally:
            self._progress.pop(key, None)
        if cat.jobs.state(job.id) == JobState.CANCELLED:
            return
        cat.jobs.finish(job.id, JobState.COMPLETED)
        cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.COMPLETED,
                                               segment_count=n)
        log.info("indexed file %s into collection %s: %d segments in %.1fs", job.file_id, job.collection_id, n,
                 time.perf_counter() - t0)
