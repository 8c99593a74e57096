#!/usr/bin/env python3
"""Soak test on loopback: N uploads (each added to a collection) and M concurrent chat clients for a
bounded time against a server this script starts (or --url). Prints requests served, errors, p50/p99
latency per kind and the server's RSS growth. Every loop is bounded in count and time.

    python scripts/soak.py --uploads 4 --chat-clients 8 --seconds 120
"""

from __future__ import annotations

import argparse
import json
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
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--max-requests", type=int, default=2000)
    p.add_argument("--chat-model", default="smollm2-135m-instruct")
    args = p.parse_args()

    from tests.media import TWO_SCENES, make_video

    tmp = Path(tempfile.mkdtemp(prefix="clipcite-soak-"))
    proc = None
    url = args.url
    if not url:
        proc, url = start_server(tmp / "data", {"CLIPCITE_CHAT_MODEL": args.chat_model, "CLIPCITE_MAX_ANSWER_TOKENS": "32"})
    video = tmp / "soak.mp4"
    make_video(video, TWO_SCENES)
    client = httpx.Client(base_url=f"{url}/v1", timeout=300)
    coll = client.post("/collections", json={"name": "soak"}).json()["id"]
    rss_start = rss_kb(proc.pid) if proc else 0
    lat: dict[str, list[float]] = {"upload": [], "chat": []}
    errors: list[str] = []
    served = {"n": 0}
    lock = threading.Lock()
    deadline = time.time() + args.seconds

    warm = {"rss": 0}

    def record(kind: str, t0: float, resp: httpx.Response | None, err: str | None = None) -> None:
        with lock:
            served["n"] += 1
            if proc and kind == "chat" and not warm["rss"]:
                warm["rss"] = rss_kb(proc.pid)  # models are loaded lazily: growth before this is loading
            if err or resp is None or resp.status_code >= 500 and resp.status_code != 503:
                errors.append(err or f"{kind} {resp.status_code}: {resp.text[:200]}")
            else:
                lat[kind].append(time.perf_counter() - t0)

    def uploader(i: int) -> None:
        with httpx.Client(base_url=f"{url}/v1", timeout=300) as c:
            t0 = time.perf_counter()
            try:
                with open(video, "rb") as fh:
                    r = c.post("/files", files={"file": (f"soak_{i}.mp4", fh, "video/mp4")})
                fid = r.json()["id"]
                c.post(f"/collections/{coll}/media", json={"file_id": fid}).raise_for_status()
                record("upload", t0, r)
            except Exception as exc:  # noqa: BLE001 - counted, reported
                record("upload", t0, None, f"upload: {exc}")

    def chatter(i: int) -> None:
        with httpx.Client(base_url=f"{url}/v1", timeout=300) as c:
            while time.time() < deadline and served["n"] < args.max_requests:
                t0 = time.perf_counter()
                try:
                    r = c.post("/chat/completions", json={"model": "nimbus-001", "collections": [coll],
                                                          "messages": [{"role": "user",
                                                                        "content": f"What is the badge code? ({i})"}]})
                    if r.status_code == 503:  # overloaded: wait our turn as told
                        time.sleep(float(r.headers.get("Retry-After", "1")))
                        continue
                    record("chat", t0, r)
                except Exception as exc:  # noqa: BLE001
                    record("chat", t0, None, f"chat: {exc}")

    threads = [threading.Thread(target=uploader, args=(i,)) for i in range(args.uploads)]
    threads += [threading.Thread(target=chatter, args=(i,)) for i in range(args.chat_clients)]
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
    report = {
        "wall_s": round(time.time() - t_start, 1), "requests_served": served["n"], "errors": len(errors),
        "error_samples": errors[:5],
        "upload": {"n": len(lat["upload"]), "p50_s": pct(lat["upload"], 0.5), "p99_s": pct(lat["upload"], 0.99)},
        "chat": {"n": len(lat["chat"]), "p50_s": pct(lat["chat"], 0.5), "p99_s": pct(lat["chat"], 0.99),
                 "mean_s": round(statistics.mean(lat["chat"]), 3) if lat["chat"] else None},
        "ingest_failed": sum(v["status"] == "failed" for v in client.get(f"/collections/{coll}/videos").json()["data"]),
    }
    if proc:
        report["rss_start_mb"] = round(rss_start / 1024, 1)
        report["rss_end_mb"] = round(rss_kb(proc.pid) / 1024, 1)
        report["rss_growth_mb"] = round(report["rss_end_mb"] - report["rss_start_mb"], 1)
        report["rss_after_first_chat_mb"] = round(warm["rss"] / 1024, 1)
        report["rss_growth_after_warmup_mb"] = round(report["rss_end_mb"] - warm["rss"] / 1024, 1)
        proc.terminate()
        proc.wait(30)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
