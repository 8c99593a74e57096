"""Batch indexing (`clipcite index`): walk folders, skip what is indexed, process the rest with progress.

Files are indexed where they lie (no copy into the data dir; the catalog keeps their path). Content
hashes decide what is new: a file already completed in the collection with the same segmentation and
metadata is skipped, whatever its name or place. Jobs go through the same SQLite queue and worker as
the server, so a killed run resumes: jobs left `running` are re-queued when the worker starts, and the
idempotent pipeline (deterministic point ids, stale points dropped) leaves no duplicate or gap.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipcite.errors import InvalidRequest
from engine.catalog import (
    Catalog,
    CollectionFileRecord,
    CollectionRecord,
    FileRecord,
    IndexStatus,
    MediaStatus,
    new_id,
    now_ms,
)
from ingest.jobs import IngestWorker
from ingest.library import add_to_collection, find_or_register
from ingest.segment import SegmentationConfig

log = logging.getLogger(__name__)
MEDIA_EXT = frozenset({".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv",
                       ".mp3", ".wav", ".m4a", ".flac", ".ogg", ".opus"})


def discover(paths: list[Path]) -> list[Path]:
    """Media files under the given files/folders, sorted, each once (symlinks resolved)."""
    seen: dict[Path, None] = {}
    for p in paths:
        if not p.exists():
            raise InvalidRequest(f"{p} does not exist", param="paths")
        found = [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in MEDIA_EXT)
        for f in found:
            seen.setdefault(f.resolve(), None)
    return list(seen)


class MetadataSource:
    """Per-file metadata: `sidecar` (VIDEO.json or VIDEO.mp4.json beside each file), a CSV with a
    `filename` or `path` column (other columns become fields), or a JSON object keyed by filename/path."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self.table: dict[str, dict[str, Any]] = {}
        if spec and spec != "sidecar":
            path = Path(spec)
            if not path.exists():
                raise InvalidRequest(f"metadata file {spec} does not exist", param="metadata-from")
            if path.suffix.lower() == ".csv":
                with open(path, newline="") as f:
                    for row in csv.DictReader(f):
                        key = row.pop("path", None) or row.pop("filename", None)
                        if key:
                            self.table[key] = {k: v for k, v in row.items() if k and v not in (None, "")}
            else:
                data = json.loads(path.read_text())
                if not isinstance(data, dict):
                    raise InvalidRequest("metadata JSON must map filenames to objects", param="metadata-from")
                self.table = {k: v for k, v in data.items() if isinstance(v, dict)}

    def for_file(self, path: Path) -> dict[str, Any]:
        if self.spec == "sidecar":
            for side in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
                if side.exists():
                    value = json.loads(side.read_text())
                    if not isinstance(value, dict):
                        raise InvalidRequest(f"{side} must hold a JSON object", param="metadata-from")
                    return value
            return {}
        return dict(self.table.get(str(path), self.table.get(path.name, {})))


@dataclass
class BatchReport:
    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    video_seconds: float = 0.0
    wall_seconds: float = 0.0


def get_or_create_collection(catalog: Catalog, name: str, cfg: SegmentationConfig | None) -> CollectionRecord:
    existing = catalog.library.find_collection_by_name(name)
    if existing is not None:
        return existing
    rec = CollectionRecord(id=new_id(), name=name, description=None, collection_type="media-descriptions",
                           default_segmentation_config=cfg.to_wire() if cfg else None, created_at=now_ms())
    return catalog.library.add_collection(rec)


SEGMENTATION_COLLECTION = "segmentation"  # prefix of the collections that hold API-created segmentations


def index_under(catalog: Catalog, worker: IngestWorker, frec: FileRecord, cfg: SegmentationConfig
                ) -> CollectionFileRecord:
    """The file indexed under a segmentation config (describe / transcribe jobs, `POST /files/{id}/
    segmentations`): one collection per config, so the same file and config are analysed and indexed
    once, and the segmentation is searchable there like any collection's."""
    wire = cfg.to_wire()
    digest = hashlib.sha1(json.dumps(wire, sort_keys=True).encode()).hexdigest()[:8]
    coll = get_or_create_collection(catalog, f"{SEGMENTATION_COLLECTION} {cfg.strategy} {digest}", cfg)
    cf, queued = add_to_collection(catalog, coll, frec, cfg)
    if queued:
        worker.wake()
    return cf


