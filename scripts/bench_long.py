"""Hour-long videos and a big library: memory and time against video length, summary cost, and listing /
paging / search latency with 1 000 files in a collection.

    python scripts/bench_long.py ../shared/corpus/dev [--minutes 10 30 60] [--summary] [--library 1000]
                                 [--database-url postgresql://...]

Long videos are the corpus's videos concatenated (re-encoded once to 10 minutes, then joined without
re-encoding to 30 and 60). Each length is indexed in its own child process with a fresh data dir (the
pipeline exactly as `clipcite index` runs it), so each peak RSS is that length's alone. Memory bounded
independently of length means the 60-minute peak is close to the 10-minute one; time linear in length
means seconds per video minute stay flat. `--summary` also summarises each video with the configured chat
model and reports model calls and prompt tokens (bounded: at most 13 calls of bounded size). `--library`
fills a collection with that many files (real catalog and embedded store, three points each) and times
the API's listing, paging and filtered search paths.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_long")


def build_videos(corpus: Path, minutes: list[int], out: Path) -> dict[int, Path]:
    """A 10-minute base from the corpus's videos (looped), then N-minute videos joined from it."""
    sources = sorted(p for p in corpus.rglob("*.mp4"))
    base = out / "long_10.mp4"
    if not base.exists():
        listing = out / "sources.txt"
        total, lines = 0.0, []
        while total < 600:
            for p in sources:
                lines.append(f"file '{p.resolve()}'")
                total += float(subprocess.check_output(
                    ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(p)]))
                if total >= 600:
                    break
        listing.write_text("\n".join(lines) + "\n")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-t", "600",
                        "-vf", "fps=10,scale=640:360", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
                        "-ar", "16000", "-ac", "1", str(base)], check=True)
    videos = {}
    for m in minutes:
        path = out / f"long_{m}.mp4"
        if not path.exists():
            listing = out / f"join_{m}.txt"
            listing.write_text(f"file '{base.resolve()}'\n" * max(1, m // 10))
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                            "-c", "copy", str(path)], check=True)
        videos[m] = path
    return videos


def index_child(video: str, data_dir: str, summary: bool) -> dict:
    """Runs in a child process: index one video as `clipcite index` does; optionally summarise it."""
    from clipcite.settings import load_settings
    from ingest.batch import BatchIndexer, MetadataSource, get_or_create_collection
    from ingest.runtime import build_ingest
    from ingest.segment import SegmentationConfig

    settings = load_settings(data_dir=Path(data_dir))
    rt = build_ingest(settings)
    coll = get_or_create_collection(rt.catalog, "long", None)
    cfg = SegmentationConfig.from_wire(None, settings.segment_seconds)
    t0 = time.perf_counter()
    report = BatchIndexer(rt.catalog, rt.worker, coll, cfg, MetadataSource(None)).run([Path(video)])
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "video_seconds": report.video_seconds, "failed": report.failed,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if summary:
        from engine.generation import LlamaGenerator
        from engine.scopes import membership_scope
        from engine.summary import summarize

        fid = rt.catalog.library.list_collection_files(coll.id, limit=1)[0][0].file_id
        segments = rt.store.segments(membership_scope(coll.id, fid))
        gen = LlamaGenerator(rt.registry.resolve(settings.chat_model, "chat"), settings.chat_model,
                             n_ctx=settings.n_ctx, threads=rt.devices.stage_threads.chat)
        calls = []
        real_chat = gen.chat
        gen.chat = lambda msgs, params: calls.append(sum(len(m["content"]) for m in msgs)) or real_chat(msgs, params)
        t1 = time.perf_counter()
        s = summarize(segments, gen)
        out.update(summary_seconds=time.perf_counter() - t1, model_calls=len(calls), max_prompt_chars=max(calls),
                   prompt_tokens=s.prompt_tokens, chapters=len(s.chapters),
                   first_chapter_start=s.chapters[0].start_time, last_chapter_end=s.chapters[-1].end_time)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rt.close()
    return out


