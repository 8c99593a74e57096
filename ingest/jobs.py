"""Ingest jobs: persisted in the catalog, run by worker threads in the server process (`clipcite serve`)
or in any number of `clipcite worker` processes on other machines sharing one PostgreSQL catalog.

A job indexes one file into one collection. A failure of the file (bad media, or a model error the
start-up checks do not reproduce) ends that job as `failed` with its reason and the worker moves on;
nothing a file contains can stop the worker. A failure of the environment (a model that cannot load, or
whose start-up check now fails) is not the file's: the job goes back to the queue, the process reports
`degraded` (`ingest.readiness`), and the worker claims nothing until the checks pass again. A claimed
job is leased to its worker (`engine.catalog.jobs`); a heartbeat thread extends the leases and reports
progress. A worker killed mid-job stops renewing, and another worker takes the job over when the lease
runs out (at once when the dead process is on this host and a worker here starts). The pipeline is
idempotent (deterministic point ids, stale points removed), so a re-run leaves no duplicates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clipcite.domain import VideoInfo
from clipcite.errors import ClipciteError, MediaError, ModelUnavailable
from engine.catalog import Catalog, IndexStatus, JobRecord, JobState, MediaStatus
from engine.embedding import Embedder
from ingest.analysis import FileAnalysis
from ingest.indexing import build_segments, plan, segment_image_vectors, to_points
from ingest.pipeline import Analyzer, Progress
from ingest.readiness import Check, Readiness, run_checks
from ingest.segment import SegmentationConfig
from ingest.sinks import SegmentSink
from models.memory import trim

log = logging.getLogger(__name__)


@dataclass
class IngestContext:
    catalog: Catalog
    sink: SegmentSink  # where finished points go (`ingest.sinks`)
    embedder: Embedder
    analyzer: Analyzer
    default_window: float = 20.0


_LIVE_OWNERS: set[str] = set()  # owner ids of the workers started in this process


def new_owner_id() -> str:
    """A process's owner id for leases and background work: host and pid (so a restart on the same host
    can tell its dead predecessor's work apart from a live process's), plus a random part (pids are reused)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _LIVE_OWNERS.add(owner)
    return owner


def retire_owner(owner: str) -> None:
    """This process's runtime with that id closed: what it left unfinished is a dead owner's now."""
    _LIVE_OWNERS.discard(owner)


def owner_is_dead(owner: str | None) -> bool:
    """The lease owner is a process of this host that no longer exists (or the row predates leases)."""
    if owner is None:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: its lease decides
    if int(pid) == os.getpid():  # a predecessor with this pid (a container restarted), unless a worker of ours
        return owner not in _LIVE_OWNERS
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
    if not _still_ours(cat, job):
        return 0
    images = segment_image_vectors(analysis, segments) if ctx.sink.has_image else None
    return ctx.sink.write(job, to_points(segments, ctx.embedder, frec.filename, images))


def _still_ours(cat: Catalog, job: JobRecord) -> bool:
    return cat.jobs.holds(job.id, job.owner) if job.owner else cat.jobs.state(job.id) == JobState.RUNNING


