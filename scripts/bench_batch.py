"""Would decoding several answers in one llama.cpp batch serve concurrent chats faster on this machine?

    python scripts/bench_batch.py [--model PATH] [--threads 1] [--prompt-tokens 500] [--steps 32] [--k 1 2 4 8]

The server answers one chat at a time (`engine.generation`): with N clients reading their answers, a chat
waits for about N-1 answers. Batched decoding (one `llama_decode` carrying the next token of k sequences,
each with its own KV cells) pays off only where a decode step of k tokens costs much less than k steps of
one, that is where decoding is bound by reading the weights rather than by arithmetic. This measures it
directly: one prompt is read into sequence 0 and copied to k-1 more, then `--steps` decode steps run with one
token per sequence. It prints the time of a step and the throughput against k=1 (x1.0: no gain; xk: ideal).

Measured on the 2-vCPU build machine, 1 thread (session 16): SmolLM2-135M Q4_1 x1.03 / x1.26 / x1.35 at
k = 2 / 4 / 8; Qwen2.5-Coder-1.5B Q4_K_M x1.06 / x1.20 / x0.85. Arithmetic bound: batching would take at
most a quarter off the wait of a chat among eight, so it is not built. On a GPU the same measure is the one
to run before building it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_model() -> Path:
    from clipcite.settings import Settings
    from models.registry import ModelRegistry

    settings = Settings()
    return ModelRegistry(settings.resolved_models_dir).resolve(settings.chat_model, "chat")


def run(model: Path, threads: int, prompt_tokens: int, steps: int, ks: list[int]) -> list[dict[str, float]]:
    import llama_cpp as L

    L.llama_backend_init()
    mdl = L.llama_model_load_from_file(str(model).encode(), L.llama_model_default_params())
    if not mdl:
        raise SystemExit(f"cannot load {model}")
    cp = L.llama_context_default_params()
    cp.n_ctx = (prompt_tokens + steps + 64) * max(ks)
    cp.n_batch = cp.n_ubatch = max(512, max(ks))
    cp.n_seq_max = max(ks)
    cp.kv_unified = True
    cp.n_threads = cp.n_threads_batch = threads
    ctx = L.llama_init_from_model(mdl, cp)
    vocab = L.llama_model_get_vocab(mdl)
    mem = L.llama_get_memory(ctx)
    text = ("The committee met on Tuesday to review the figures for the new depot. " * 80).encode()
    toks = (L.llama_token * 4096)()
    n = min(L.llama_tokenize(vocab, text, len(text), toks, 4096, True, False), prompt_tokens)
    batch = L.llama_batch_init(cp.n_batch, 0, max(ks))

    def add(tok: int, pos: int, seq: int, logits: bool) -> None:
        i = batch.n_tokens
        batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = tok, pos, 1, logits
        batch.seq_id[i][0] = seq
        batch.n_tokens += 1

    out: list[dict[str, float]] = []
    try:
        for k in ks:
            L.llama_memory_clear(mem, True)
            batch.n_tokens = 0
            for i in range(n):
                add(toks[i], i, 0, i == n - 1)
            t0 = time.perf_counter()
            if L.llama_decode(ctx, batch) != 0:
                raise SystemExit("prompt decode failed")
            prefill = time.perf_counter() - t0
            for s in range(1, k):
                L.llama_memory_seq_cp(mem, 0, s, -1, -1)
            t0 = time.perf_counter()
            for step in range(steps):
                batch.n_tokens = 0
                for s in range(k):
                    add(toks[(step + s) % n], n + step, s, True)
                if L.llama_decode(ctx, batch) != 0:
                    raise SystemExit(f"decode failed at k={k}")
                for s in range(k):
                    L.llama_get_logits_ith(ctx, s)
            step_s = (time.perf_counter() - t0) / steps
            out.append({"k": k, "prefill_s": round(prefill, 3), "step_ms": round(step_s * 1000, 1),
                        "ms_per_token": round(step_s * 1000 / k, 1)})
        base = out[0]["step_ms"]  # k=1: one sequence's step
        for r in out:
            r["throughput_x"] = round(r["k"] * base / r["step_ms"], 2)
    finally:
        L.llama_batch_free(batch)
        L.llama_free(ctx)
        L.llama_model_free(mdl)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a GGUF file (default: the configured chat model)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=500)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = args.model or default_model()
    rows = run(model, args.threads, args.prompt_tokens, args.steps, sorted(set(args.k) | {1}))
    print(json.dumps({"model": model.name, "threads": args.threads, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