def library_bench(n_files: int, database_url: str | None) -> dict:
    """A collection of `n_files` files (three points each, random vectors) and the listing/search paths."""
    from clipcite.domain import Segment, SpeechPart
    from engine.catalog import Catalog, CollectionFileRecord, CollectionRecord, FileRecord, IndexStatus, MediaStatus
    from engine.payload import point_id, segment_payload
    from engine.scopes import collection_scope
    from engine.store import EdgeStore, HybridQuery, StorePoint

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(database_url or Path(tmp) / "catalog.sqlite3")
        store = EdgeStore(Path(tmp) / "store", 384)
        cat.library.add_collection(CollectionRecord("big", "big", None, "media-descriptions", None, 1))
        with cat.transaction():
            for i in range(n_files):
                cat.library.add_file(FileRecord(f"f{i:05d}", f"video_{i}.mp4", f"/m/{i}.mp4", 1, f"sha{i}", i,
                                                {"team": f"t{i % 10}"}, None, MediaStatus.USABLE))
                cat.library.upsert_collection_file(CollectionFileRecord("big", f"f{i:05d}", i, IndexStatus.COMPLETED,
                                                                        f"s{i}", {}, segment_count=3))
        points = []
        for i in range(n_files):
            for k in range(3):
                seg = Segment(collection_id="big", file_id=f"f{i:05d}", segment_id=f"f{i:05d}-{k}", index=k,
                              start_time=20.0 * k, end_time=20.0 * (k + 1),
                              speech=[SpeechPart(f"item {i} part {k}", 20.0 * k, 20.0 * k + 5)])
                points.append(StorePoint(point_id(seg.segment_id), [rng.gauss(0, 1) for _ in range(384)],
                                         segment_payload(seg)))
        for j in range(0, len(points), 500):
            store.upsert(points[j:j + 500])
        store.optimize()

        def timed(fn, repeat: int = 20) -> float:
            t0 = time.perf_counter()
            for _ in range(repeat):
                fn()
            return (time.perf_counter() - t0) / repeat * 1000

        q = HybridQuery(dense=[rng.gauss(0, 1) for _ in range(384)], limit=10)
        out = {
            "files": n_files, "points": len(points),
            "list_first_page_ms": timed(lambda: cat.library.list_collection_files("big", limit=50)),
            "list_last_page_ms": timed(lambda: cat.library.list_collection_files("big", limit=50, offset=n_files - 50)),
            "list_files_ms": timed(lambda: cat.library.list_files(limit=100, offset=n_files // 2)),
            "get_collection_ms": timed(lambda: cat.library.get_collection("big")),
            "search_ms": timed(lambda: store.query(q, collection_scope("big"))),
            "facet_files_ms": timed(lambda: store.file_ids(collection_scope("big")), repeat=5),
        }
        store.close()
        cat.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--minutes", type=int, nargs="*", default=[10, 30, 60])
    ap.add_argument("--summary", action="store_true", help="also summarise each video with the chat model")
    ap.add_argument("--library", type=int, default=1000, help="files in the listing benchmark (0: skip)")
    ap.add_argument("--database-url", help="run the library benchmark on this PostgreSQL (default SQLite)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "clipcite-bench-long")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        sys.stdout.write(json.dumps(index_child(args.child[0], args.child[1], args.child[2] == "1")) + "\n")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for m, video in build_videos(args.corpus, args.minutes, args.work).items():
        with tempfile.TemporaryDirectory() as data:
            proc = subprocess.run([sys.executable, __file__, str(args.corpus), "--child", str(video), data,
                                   "1" if args.summary else "0"], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append((m, r))
        sys.stdout.write(f"{m} min: {json.dumps(r)}\n")
        sys.stdout.flush()
    if rows:
        sys.stdout.write("\n| video | index s | s per video min | x real time | peak RSS MB |"
                         + (" summary calls | max prompt chars | chapters span |" if args.summary else "") + "\n")
        sys.stdout.write("| --- | --- | --- | --- | --- |" + (" --- | --- | --- |" if args.summary else "") + "\n")
        for m, r in rows:
            speed = r["video_seconds"] / r["seconds"]
            line = f"| {m} min | {r['seconds']:.0f} | {r['seconds'] / m:.1f} | {speed:.1f} | {r['peak_rss_mb']:.0f} |"
            if args.summary:
                line += (f" {r['model_calls']} | {r['max_prompt_chars']} | {r['first_chapter_start']:.0f}-"
                         f"{r['last_chapter_end']:.0f} s |")
            sys.stdout.write(line + "\n")
    if args.library:
        lib = library_bench(args.library, args.database_url)
        sys.stdout.write("\n" + " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in lib.items()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