class IngestWorker:
    """`n` daemon threads claiming jobs from the queue, and one heartbeat thread renewing their leases;
    `wake()` makes them look at once."""

    def __init__(self, ctx: IngestContext, workers: int = 1, poll_seconds: float = 0.5,
                 owner: str | None = None, readiness: Readiness | None = None,
                 checks: list[Check] | None = None, recheck_seconds: float = 30.0) -> None:
        self.ctx = ctx
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.owner = owner or new_owner_id()
        # Jobs are claimed only while `readiness` is ok; `checks` (the ingest models') are re-run every
        # `recheck_seconds` while it is degraded. Without checks the environment is taken as it is.
        self.readiness = readiness or Readiness(state="ok" if not checks else "starting")
        self.checks = checks or []
        self.recheck_seconds = recheck_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        # (collection_id, file_id) -> (stage, fraction) of this process's running jobs (the heartbeat writes
        # them to the catalog, where every replica reads them).
        self._progress: dict[tuple[str, str], tuple[str, float]] = {}
        self._running: dict[str, tuple[str, str]] = {}  # job id -> (collection_id, file_id)

    def progress_of(self, collection_id: str, file_id: str) -> dict[str, Any] | None:
        """Where a running job is: {"stage", "fraction"}; None when the file is not being processed now.
        A job of this process is read from memory; one of another worker from its last heartbeat."""
        p = self._progress.get((collection_id, file_id))
        if p:
            return {"stage": p[0], "fraction": round(p[1], 3)}
        return self.ctx.catalog.jobs.progress(collection_id, file_id)

    def start(self) -> None:
        _LIVE_OWNERS.add(self.owner)
        requeued = self.ctx.catalog.jobs.requeue_interrupted(owner_is_dead)
        if requeued:
            log.warning("re-queued %d ingest job(s) interrupted by a previous shutdown", requeued)
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"ingest-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        beat = threading.Thread(target=self._heartbeat, name="ingest-heartbeat", daemon=True)
        beat.start()
        self._threads.append(beat)
        if self.checks:
            doctor = threading.Thread(target=self._recheck, name="ingest-recheck", daemon=True)
            doctor.start()
            self._threads.append(doctor)

    def check_environment(self) -> bool:
        """Run the ingest models' checks now; True when all pass (the readiness records the results)."""
        return self.readiness.record(run_checks(self.checks))

    def _recheck(self) -> None:
        """The checks first if nobody ran them yet; then, while degraded, again now and then: the jobs wait
        in the queue until they pass."""
        if self.readiness.state == "starting" and self.check_environment():
            self._wake.set()
        while not self._stop.wait(self.recheck_seconds):
            if self.readiness.state == "degraded" and self.check_environment():
                log.info("the ingest models load again: claiming jobs")
                self._wake.set()

    def _heartbeat(self) -> None:
        """Renew this worker's leases a few times per lease period (and publish progress)."""
        period = max(0.05, self.ctx.catalog.jobs.lease_ms / 3000)
        while not self._stop.wait(period):
            running = dict(self._running)
            if not running:
                continue
            beats = {jid: self._progress.get(key, ("queued", 0.0)) for jid, key in running.items()}
            try:
                held = self.ctx.catalog.jobs.heartbeat(self.owner, beats)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                log.warning("ingest heartbeat failed; retrying", exc_info=True)
                continue
            for jid in set(running) - held:
                log.info("ingest job %s is no longer this worker's (cancelled or taken over)", jid)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming and hand the jobs still running back to the queue (another worker, or this one after
        a restart, takes them at once instead of when their lease runs out); then wait up to `timeout`
        seconds in all for the threads, whose unfinished jobs are no longer theirs to write."""
        self._stop.set()
        self._wake.set()
        for job_id in list(self._running):
            with contextlib.suppress(Exception):  # the catalog may already be unreachable
                if self.ctx.catalog.jobs.release(job_id, self.owner, "the worker stopped; queued again"):
                    log.info("ingest job %s handed back to the queue", job_id)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.readiness.state != "ok":
                self.readiness.wait_ready(self.poll_seconds)
                continue
            try:
                job = self.ctx.catalog.jobs.claim(self.owner)
            except Exception:  # noqa: BLE001 - the database is unreachable for a moment: try again
                log.warning("claiming an ingest job failed; retrying", exc_info=True)
                self._stop.wait(max(self.poll_seconds, 2.0))
                continue
            if job is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self.process(job)

    def _environment_failure(self, exc: Exception, reason: str) -> bool:
        """Whether a job's failure is the environment's: a model that cannot load, or an unexpected error
        while the checks fail too (an upgraded package breaking a model on every file). A media error, or
        an unexpected one the checks do not reproduce, is the file's."""
        if isinstance(exc, MediaError):
            return False
        if isinstance(exc, ModelUnavailable):
            self.readiness.degrade(reason)
            return True
        return bool(self.checks) and not self.check_environment()

    def process(self, job: JobRecord) -> None:
        cat = self.ctx.catalog
        t0 = time.perf_counter()
        key = (job.collection_id, job.file_id)
        self._progress[key] = ("queued", 0.0)
        self._running[job.id] = key
        try:
            n = run_job(self.ctx, job, lambda stage, frac: self._progress.__setitem__(key, (stage, frac)))
        except Exception as exc:  # noqa: BLE001 - every failure ends the job, never the worker
            reason = exc.message if isinstance(exc, ClipciteError) else f"{type(exc).__name__}: {exc}"
            if not _still_ours(cat, job):  # its file or collection went away meanwhile, or another worker has it
                log.info("ingest job %s stopped: it is no longer this worker's (%s)", job.id, reason)
                return
            if self._environment_failure(exc, reason):
                log.warning("ingest job %s (file %s) waits for the environment: %s", job.id, job.file_id, reason)
                if cat.jobs.release(job.id, job.owner or self.owner, f"environment: {reason}"):
                    with contextlib.suppress(Exception):
                        cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.PENDING,
                                                               error=f"waiting: {reason}")
                return
            level = logging.WARNING if isinstance(exc, ClipciteError) else logging.ERROR
            log.log(level, "ingest job %s (file %s) failed: %s", job.id, job.file_id, reason,
                    exc_info=not isinstance(exc, ClipciteError))
            if cat.jobs.finish(job.id, JobState.FAILED, reason, owner=job.owner):
                with contextlib.suppress(Exception):  # the row may be gone (file deleted meanwhile)
                    cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.FAILED,
                                                           error=reason)
            return
        finally:
            self._running.pop(job.id, None)
            self._progress.pop(key, None)
            trim()  # a job's decoded frames and audio are freed: give the pages back
        # Only the lease holder ends the job: one taken over meanwhile completes once, by its new worker.
        if not cat.jobs.finish(job.id, JobState.COMPLETED, owner=job.owner):
            return
        cat.library.set_collection_file_status(job.collection_id, job.file_id, IndexStatus.COMPLETED,
                                               segment_count=n)
        log.info("indexed file %s into collection %s: %d segments in %.1fs", job.file_id, job.collection_id, n,
                 time.perf_counter() - t0)