class BatchIndexer:
    """Queues files into a collection and drives the worker until they are done, reporting progress.
    Without a worker (`clipcite index --no-worker`) the queue's `clipcite worker` processes do the work and
    this only waits for them."""

    def __init__(self, catalog: Catalog, worker: IngestWorker | None, collection: CollectionRecord,
                 cfg: SegmentationConfig, metadata: MetadataSource, allow_partial: bool = False) -> None:
        self.catalog = catalog
        self.allow_partial = allow_partial
        self.worker = worker
        self.collection = collection
        self.cfg = cfg
        self.metadata = metadata

    def queue(self, files: list[Path], report: BatchReport) -> dict[str, float]:
        """Register and queue; returns {file_id: duration} of what the worker has to do."""
        todo: dict[str, float] = {}
        for path in files:
            frec, _ = find_or_register(self.catalog, path, path.name, self.metadata.for_file(path),
                                        allow_partial=self.allow_partial)
            cf, queued = add_to_collection(self.catalog, self.collection, frec, self.cfg, None)
            if frec.status == MediaStatus.UNUSABLE:
                report.failed[str(path)] = frec.error or "not usable media"
            elif queued:
                report.queued.append(str(path))
            elif cf.status.busy:
                report.resumed.append(str(path))  # a killed run left it: the worker picks it up again
            else:
                report.skipped.append(str(path))
                continue
            if frec.status == MediaStatus.USABLE:
                todo[frec.id] = float(frec.video_info.duration_seconds if frec.video_info else 0.0)
        return todo

    def run(self, files: list[Path],
            on_tick: Callable[[dict[str, float], dict[str, float], dict[str, IndexStatus]], None] | None = None,
            poll: float = 0.5) -> BatchReport:
        """`on_tick(durations, fraction_done, status)` per poll, keyed by file id."""
        report = BatchReport()
        t0 = time.perf_counter()
        todo = self.queue(files, report)
        report.video_seconds = sum(todo.values())
        if todo:
            if self.worker is not None:
                self.worker.start()  # re-queues jobs a killed run left `running`
                self.worker.wake()
            try:
                while True:
                    states = {fid: self.catalog.library.get_collection_file(self.collection.id, fid).status
                              for fid in todo}
                    done = {fid: 1.0 if not st.busy else (self._progress(fid) or {}).get("fraction", 0.0)
                            for fid, st in states.items()}
                    if on_tick:
                        on_tick(todo, done, states)
                    if not any(st.busy for st in states.values()):
                        break
                    time.sleep(poll)
            finally:
                if self.worker is not None:
                    self.worker.stop()
            for fid in todo:
                cf = self.catalog.library.get_collection_file(self.collection.id, fid)
                name = self.catalog.library.get_file(fid).path
                if cf.status == IndexStatus.COMPLETED:
                    report.completed.append(name)
                else:
                    report.failed[name] = cf.error or cf.status
        report.wall_seconds = time.perf_counter() - t0
        return report

    def _progress(self, file_id: str) -> dict | None:
        if self.worker is not None:
            return self.worker.progress_of(self.collection.id, file_id)
        return self.catalog.jobs.progress(self.collection.id, file_id)


class ProgressBars:
    """Two tqdm bars (files; seconds of video with ETA and real-time factor) on a terminal, else a log
    line every `every` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.bars: tuple[Any, Any] | None = None  # tqdm bars, made on the first tick on a terminal
        self.last_log = 0.0
        self.t0 = time.perf_counter()

    def tick(self, durations: dict[str, float], done: dict[str, float], states: dict[str, IndexStatus]) -> None:
        total = sum(durations.values())
        seconds = sum(durations[f] * frac for f, frac in done.items())
        files_done = sum(1 for st in states.values() if st in (IndexStatus.COMPLETED, IndexStatus.FAILED))
        if sys.stderr.isatty():
            from tqdm import tqdm

            if self.bars is None:
                self.bars = (tqdm(total=len(durations), desc="files", unit="file", position=0),
                             tqdm(total=round(total, 1), desc="video", unit="s", position=1,
                                  bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}, {rate_fmt}]"))
            files_bar, video_bar = self.bars
            files_bar.update(files_done - files_bar.n)
            video_bar.update(round(seconds, 1) - video_bar.n)
            return
        now = time.perf_counter()
        if now - self.last_log >= self.every or files_done == len(durations):
            self.last_log = now
            elapsed = now - self.t0
            speed = seconds / elapsed if elapsed > 0 else 0.0
            eta = (total - seconds) / speed if speed > 0 else float("nan")
            log.info("indexed %d/%d files, %.0f/%.0f s of video, %.1fx real time, ETA %.0f s",
                     files_done, len(durations), seconds, total, speed, eta)

    def close(self) -> None:
        if self.bars:
            for b in self.bars:
                b.close()
