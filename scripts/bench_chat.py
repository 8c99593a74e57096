"""Chat latency: engine overhead against llama.cpp's own time for the same prompt, retrieval + prompt
building time, and throughput with concurrent clients over HTTP.

    python scripts/bench_chat.py ../shared/corpus/dev [--videos 4] [--questions 8] [--clients 8] [--lang es]

Indexes a few videos of the corpus into a temporary data dir (real models), then asks each question twice
through the engine (the second time with the previous question's prompt in the KV cache, as in service)
and prints where a reply's time goes: retrieval, prompt building, prompt tokens, prompt evaluation (to the
first token), generation, the checks, p50 / p90 of the whole reply, refusals. `--lang` keeps the corpus
questions in that language only (truth `lang` field, or all when absent). With `--overhead`, also:
  * retrieval + prompt building (`ChatService.prepare`): p50 / p99 ms (target <= 50 ms);
  * llama.cpp alone: the same final messages, KV cache cleared, `create_chat_completion(max_tokens=1)`:
    its own time to the first token (prompt evaluation);
  * the engine: KV cache cleared, request -> first streamed token (retrieval, prompt, generation);
    overhead = engine / llama.cpp - 1 (target <= 10 %);
  * the engine warm (the previous question left the system prompt in the KV cache, as in service):
    the saving from reusing the fixed prefix.
Then N clients ask concurrently through `POST /v1/chat/completions` and it prints requests served,
requests per minute and latency p50 / p99 next to the one-client figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench_chat")


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


def index_videos(svc, corpus: Path, count: int) -> str:
    from engine.catalog import CollectionRecord, JobState, new_id, now_ms
    from ingest.jobs import run_job
    from ingest.library import add_to_collection, register_file, sha256_of
    from ingest.segment import SegmentationConfig

    truth = json.loads((corpus / "truth.json").read_text())
    col = svc.catalog.library.add_collection(CollectionRecord(id=new_id(), name="bench", description=None,
                                                      collection_type="media-descriptions",
                                                      default_segmentation_config=None, created_at=now_ms()))
    cfg = SegmentationConfig.from_wire(None, svc.settings.segment_seconds)
    videos = [corpus / v["file"] for v in truth["videos"]][:count] if "videos" in truth else \
        sorted(corpus.glob("*.mp4"))[:count]
    for path in videos:
        rec = register_file(svc.catalog, path, path.name, path.stat().st_size, sha256_of(path), {})
        add_to_collection(svc.catalog, col, rec, cfg)
        job = svc.catalog.jobs.claim(svc.worker.owner)
        run_job(svc.worker.ctx, job)
        svc.catalog.jobs.finish(job.id, JobState.COMPLETED)
    return col.id


def questions(corpus: Path, n: int, lang: str | None = None) -> list[str]:
    truth = json.loads((corpus / "truth.json").read_text())
    return [q["q"] for q in truth.get("questions", [])
            if not q.get("filter") and (lang is None or q.get("lang", lang) == lang)][:n]


STAGES = ("retrieve", "prompt", "prompt_eval", "generation", "checks")


def stage_table(answers: list) -> list[str]:
    """Median and p90 seconds per stage, prompt tokens, whole-reply latency and refusals."""
    lines = [f"{'stage':12} {'p50 s':>7} {'p90 s':>7}"]
    for stage in STAGES:
        vals = [a.timings.get(stage, 0.0) for a, _ in answers]
        lines.append(f"{stage:12} {statistics.median(vals):7.2f} {pct(vals, 0.9):7.2f}")
    total = [t for _, t in answers]
    tokens = [a.prompt_tokens for a, _ in answers]
    lines.append(f"{'reply':12} {statistics.median(total):7.2f} {pct(total, 0.9):7.2f}   (target p50 <= 5 s, "
                 f"p90 <= 10 s)")
    lines.append(f"prompt tokens p50 {statistics.median(tokens):.0f}, max {max(tokens)}; completion tokens p50 "
                 f"{statistics.median([a.completion_tokens for a, _ in answers]):.0f}; refusals "
                 f"{sum(1 for a, _ in answers if not a.citations)}/{len(answers)}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=2)
    ap.add_argument("--chat-model", default="qwen2.5-coder-1.5b-instruct-q4_k_m")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the service's max_answer_tokens")
    ap.add_argument("--lang", default=None)
    ap.add_argument("--overhead", action="store_true", help="also llama.cpp alone vs the engine, cold cache")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    import httpx
    import uvicorn

    from api.app import create_app
    from api.services import build_services
    from clipcite.settings import Settings
    from engine.chat import ChatRequest
    from engine.conversation import Turn
    from engine.generation import GenerationParams

    corpus = Path(args.corpus)
    data = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    extra = {"max_answer_tokens": args.max_tokens} if args.max_tokens else {}
    settings = Settings(data_dir=data, chat_model=args.chat_model, port=8791, **extra)
    svc = build_services(settings)
    col = index_videos(svc, corpus, args.videos)
    qs = questions(corpus, args.questions, args.lang)
    llm = svc.generator.load()
    params = GenerationParams(max_tokens=args.max_tokens or settings.max_answer_tokens)

    def request(q: str) -> ChatRequest:
        return ChatRequest(turns=[Turn("user", q)], collections=[col], params=params)

    answers = []
    svc.chat.answer(request(qs[-1]))  # the system prompt in the KV cache, as after any earlier request
    for q in qs:
        t0 = time.perf_counter()
        ans = svc.chat.answer(request(q))
        answers.append((ans, time.perf_counter() - t0))
    report = [f"{len(qs)} questions over {args.videos} indexed videos; model {args.chat_model}", *stage_table(answers)]

    prep_ms, raw_s, engine_s, warm_s, prompt_tokens = [], [], [], [], []
    for i, q in enumerate(qs if args.overhead else []):
        t0 = time.perf_counter()
        messages = svc.chat.prepare(request(q)).messages
        prep_ms.append((time.perf_counter() - t0) * 1000)
        prompt_tokens.append(len(llm.tokenize(json.dumps(messages).encode(), add_bos=False)))

        llm.reset()
        t0 = time.perf_counter()
        llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
        raw_s.append(time.perf_counter() - t0)

        def first_token(q: str) -> float:
            t0 = time.perf_counter()
            stream = svc.chat.stream(request(q))
            try:
                for item in stream:
                    if isinstance(item, str) and item:
                        return time.perf_counter() - t0
            finally:
                stream.close()
            return time.perf_counter() - t0

        llm.reset()
        engine_s.append(first_token(q))
        first_token(qs[(i + 1) % len(qs)])  # leaves another question's prompt in the KV cache
        warm_s.append(first_token(q))

    server = uvicorn.Server(uvicorn.Config(create_app(settings, services=svc), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{settings.port}/v1/chat/completions"

    def ask(q: str, latencies: list[float], errors: list[str]) -> None:
        t0 = time.perf_counter()
        r = httpx.post(url, json={"model": "nimbus-001", "collections": [col],
                                  "messages": [{"role": "user", "content": q}]}, timeout=900)
        (latencies if r.status_code == 200 else errors).append(time.perf_counter() - t0 if r.status_code == 200
                                                               else r.text[:200])

    def run_clients(n_clients: int, per_client: int) -> tuple[float, list[float], list[str]]:
        latencies: list[float] = []
        errors: list[str] = []

        def client(k: int) -> None:
            for j in range(per_client):
                ask(qs[(k * per_client + j) % len(qs)], latencies, errors)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0, latencies, errors

    one_wall, one_lat, one_err = run_clients(1, args.per_client * 2)
    many_wall, many_lat, many_err = run_clients(args.clients, args.per_client)
    server.should_exit = True
    thread.join(30)
    svc.close()

    lines = report
    if args.overhead:
        overhead = [e / r - 1 for e, r in zip(engine_s, raw_s, strict=False)]
        lines += [
            f"retrieval + prompt building: p50 {statistics.median(prep_ms):.1f} ms, p99 {pct(prep_ms, 0.99):.1f} ms "
            f"(target <= 50 ms); prompt ~{statistics.median(prompt_tokens):.0f} tokens",
            f"time to first token, KV cache cleared: llama.cpp alone p50 {statistics.median(raw_s):.2f} s, "
            f"engine p50 {statistics.median(engine_s):.2f} s; engine overhead p50 "
            f"{statistics.median(overhead):+.1%}, max {max(overhead):+.1%} (target <= +10 %)",
            f"time to first token with the system prompt reused from the KV cache: p50 "
            f"{statistics.median(warm_s):.2f} s ({statistics.median(warm_s) / statistics.median(engine_s):.2f}x "
            "of cold)"]
    lines += [
        f"1 client: {len(one_lat)} answers in {one_wall:.0f} s = {60 * len(one_lat) / one_wall:.1f}/min, "
        f"latency p50 {statistics.median(one_lat):.1f} s, errors {len(one_err)}",
        f"{args.clients} clients: {len(many_lat)} answers in {many_wall:.0f} s = "
        f"{60 * len(many_lat) / many_wall:.1f}/min, "
        f"latency p50 {statistics.median(many_lat):.1f} s p99 {pct(many_lat, 0.99):.1f} s, errors {len(many_err)}; "
        f"throughput ratio {(len(many_lat) / many_wall) / (len(one_lat) / one_wall):.2f}x of one client "
        "(one model instance answers in turn)",
        f"concurrent p50 / single p50: {statistics.median(many_lat) / statistics.median(one_lat):.1f}x "
        f"(target <= {args.clients}x); slowest {max(many_lat):.1f} s",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
