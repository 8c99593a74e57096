"""Filtered top-10 search latency at 10k / 100k / 1M synthetic segments: embedded qdrant-edge vs
qdrant-client local mode, through Clipcite's own store interface and filter builder.

    python scripts/bench_search.py [--sizes 10000,100000,1000000] [--queries 200] [--backends edge,local]

Segments are built like real ones (`engine.payload.segment_payload`: speech parts, scene text, visual
labels, file info, metadata and its numeric mirror; 384-d unit vectors; a BM25 speech vector) and spread
over 10 collections and 500 files. Each query is a hybrid dense + lexical search with a realistic filter:
one collection, plus a metadata Equal and a numeric LessThan (Cloudglue filter language). Prints p50/p99
in ms per backend and size, and the edge/local ratio. Targets (issue 5): p50 <= 10 ms at 100k, <= 100 ms
at 1M. The load calls the store's optimize() after every batch, as indexing does after every file (the
embedded store builds HNSW in bounded segments then; "max pause" is the longest such build, during which
the process stalls). qdrant-client's local mode is a brute-force reference, not a server: it is skipped above
--local-max points (default 100k) where one query takes seconds.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clipcite.domain import Segment, SpeechPart  # noqa: E402
from engine import lexical  # noqa: E402
from engine.filters import parse_filter  # noqa: E402
from engine.payload import point_id, segment_payload  # noqa: E402
from engine.scopes import search_scope  # noqa: E402
from engine.store import EdgeStore, HybridQuery, QdrantServerStore, StorePoint  # noqa: E402

log = logging.getLogger("bench_search")
WORDS = ["forklift", "tyre", "pressure", "monday", "exit", "dock", "badge", "budget", "harbour", "crane", "pier",
         "ferry", "launch", "rocket", "glider", "vendor", "harness", "safety", "briefing", "warehouse", "lab", "optics",
         "laser", "goggles", "quarterly", "orchard", "apple", "yield", "revenue", "growth", "percent", "schedule",
         "maintenance", "north", "south", "east", "west", "room", "floor", "extension", "code"]
DEPARTMENTS = ("ops", "finance", "research", "safety", "sales")
DIM = 384


def synthetic_points(n: int, rng: random.Random, nprng: np.random.Generator, start: int = 0) -> list[StorePoint]:
    vecs = nprng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    points = []
    for i in range(n):
        k = start + i
        file_no = k % 500
        text = " ".join(rng.choices(WORDS, k=24))
        seg = Segment(collection_id=f"col-{file_no % 10}", file_id=f"file-{file_no}", segment_id=f"seg-{k}",
                      index=k // 500, start_time=float(k // 500 * 20), end_time=float(k // 500 * 20 + 20),
                      speech=[SpeechPart(text=text, start_time=0.0, end_time=20.0)],
                      scene_text=[" ".join(rng.choices(WORDS, k=3)).upper()], visual=["person, laptop"],
                      metadata={"department": DEPARTMENTS[file_no % 5], "year": 2018 + file_no % 8},
                      file_info={"id": f"file-{file_no}", "filename": f"video_{file_no}.mp4", "bytes": 10_000_000},
                      video_info={"duration_seconds": 600.0, "has_audio": True})
        sparse = {"speech_lex": lexical.doc_vector(text)}
        points.append(StorePoint(id=point_id(seg.segment_id), dense=vecs[i].tolist(), payload=segment_payload(seg),
                                 sparse=sparse))
    return points


def queries(count: int, rng: random.Random, nprng: np.random.Generator) -> list[tuple[HybridQuery, object]]:
    out = []
    for _ in range(count):
        v = nprng.standard_normal(DIM).astype(np.float32)
        v /= np.linalg.norm(v)
        words = " ".join(rng.choices(WORDS, k=3))
        col = rng.randrange(10)  # files of collection k all belong to department k % 5
        flt = parse_filter({"metadata": [
            {"path": "department", "operator": "Equal", "valueText": DEPARTMENTS[col % 5]},
            {"path": "year", "operator": "LessThan", "valueText": str(rng.randint(2020, 2026))}]})
        scope = search_scope([f"col-{col}"], flt)
        out.append((HybridQuery(dense=v.tolist(), sparse={"speech_lex": lexical.query_vector(words)}, limit=10),
                    scope))
    return out


def measure(store, qs) -> tuple[float, float, int]:
    for q, f in qs[:5]:  # warm-up
        store.query(q, f)
    times, hits = [], 0
    for q, f in qs:
        t0 = time.perf_counter()
        res = store.query(q, f)
        times.append((time.perf_counter() - t0) * 1000)
        hits += len(res)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], hits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backends", default="edge,local")
    ap.add_argument("--local-max", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    rows = []
    for size in sizes:
        for backend in backends:
            if backend == "local" and size > args.local_max:
                rows.append((size, backend, None, None, 0, 0.0, 0.0))
                continue
            tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
            store = EdgeStore(tmp / "store", DIM) if backend == "edge" else QdrantServerStore(DIM, location=":memory:")
            rng, nprng = random.Random(7), np.random.default_rng(7)
            t0 = time.perf_counter()
            pauses = []
            for start in range(0, size, args.batch):
                store.upsert(synthetic_points(min(args.batch, size - start), rng, nprng, start))
                pauses.append(store.optimize())  # as after each ingest job: HNSW for what crossed the threshold
            load = time.perf_counter() - t0
            log.info("%s %d: index builds %.0f s in total, longest %.1f s", backend, size, sum(pauses), max(pauses))
            assert store.count() == size
            p50, p99, hits = measure(store, queries(args.queries, random.Random(11), np.random.default_rng(11)))
            log.info("%s %d: loaded in %.0f s, p50 %.2f ms, p99 %.2f ms", backend, size, load, p50, p99)
            rows.append((size, backend, p50, p99, hits, load, max(pauses)))
            store.close()
            shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"filtered hybrid top-10 search, {args.queries} queries per run (dense + BM25 speech, RRF; "
             f"filter: collection + metadata Equal + numeric LessThan)",
             f"{'segments':>9} {'backend':8} {'p50 ms':>8} {'p99 ms':>8} {'hits/q':>7} {'load s':>7} "
             f"{'max pause s':>11}"]
    for size, backend, p50, p99, hits, load, pause in rows:
        if p50 is None:
            lines.append(f"{size:>9} {backend:8} {'skipped (brute force)':>26}")
        else:
            lines.append(f"{size:>9} {backend:8} {p50:8.2f} {p99:8.2f} {hits / args.queries:7.1f} {load:7.0f} "
                         f"{pause:11.1f}")
    by = {(s, b): p for s, b, p, *_ in rows}
    for size in sizes:
        if by.get((size, "edge")) and by.get((size, "local")):
            lines.append(f"{size}: qdrant-client local / edge p50 = {by[(size, 'local')] / by[(size, 'edge')]:.1f}x")
    targets = {100_000: 10.0, 1_000_000: 100.0}
    for size, limit in targets.items():
        if by.get((size, "edge")) is not None:
            verdict = "met" if by[(size, "edge")] <= limit else "MISSED"
            lines.append(f"target edge p50 <= {limit:.0f} ms at {size}: {by[(size, 'edge')]:.2f} ms ({verdict})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
