#!/usr/bin/env python3
"""Soak test on loopback: N uploads (each added to a collection), M concurrent chat clients, D
streaming clients that hang up at a random point and O clients sending oversized requests (a body over the
cap, a conversation far over the context, one enormous message), for a bounded time against a server this script starts
(or --url). Prints requests served, errors, p50/p99 latency per kind, wedged model slots after the run
(from /metrics: slots still held, requests still admitted), the latency of one normal request after
it, and the server's RSS growth after warm-up. Every loop is bounded in count and time.

    python scripts/soak.py --uploads 4 --chat-clients 8 --disconnecting-clients 4 --oversized-clients 2 \
                           --seconds 600

Warm-up first: one video indexed and a normal chat on it asked alone (its time alone) and the RSS that
growth is counted from (every model loaded). Then the chat clients alone for --baseline-seconds: the usual
time of a normal chat under normal load (one model serves its clients in turn, so N clients wait about N
times as long as one). Then the full mix. Passes when no request got a 5xx (503 with Retry-After is the
admission bound working), oversized requests were refused with a 4xx, nothing stayed wedged, every normal
chat of the mix was answered within 3x the usual time under normal load, and RSS grew less than 10 %; the
ratio to the time alone is reported too.

Each simulated client has its own API key, as separate users would (the server tells clients apart by key
to serve those that read their answers before those that hang up: `engine.client_standing`); `--one-key`
gives them all one key, as when one application proxies every user. With `--url` the clients send no key (the
server must have none, and then tells clients apart by address only: on loopback, not at all).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.eval import start_server  # noqa: E402


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url")
    p.add_argument("--uploads", type=int, default=4)
    p.add_argument("--chat-clients", type=int, default=8)
    p.add_argument("--disconnecting-clients", type=int, default=4,
                   help="streaming clients that close the connection after a random number of chunks")
    p.add_argument("--oversized-clients", type=int, default=2,
                   help="clients sending requests over the limits, which must get a 4xx at once")
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--baseline-seconds", type=float, default=60,
                   help="the chat clients alone first, for the usual time of a normal chat under normal load")
    p.add_argument("--max-requests", type=int, default=2000)
    p.add_argument("--chat-model", default="smollm2-135m-instruct")
    p.add_argument("--one-key", action="store_true", help="every client uses one API key (not told apart)")
    args = p.parse_args()

    def auth(who: str) -> dict[str, str]:
        """The headers of one simulated client (its own key unless --one-key; none against --url)."""
        if args.url:
            return {}
        return {"Authorization": f"Bearer soak-{'shared' if args.one_key else who}"}

    roles = (["admin"] + [f"upload-{i}" for i in range(args.uploads)] + [f"chat-{i}" for i in range(args.chat_clients)]
             + [f"drop-{i}" for i in range(args.disconnecting_clients)]
             + [f"big-{i}" for i in range(args.oversized_clients)])

    from tests.media import TWO_SCENES, make_video

    tmp = Path(tempfile.mkdtemp(prefix="clipcite-soak-"))
    proc = None
    url = args.url
    if not url:
        keys = sorted({auth(r)["Authorization"][7:] for r in roles})
        proc, url = start_server(tmp / "data", {"CLIPCITE_CHAT_MODEL": args.chat_model,
                                                "CLIPCITE_MAX_ANSWER_TOKENS": "32",
                                                "CLIPCITE_API_KEYS": json.dumps(keys)})
    video = tmp / "soak.mp4"
    make_video(video, TWO_SCENES)
    client = httpx.Client(base_url=f"{url}/v1", timeout=300, headers=auth("admin"))
    coll = client.post("/collections", json={"name": "soak"}).json()["id"]
    ask = {"model": "nimbus-001", "collections": [coll],
           "messages": [{"role": "user", "content": "What is the badge code?"}]}
    # Warm-up: one video indexed (every ingest model loaded) before the usual time of a normal request is
    # taken on it, alone (the chat model loaded by the first); RSS growth counts from there.
    with open(video, "rb") as fh:
        first = client.post("/files", files={"file": ("soak_warmup.mp4", fh, "video/mp4")}).json()["id"]
    client.post(f"/collections/{coll}/media", json={"file_id": first}).raise_for_status()
    ready_by = time.time() + 300
    while time.time() < ready_by and client.get(f"/collections/{coll}/videos").json()["data"][0]["status"] \
            not in ("completed", "failed"):
        time.sleep(1)
    baseline: list[float] = []
    for _ in range(4):
        t0 = time.perf_counter()
        client.post("/chat/completions", json=ask)
        baseline.append(time.perf_counter() - t0)
    usual = statistics.median(baseline[1:])
    rss_start = rss_kb(proc.pid) if proc else 0
    states_start = prompt_state_bytes(client, url)
    lat: dict[str, list[float]] = {"upload": [], "chat": [], "dropped_stream": [], "oversized": [],
                                   "long_history": [], "chat_normal_load": []}
    errors: list[str] = []
    parts: dict[str, list[dict[str, float]]] = {}  # Server-Timing of each normal chat, per phase
    served = {"n": 0}
    lock = threading.Lock()
    deadline = 0.0  # when the mix ends: set as it starts, after the normal-load phase

    def record(kind: str, t0: float, resp: httpx.Response | None, err: str | None = None) -> None:
        with lock:
            served["n"] += 1
            if err or resp is None or resp.status_code >= 500 and resp.status_code != 503:
                errors.append(err or f"{kind} {resp.status_code}: {resp.text[:200]}")
            else:
                lat[kind].append(time.perf_counter() - t0)

    def uploader(i: int) -> None:
        with httpx.Client(base_url=f"{url}/v1", timeout=300, headers=auth(f"upload-{i}")) as c:
            t0 = time.perf_counter()
            try:
                with open(video, "rb") as fh:
                    r = c.post("/files", files={"file": (f"soak_{i}.mp4", fh, "video/mp4")})
                fid = r.json()["id"]
                c.post(f"/collections/{coll}/media", json={"file_id": fid}).raise_for_status()
                record("upload", t0, r)
            except Exception as exc:  # noqa: BLE001 - counted, reported
                record("upload", t0, None, f"upload: {exc}")

    def chatter(i: int, until: float | None = None, kind: str = "chat") -> None:
        with httpx.Client(base_url=f"{url}/v1", timeout=300, headers=auth(f"chat-{i}")) as c:
            while time.time() < (until or deadline) and served["n"] < args.max_requests:
                t0 = time.perf_counter()
                try:
                    r = c.post("/chat/completions", json={"model": "nimbus-001", "collections": [coll],
                                                          "messages": [{"role": "user",
                                                                        "content": f"What is the badge code? ({i})"}]})
                    if r.status_code == 503:  # overloaded: wait our turn as told
                        time.sleep(float(r.headers.get("Retry-After", "1")))
                        continue
                    record(kind, t0, r)
                    with lock:
                        parts.setdefault(kind, []).append(server_timing(r))
                except Exception as exc:  # noqa: BLE001
                    record(kind, t0, None, f"chat: {exc}")

    def dropper(i: int) -> None:
        rng = random.Random(i)
        body = {"model": "nimbus-001", "collections": [coll], "stream": True,
                "messages": [{"role": "user", "content": f"Describe everything said in the video. ({i})"}]}
        while time.time() < deadline and served["n"] < args.max_requests:
            t0 = time.perf_counter()
            hang_up_after = rng.randint(0, 6)  # 0: before reading any chunk
            try:
                with httpx.Client(base_url=f"{url}/v1", timeout=300, headers=auth(f"drop-{i}")) as c, \
                        c.stream("POST", "/chat/completions", json=body) as r:
                    if r.status_code == 503:
                        time.sleep(float(r.headers.get("Retry-After", "1")))
                        continue
                    for n, _ in enumerate(r.iter_lines()):
                        if n >= hang_up_after:
                            break
                    record("dropped_stream", t0, r)
            except Exception as exc:  # noqa: BLE001
                record("dropped_stream", t0, None, f"stream: {exc}")

    def oversized(i: int) -> None:
        """Requests no server may take in whole: each is refused with a 4xx at once, except a long
        conversation, which may be answered from its latest turns (history is trimmed to fit)."""
        big = "word " * 200_000
        history = [{"role": "user" if k % 2 == 0 else "assistant", "content": "filler " * 1500} for k in range(299)]
        cases = [  # (body, may be answered)
            ({"messages": [{"role": "user", "content": big * 5}]}, False),  # over the body cap: 413
            ({"messages": [{"role": "user", "content": big}]}, False),  # far over the context: 400
            ({"messages": [*history, {"role": "user", "content": "What is the badge code?"}]}, True),
        ]
        with httpx.Client(base_url=f"{url}/v1", timeout=300, headers=auth(f"big-{i}")) as c:
            n = i
            while time.time() < deadline and served["n"] < args.max_requests:
                body, may_answer = cases[n % len(cases)]
                n += 1
                t0 = time.perf_counter()
                try:
                    r = c.post("/chat/completions", json={"model": "nimbus-001", "collections": [coll], **body})
                    if r.status_code >= 500 or (r.status_code < 400 and not may_answer):
                        record("oversized", t0, None, f"oversized got {r.status_code}: {r.text[:120]}")
                    else:  # a conversation answered from its latest turns waits its turn like any chat
                        record("long_history" if r.status_code < 400 else "oversized", t0, r)
                except Exception as exc:  # noqa: BLE001
                    record("oversized", t0, None, f"oversized: {exc}")
                time.sleep(0.5)

    # The same chat clients alone: the usual time of a normal chat under normal load, against which the
    # abusive clients' effect is judged (alone, one model serving N clients in turn is N times slower).
    until = time.time() + args.baseline_seconds
    normal = [threading.Thread(target=chatter, args=(i, until, "chat_normal_load")) for i in range(args.chat_clients)]
    for t in normal:
        t.start()
    for t in normal:
        t.join(args.baseline_seconds + 300)
    usual_loaded = statistics.median(lat["chat_normal_load"]) if lat["chat_normal_load"] else usual
    deadline = time.time() + args.seconds
    threads = [threading.Thread(target=uploader, args=(i,)) for i in range(args.uploads)]
    threads += [threading.Thread(target=oversized, args=(i,)) for i in range(args.oversized_clients)]
    threads += [threading.Thread(target=chatter, args=(i,)) for i in range(args.chat_clients)]
    threads += [threading.Thread(target=dropper, args=(i,)) for i in range(args.disconnecting_clients)]
    t_start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 600)
    # Let ingest finish (bounded) so the RSS figure includes it.
    end_wait = time.time() + 300
    while time.time() < end_wait:
        vids = client.get(f"/collections/{coll}/videos").json()["data"]
        if all(v["status"] in ("completed", "failed") for v in vids):
            break
        time.sleep(1)
    wedged = wedged_slots(client, url)
    t0 = time.perf_counter()
    after = client.post("/chat/completions", json={"model": "nimbus-001", "collections": [coll],
                                                   "messages": [{"role": "user",
                                                                 "content": "What is the badge code?"}]})
    after_s = round(time.perf_counter() - t0, 3)
    if after.status_code != 200:
        errors.append(f"request after the soak: {after.status_code} {after.text[:200]}")
    report = {
        "wall_s": round(time.time() - t_start, 1), "requests_served": served["n"], "errors": len(errors),
        "wedged_slots": wedged, "request_after_soak_s": after_s,
        "dropped_stream": {"n": len(lat["dropped_stream"]), "p50_s": pct(lat["dropped_stream"], 0.5),
                           "p99_s": pct(lat["dropped_stream"], 0.99)},
        "oversized": {"n": len(lat["oversized"]), "p50_s": pct(lat["oversized"], 0.5),
                      "p99_s": pct(lat["oversized"], 0.99)},
        "error_samples": errors[:5],
        "upload": {"n": len(lat["upload"]), "p50_s": pct(lat["upload"], 0.5), "p99_s": pct(lat["upload"], 0.99)},
        "long_history": {"n": len(lat["long_history"]), "p50_s": pct(lat["long_history"], 0.5)},
        "normal_alone_s": round(usual, 3),
        "normal_under_normal_load": {"n": len(lat["chat_normal_load"]), "p50_s": round(usual_loaded, 3),
                                     "p90_s": pct(lat["chat_normal_load"], 0.9)},
        "chat_p50_over_alone": round((pct(lat["chat"], 0.5) or 0) / max(usual, 1e-3), 2),
        "chat_over_3x_alone": sum(t > 3 * usual for t in lat["chat"]),
        "chat_p50_over_normal_load": round((pct(lat["chat"], 0.5) or 0) / max(usual_loaded, 1e-3), 2),
        "chat_over_3x_normal_load": sum(t > 3 * usual_loaded for t in lat["chat"]),
        "chat": {"n": len(lat["chat"]), "p50_s": pct(lat["chat"], 0.5), "p99_s": pct(lat["chat"], 0.99),
                 "mean_s": round(statistics.mean(lat["chat"]), 3) if lat["chat"] else None},
        "chat_server_timing_p50_s": {kind: {name: pct([t.get(name, 0.0) for t in rows], 0.5)
                                            for name in dict.fromkeys(n for t in rows for n in t)}
                                     for kind, rows in parts.items()},
        "model_answers": model_answers(client, url),
        "ingest_failed": sum(v["status"] == "failed" for v in client.get(f"/collections/{coll}/videos").json()["data"]),
    }
    if proc:
        report["rss_start_mb"] = round(rss_start / 1024, 1)
        report["rss_end_mb"] = round(rss_kb(proc.pid) / 1024, 1)
        report["rss_growth_mb"] = round(report["rss_end_mb"] - report["rss_start_mb"], 1)
        report["rss_growth_after_warmup_pct"] = round(100 * report["rss_growth_mb"]
                                                      / max(report["rss_start_mb"], 1), 1)
        # Saved prompt states are bounded by their budget (CLIPCITE_PROMPT_CACHE_MB): reported apart, so
        # the growth left is what no budget bounds.
        states_mb = (prompt_state_bytes(client, url) - states_start) / 2**20
        report["prompt_states_growth_mb"] = round(states_mb, 1)
        report["rss_growth_besides_prompt_states_pct"] = round(
            100 * (report["rss_growth_mb"] - states_mb) / max(report["rss_start_mb"], 1), 1)
        proc.terminate()
        proc.wait(30)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    grew = report.get("rss_growth_besides_prompt_states_pct", 0) >= 10
    return 1 if errors or wedged or grew or report["chat_over_3x_normal_load"] else 0


def prompt_state_bytes(client: httpx.Client, url: str) -> float:
    """The bytes of saved prompt states the server reports at /metrics (0 when it reports none)."""
    text = client.get(f"{url}/metrics").text
    for line in text.splitlines():
        if line.startswith('clipcite_prompt_states{what="bytes"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def model_answers(client: httpx.Client, url: str) -> dict[str, float]:
    """Requests the model worked for, by outcome (read / abandoned), as the server counted them."""
    out = {}
    for line in client.get(f"{url}/metrics").text.splitlines():
        if line.startswith("clipcite_model_answers_total{"):
            out[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
    return out


def server_timing(resp: httpx.Response) -> dict[str, float]:
    """Where the server says a reply's time went (`Server-Timing`: wait for the model, retrieve, ...), s."""
    out: dict[str, float] = {}
    for part in resp.headers.get("server-timing", "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name and dur:
            out[name] = float(dur) / 1000
    return out


def wedged_slots(client: httpx.Client, url: str, settle_s: float = 30.0) -> int:
    """Model slots still held and requests still admitted once every client is gone (after a short
    settle: a stream's thread stops before its next token)."""
    deadline = time.time() + settle_s
    while True:
        text = client.get(f"{url}/metrics", timeout=30).text
        vals = {ln.split()[0]: float(ln.split()[1]) for ln in text.splitlines()
                if ln.startswith(("clipcite_model_slots_busy ", "clipcite_chat_in_flight "))}
        held = int(vals.get("clipcite_model_slots_busy", 0) + vals.get("clipcite_chat_in_flight", 0))
        if held == 0 or time.time() > deadline:
            return held
        time.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(main())
