"""Ingest speed: the whole pipeline against faster-whisper alone, on the same files, model and threads.

    python scripts/bench_ingest.py ../shared/corpus/dev [--whisper tiny.en] [--threads N]

Each measurement runs in its own child process (so its peak RSS is its own and no model is warm from
another run): faster-whisper alone (same options as the pipeline: VAD, word timestamps, beam 1), then the
pipeline (speech, speakers, keyframes, OCR, visual labels, segmenting, embedding, upsert into a fresh
embedded store) with stage overlap off and on. Prints seconds, real-time factors, peak RSS and the ratios.
Targets (issue 5): pipeline >= 0.8x faster-whisper alone; >= 8x real time with tiny.en on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_ingest")
MODES = ("whisper", "naive", "pipeline", "pipeline-overlap")
VIDEO_EXT = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"}


def _videos(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(x for x in p.rglob("*") if x.suffix.lower() in VIDEO_EXT) if p.is_dir() else [p])
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, files: list[Path], args: argparse.Namespace) -> dict:
    """One measurement, in-process (called in the child)."""
    from clipcite.settings import Settings
    from ingest.probe import probe

    data = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    settings = Settings(data_dir=data, whisper_model=args.whisper, threads=args.threads,
                        models_dir=Path(args.models_dir) if args.models_dir else None,
                        ingest_overlap=(mode == "pipeline-overlap"))
    infos = [probe(f) for f in files]
    duration = sum(i.duration_seconds for i in infos)
    if mode == "whisper":
        from api.services import build_services

        svc = build_services(settings)
        tr = next(s for s in svc.worker.ctx.analyzer.stages if s.name == "speech").transcriber
        for model in tr.models:
            model._load()  # load outside the timed region, as the pipeline run below does
        t0 = time.perf_counter()
        for f, info in zip(files, infos, strict=False):
            if info.has_audio:
                tr.transcribe(f)
        elapsed = time.perf_counter() - t0
    elif mode == "naive":
        elapsed = naive(files, infos, settings)
    else:
        from api.services import build_services
        from engine.catalog import CollectionRecord, JobState, new_id, now_ms
        from ingest.jobs import run_job
        from ingest.library import add_to_collection, register_file
        from ingest.segment import SegmentationConfig

        svc = build_services(settings)
        ctx = svc.worker.ctx
        models = [getattr(s, attr, None) for s in ctx.analyzer.stages
                  for attr in ("transcriber", "diarizer", "reader", "describer")]
        for loader in (*models, ctx.embedder):
            if loader is not None and hasattr(loader, "_load"):
                loader._load()
        col = svc.catalog.library.add_collection(CollectionRecord(id=new_id(), name="bench", description=None,
                                                          collection_type="media-descriptions",
                                                          default_segmentation_config=None, created_at=now_ms()))
        cfg = SegmentationConfig.from_wire(None, settings.segment_seconds)
        t0 = time.perf_counter()
        for f in files:
            rec = register_file(svc.catalog, f, f.name, f.stat().st_size, "", {})
            add_to_collection(svc.catalog, col, rec, cfg)
            job = svc.catalog.jobs.claim(svc.worker.owner)
            run_job(ctx, job)
            svc.catalog.jobs.finish(job.id, JobState.COMPLETED)
        elapsed = time.perf_counter() - t0
        stages: dict[str, float] = {}
        for rec in svc.catalog.library.list_files(limit=100)[0]:
            for stage, secs in (a.timings if (a := svc.current_analysis(rec.id)) else {}).items():
                stages[stage] = stages.get(stage, 0.0) + secs
        svc.close()
        return {"mode": mode, "seconds": elapsed, "video_seconds": duration, "peak_rss_mb": _peak_rss_mb(),
                "stages": {k: round(v, 1) for k, v in sorted(stages.items())}}
    return {"mode": mode, "seconds": elapsed, "video_seconds": duration, "peak_rss_mb": _peak_rss_mb()}


def naive(files: list[Path], infos: list, settings) -> float:
    """Whisper base with faster-whisper's defaults, and OCR of a frame a second; models loaded untimed."""
    import cv2
    from faster_whisper import WhisperModel

    from ingest.stages.scene_text.ocr import RapidOcrReader
    from models.registry import ModelRegistry

    path = ModelRegistry(settings.resolved_models_dir).resolve("base", "whisper")
    whisper = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=1)
    reader = RapidOcrReader(threads=1)
    reader._load()
    t0 = time.perf_counter()
    for f, info in zip(files, infos, strict=False):
        if info.has_audio:
            segments, _ = whisper.transcribe(str(f), vad_filter=True)
            list(segments)
        cap = cv2.VideoCapture(str(f))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if n % round(fps) == 0:
                reader.read(frame)
            n += 1
        cap.release()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--whisper", default="auto", help="the whisper_model setting (auto: tiny.en, base)")
    ap.add_argument("--threads", type=int, default=None, help="default: per-stage budgets from usable cores")
    ap.add_argument("--models-dir", default=None)
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    files = _videos(args.paths)
    if args.child:
        sys.stdout.write(json.dumps(run_child(args.child, files, args)) + "\n")
        return 0
    results = {}
    for mode in MODES:
        cmd = [sys.executable, __file__, *args.paths, "--whisper", args.whisper, "--child", mode]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.models_dir:
            cmd += ["--models-dir", args.models_dir]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-4000:])
            return 1
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    video = results["whisper"]["video_seconds"]
    lines = [f"{len(files)} files, {video:.0f} s of video, whisper {args.whisper}",
             f"{'run':20} {'seconds':>8} {'x real time':>12} {'peak RSS MB':>12}"]
    for mode, r in results.items():
        lines.append(f"{mode:20} {r['seconds']:8.1f} {video / r['seconds']:12.2f} {r['peak_rss_mb']:12.0f}")
    for mode, r in results.items():
        if r.get("stages"):
            lines.append(f"{mode} stage seconds (summed over files; overlapped stages run at once): "
                         + ", ".join(f"{k} {v}" for k, v in r["stages"].items()))
    w = results["whisper"]["seconds"]
    lines.append(f"pipeline / its speech recogniser alone (speed ratio): "
                 f"sequential {w / results['pipeline']['seconds']:.2f}x, "
                 f"overlapped {w / results['pipeline-overlap']['seconds']:.2f}x")
    lines.append(f"pipeline time / naive Whisper base + OCR time: "
                 f"{results['pipeline-overlap']['seconds'] / results['naive']['seconds']:.2f} (target <= 1.0)")
    lines.append(f"overlap speed-up: {results['pipeline']['seconds'] / results['pipeline-overlap']['seconds']:.2f}x")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
