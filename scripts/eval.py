#!/usr/bin/env python3
"""Evaluate Clipcite on a corpus with known answers, entirely through the HTTP API.

    python scripts/eval.py ../shared/corpus/dev                 # starts its own server (temp data dir)
    python scripts/eval.py CORPUS --url http://127.0.0.1:8000   # against a running server
    python scripts/eval.py CORPUS_A CORPUS_B ...                # several corpora, side by side

CORPUS holds the videos and `truth.json` (videos with metadata and scene windows; questions with the
scene that answers them or null for a refusal, expected keywords and optional Cloudglue filters).
Prints citation hit rate, answer accuracy, refusal accuracy, filter accuracy and ingest speed, and
writes every answer to --out for inspection. Nothing here knows any corpus's content.

With several corpora, each is ingested into its own collection on the same server (one after another, so
ingest speeds do not mix) and gets the same report as alone; the diarization check, a property of the
server, runs once. A markdown table then sets the headline rates side by side, and --out holds
{"corpora": [report, ...], "diarization": ..., "table": ...}. A video's `file` may sit in a subfolder of
its corpus (so that two files can share a name); it is uploaded under its base name.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("eval")

REFUSAL_RE = re.compile(r"(do(?:es)? not contain|don't contain|not (?:mentioned|provided|stated|available|specified)|"
                        r"no information|cannot (?:find|answer|determine)|can't|unable to|"
                        r"not (?:in|found in) the|"
                        # the same in the other languages questions are asked in (es, de, fr, it, pt, zh, ja)
                        r"no contiene|no se (?:menciona|indica)|enthalten? (?:diese|keine)|nicht (?:erwähnt|enthalten)|"
                        r"ne contiennent pas|ne contient pas|n'est pas (?:mentionné|indiqué)|non contengono|"
                        r"não contêm|没有|未提及|不包含|含まれていません)", re.I)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "--log-level", "WARNING", "serve", "--port",
                             str(port), "--data-dir", str(data_dir)], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("server exited during start-up")
        time.sleep(0.5)
    raise SystemExit("server did not start")


def metadata_matches(meta: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    """Client-side check of the metadata part of a Cloudglue filter, to score filter accuracy."""
    for c in (flt or {}).get("metadata", []):
        value = meta
        for part in c["path"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        op, text, arr = c["operator"], c.get("valueText"), c.get("valueTextArray") or []
        vals = value if isinstance(value, list) else [value]
        svals = [str(v) for v in vals if v is not None]
        ok = {
            "Equal": str(text) in svals, "NotEqual": str(text) not in svals,
            "In": any(v in (arr or str(text).split(",")) for v in svals),
            "ContainsAny": any(a in svals for a in arr), "ContainsAll": all(a in svals for a in arr),
        }.get(op, True)
        if not ok:
            return False
    return True


MODALITY_SETS = {"fused": None, "general_content": ["general_content"], "speech_lexical": ["speech_lexical"],
                 "ocr_lexical": ["ocr_lexical"]}


def retrieval_recall(client: httpx.Client, collection: str, truth: dict[str, Any], by_id: dict[str, Any],
                     scene_index: dict[str, tuple[str, float, float]],
                     ks: tuple[int, ...] = (1, 3, 5)) -> dict[str, Any]:
    """Recall@k of the right scene for retrieval alone (POST /v1/search), per search modality, split into
    facts (questions with expected words) and picture-only moments (no expected words)."""
    out: dict[str, Any] = {}
    langs = video_languages(truth)
    by_pair: dict[str, dict[str, list[int | None]]] = {}
    for name, modalities in MODALITY_SETS.items():
        ranks: dict[str, list[int | None]] = {"facts": [], "picture": []}
        for q in truth["questions"]:
            if not q.get("scene"):
                continue
            body: dict[str, Any] = {"collections": [collection], "query": q["q"], "scope": "segment",
                                    "limit": max(ks)}
            if modalities:
                body["search_modalities"] = modalities
            if q.get("filter"):
                body["filter"] = q["filter"]
            r = client.post("/search", json=body)
            r.raise_for_status()
            file, start, end = scene_index[q["scene"]]
            rank = next((i + 1 for i, h in enumerate(r.json()["results"])
                         if by_id.get(h["file_id"], {}).get("file") == file and h["start_time"] < end
                         and h["end_time"] > start), None)
            ranks["facts" if q.get("any") else "picture"].append(rank)
            if q.get("lang") and q.get("any"):
                pair = f"{langs.get(file) or '-'}<-{q['lang']}"
                by_pair.setdefault(name, {}).setdefault(pair, []).append(rank)
        out[name] = {kind: _recall(rs, ks) for kind, rs in ranks.items()}
    if by_pair:  # facts per (video language <- question language), e.g. "es<-en"
        out["by_language"] = {name: {pair: _recall(rs, ks) for pair, rs in sorted(pairs.items())}
                              for name, pairs in by_pair.items()}
    return out


def _screen_key(text: str) -> str:
    """A screen line as compared: case, width forms and spacing aside (OCR spaces `a=b` and `a = b` alike)."""
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


def screen_recall(client: httpx.Client, collection: str, truth: dict[str, Any],
                  files: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Of the distinct on-screen lines a corpus shows (`screen_lines` in its truth: a screen corpus from
    scripts/corpora/screens.py), the share found in the media description's scene text with the same text
    and an interval overlapping the truth, and the share whose interval is within 1 s of the truth's."""
    truth_lines = [(v["file"], ln) for v in truth["videos"] for ln in v.get("screen_lines") or []]
    if not truth_lines:
        return None
    read: dict[str, list[tuple[str, float, float]]] = {}
    for video in truth["videos"]:
        fid = files[video["file"]]["id"]
        md = client.get(f"/collections/{collection}/videos/{fid}/media-descriptions").json()
        read[video["file"]] = [(_screen_key(p["text"]), p["start_time"], p["end_time"])
                               for p in md.get("scene_text") or []]
    found = timed = 0
    missed = []
    for file, ln in truth_lines:
        key = _screen_key(ln["text"])
        hits = [(a, b) for text, a, b in read[file] if text == key and a < ln["end"] and b > ln["start"]]
        found += bool(hits)
        timed += any(abs(a - ln["start"]) <= 1 and abs(b - ln["end"]) <= 1 for a, b in hits)
        if not hits:
            missed.append(ln["text"])
    n = len(truth_lines)
    return {"recall": round(found / n, 3), "timed_within_1s": round(timed / n, 3), "n": n, "missed": missed[:20]}


def _recall(ranks: list[int | None], ks: tuple[int, ...]) -> dict[str, Any]:
    return {f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / len(ranks), 3) if ranks else None
            for k in ks} | {"n": len(ranks)}


def diarization_check(client: httpx.Client, workdir: Path) -> dict[str, Any]:
    """Two real recorded voices alternating (festival kal / slt): diarization error rate after the best
    label mapping, and the speaker stage's share of that file's ingest time."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ingest.stages.speech.speakers import diarization_error_rate
    from tests.media import TWO_VOICES, festival_available, make_video, speech_windows

    if not festival_available():
        return {"skipped": "festival voices not installed"}
    video = workdir / "two_voices.mp4"
    truth = speech_windows(TWO_VOICES, make_video(video, TWO_VOICES))
    with open(video, "rb") as fh:
        f = client.post("/files", files={"file": ("two_voices.mp4", fh, "video/mp4")}).json()
    coll = client.post("/collections", json={"name": "diarization-check"}).json()
    client.post(f"/collections/{coll['id']}/media", json={"file_id": f["id"]}).raise_for_status()
    for _ in range(600):
        st = client.get(f"/collections/{coll['id']}/videos/{f['id']}").json()
        if st["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    if st["status"] != "completed":
        return {"error": st.get("error", st["status"])}
    md = client.get(f"/collections/{coll['id']}/videos/{f['id']}/media-descriptions").json()
    hyp = list(dict.fromkeys((p["start_time"], p["end_time"], p.get("speaker")) for p in md["speech"]))
    timings = st.get("processing_seconds", {})
    return {"der": round(diarization_error_rate(truth, hyp), 3), "speakers_found": len({h[2] for h in hyp if h[2]}),
            "speakers_true": len({t[2] for t in truth}),
            "speaker_stage_share_of_ingest": round(timings.get("speakers", 0) / timings["total"], 3)
            if timings.get("total") else None}


FOLLOW_UP = "When is that mentioned in the video?"
CHAPTER_RE = re.compile(r"^- \[(\d+):(\d+)[–-](\d+):(\d+)\] (.*)$", re.M)


def multi_turn(client: httpx.Client, collection: str, truth: dict[str, Any], rows: list[dict[str, Any]],
               scene_index: dict[str, Any], by_id: dict[str, Any], limit: int) -> dict[str, Any]:
    """A pronoun follow-up after each answered question must cite the same scene: the history has to
    steer retrieval (the follow-up alone names nothing)."""
    hits = []
    for q, row in zip(truth["questions"], rows, strict=False):
        if len(hits) >= limit or not q.get("scene") or q.get("filter"):
            continue
        body = {"model": "nimbus-001", "collections": [collection], "messages": [
            {"role": "user", "content": q["q"]}, {"role": "assistant", "content": row["answer"]},
            {"role": "user", "content": FOLLOW_UP}]}
        r = client.post("/chat/completions", json=body)
        r.raise_for_status()
        cites = r.json()["choices"][0].get("citations") or []
        file, start, end = scene_index[q["scene"]]
        hits.append(any(by_id.get(c["file_id"], {}).get("file") == file and c["start_time"] < end
                        and c["end_time"] > start for c in cites))
    return {"follow_up": FOLLOW_UP, "cite_hit": round(sum(hits) / len(hits), 3) if hits else None, "n": len(hits)}


def summary_check(client: httpx.Client, collection: str, truth: dict[str, Any], files: dict[str, Any],
                  limit: int) -> dict[str, Any]:
    """Summaries of videos with known facts: how many facts they mention, and whether the chapter line that
    mentions a fact is timed inside that fact's scene."""
    scenes = {s["scene"]: (v["file"], s["start"], s["end"]) for v in truth["videos"] for s in v["scenes"]}
    facts: dict[str, list[tuple[list[str], float, float]]] = {}
    for q in truth["questions"]:
        if q.get("scene") and q.get("any"):
            file, start, end = scenes[q["scene"]]
            facts.setdefault(file, []).append((q["any"], start, end))
    out, mentioned, timed, total, seconds = [], 0, 0, 0, []
    for file in sorted(facts, key=lambda f: -len(facts[f]))[:limit]:
        t = time.perf_counter()
        r = client.post("/chat/completions", json={"model": "nimbus-001", "collections": [collection],
                                                   "video_id": files[file]["id"],
                                                   "messages": [{"role": "user", "content": "Summarize this video."}]})
        r.raise_for_status()
        seconds.append(time.perf_counter() - t)
        text = r.json()["choices"][0]["message"]["content"] or ""
        chapters = [(int(a) * 60 + int(b), int(c) * 60 + int(d), line.lower())
                    for a, b, c, d, line in CHAPTER_RE.findall(text)]
        for keys, start, end in facts[file]:
            total += 1
            if any(k.lower() in text.lower() for k in keys):
                mentioned += 1
                timed += any(any(k.lower() in line for k in keys) and cs < end + 1 and ce > start - 1
                             for cs, ce, line in chapters)
        out.append({"file": file, "summary": text, "chapters": len(chapters)})
    return {"videos": len(out), "facts": total, "fact_recall": round(mentioned / total, 3) if total else None,
            "mentioned_facts_timed_in_scene": round(timed / mentioned, 3) if mentioned else None,
            "mean_seconds": round(sum(seconds) / len(seconds), 1) if seconds else None, "summaries": out}


@dataclass
class IngestRun:
    """One corpus uploaded and indexed: its collection, files, seconds of video, failures and timing."""

    collection: dict[str, Any]
    files: dict[str, dict[str, Any]]
    video_seconds: float
    failed: list[Any]
    done_at: dict[str, tuple[float, float]] = field(default_factory=dict)  # file id -> (finished at, seconds)

    def warm_speed(self) -> float | None:
        """Real-time factor once the first file is done: the files after it over the time they took. The
        first file pays every model's load (Whisper, OCR, the detectors, speaker embeddings: seconds each
        that a running server pays once); one worker takes jobs in order, so the rest is steady state."""
        if len(self.done_at) < 2:
            return None
        order = sorted(self.done_at.values())
        span = order[-1][0] - order[0][0]
        return round(sum(sec for _, sec in order[1:]) / span, 2) if span > 0 else None


def ingest_corpus(client: httpx.Client, corpus: Path, truth: dict[str, Any], args: argparse.Namespace) -> IngestRun:
    """Upload every video of the corpus into a new collection and wait until each is indexed or failed."""
    coll = client.post("/collections", json={"name": f"eval-{corpus.name}", "collection_type": "media-descriptions",
                                             **({"default_segmentation_config": json.loads(args.segmentation)}
                                                if args.segmentation else {})}).json()
    files: dict[str, dict[str, Any]] = {}
    total_seconds = 0.0
    for video in truth["videos"]:
        with open(corpus / video["file"], "rb") as fh:
            resp = client.post("/files", files={"file": (Path(video["file"]).name, fh, "video/mp4")},
                               data={"metadata": json.dumps(video.get("metadata", {}))})
        resp.raise_for_status()
        f = resp.json()
        files[video["file"]] = {"id": f["id"], "video": video}
        total_seconds += float(video.get("duration") or (f.get("video_info") or {}).get("duration_seconds") or 0)
        client.post(f"/collections/{coll['id']}/media", json={"file_id": f["id"]}).raise_for_status()
    run = IngestRun(coll, files, total_seconds, [])
    seconds = {v["id"]: float(v["video"].get("duration") or 0) for v in files.values()}
    pending = set(seconds)
    while pending:
        time.sleep(0.25)
        for fid in list(pending):
            st = client.get(f"/collections/{coll['id']}/videos/{fid}").json()
            if st["status"] in ("completed", "failed"):
                pending.discard(fid)
                run.done_at[fid] = (time.perf_counter(), seconds[fid])
                if st["status"] == "failed":
                    run.failed.append((fid, st.get("error")))
    return run


def find_indexed(client: httpx.Client, name: str, truth: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """An earlier run's collection of this corpus with every video indexed (--reuse: chat-side changes are
    measured without re-ingesting). Videos match files by name and metadata (two files may share a name)."""
    for coll in client.get("/collections", params={"limit": 100}).json()["data"]:
        if coll["name"] != name:
            continue
        listed = client.get(f"/collections/{coll['id']}/videos", params={"limit": 100}).json()["data"]
        files: dict[str, dict[str, Any]] = {}
        for video in truth["videos"]:
            for f in listed:
                info = f.get("file") or {}
                if f.get("status") == "completed" and info.get("filename") == Path(video["file"]).name \
                        and (info.get("metadata") or {}) == video.get("metadata", {}) \
                        and f["file_id"] not in {v["id"] for v in files.values()}:
                    files[video["file"]] = {"id": f["file_id"], "video": video}
                    break
        if len(files) == len(truth["videos"]):
            return coll, files
    return None


def moment_scores(cites: list[dict[str, Any]], by_id: dict[str, Any], file: str, start: float, end: float
                  ) -> dict[str, bool]:
    """The first citation against the fact's scene: moment@1 (it starts inside the scene, 1 s tolerance, and
    at least half of the cited span lies inside it) and R1@0.5 (temporal IoU with the scene >= 0.5)."""
    if not cites or by_id.get(cites[0]["file_id"], {}).get("file") != file:
        return {"moment_ok": False, "r1_iou50": False}
    a, b = cites[0]["start_time"], cites[0]["end_time"]
    inside = max(0.0, min(b, end) - max(a, start))
    union = max(b, end) - min(a, start)
    return {"moment_ok": start - 1 <= a <= end + 1 and inside >= 0.5 * max(b - a, 1e-6),
            "r1_iou50": union > 0 and inside / union >= 0.5}


def evaluate_corpus(client: httpx.Client, corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One corpus in its own collection: the whole report except the diarization check."""
    truth = json.loads((corpus / "truth.json").read_text())
    reused = find_indexed(client, f"eval-{corpus.name}", truth) if args.reuse else None
    t0 = time.perf_counter()
    failed: list[Any] = []
    if reused is not None:
        coll, files = reused
        total_seconds = sum(float(v["video"].get("duration") or 0) for v in files.values())
        log.info("reusing collection %s (%d files already indexed)", coll["id"], len(files))
        warm = None
    else:
        run = ingest_corpus(client, corpus, truth, args)
        coll, files, total_seconds, failed, warm = (run.collection, run.files, run.video_seconds, run.failed,
                                                    run.warm_speed())
    ingest_wall = 0.0 if reused is not None else time.perf_counter() - t0
    by_id = {v["id"]: v["video"] for v in files.values()}
    scene_index = {s["scene"]: (v["file"], s["start"], s["end"]) for v in truth["videos"] for s in v["scenes"]}

    retrieval = retrieval_recall(client, coll["id"], truth, by_id, scene_index)
    screens = screen_recall(client, coll["id"], truth, files)

    rows = []
    chat_t0 = time.perf_counter()
    video_lang = video_languages(truth)
    for q in [] if args.retrieval_only else truth["questions"]:
        body: dict[str, Any] = {"model": "nimbus-001", "messages": [{"role": "user", "content": q["q"]}],
                                "collections": [coll["id"]]}
        if q.get("filter"):
            body["filter"] = q["filter"]
        t = time.perf_counter()
        r = client.post("/chat/completions", json=body)
        r.raise_for_status()
        out = r.json()
        choice = out["choices"][0]
        answer = choice["message"]["content"] or ""
        cites = choice.get("citations") or []
        row: dict[str, Any] = {"q": q["q"], "answer": answer, "seconds": round(time.perf_counter() - t, 2),
                               "prompt_tokens": out.get("usage", {}).get("prompt_tokens"),
                               "grounding": choice.get("grounding"),
                               "citations": [(by_id.get(c["file_id"], {}).get("file"), c["start_time"],
                                              c["end_time"]) for c in cites]}
        if q.get("lang"):
            row["lang"] = q["lang"]
            row["video_lang"] = video_lang.get(scene_index[q["scene"]][0]) if q.get("scene") else None
        if q.get("scene"):
            file, start, end = scene_index[q["scene"]]
            row["cite_hit"] = any(by_id.get(c["file_id"], {}).get("file") == file and c["start_time"] < end
                                  and c["end_time"] > start for c in cites)
            row.update(moment_scores(cites, by_id, file, start, end))
            if q.get("any"):
                row["answer_ok"] = any(k.lower() in answer.lower() for k in q["any"])
            row["false_refusal"] = bool(REFUSAL_RE.search(answer)) and not cites
        else:
            row["refusal_ok"] = bool(REFUSAL_RE.search(answer)) and not cites
        if q.get("filter"):
            row["filter_ok"] = all(metadata_matches(by_id.get(c["file_id"], {}).get("metadata", {}), q["filter"])
                                   for c in cites) and bool(cites)
        rows.append(row)
        log.info("%s -> %s %s", q["q"], answer[:120], {k: v for k, v in row.items() if k.endswith(("hit", "ok"))})
    chat_wall = time.perf_counter() - chat_t0

    def rate(key: str) -> tuple[float | None, int]:
        vals = [r[key] for r in rows if key in r]
        return (sum(vals) / len(vals) if vals else None), len(vals)

    report: dict[str, Any] = {"corpus": str(corpus), "videos": len(files), "failed_ingests": failed,
                              "video_seconds": round(total_seconds, 1), "ingest_wall_s": round(ingest_wall, 1),
                              "ingest_speed_x": round(total_seconds / ingest_wall, 2) if ingest_wall else None,
                              "ingest_speed_warm_x": warm,
                              "chat_wall_s": round(chat_wall, 1),
                              "mean_chat_s": round(chat_wall / max(1, len(rows)), 2)}
    for key in ("cite_hit", "answer_ok", "refusal_ok", "false_refusal", "filter_ok", "moment_ok", "r1_iou50"):
        value, n = rate(key)
        report[key] = {"rate": None if value is None else round(value, 3), "n": n}
    report["chat_latency_s"] = percentiles([r["seconds"] for r in rows])
    report["prompt_tokens"] = percentiles([r["prompt_tokens"] for r in rows if r.get("prompt_tokens")])
    failed = [(r["grounding"] or {}).get("failed") for r in rows if (r.get("grounding") or {}).get("failed")]
    report["failed_checks"] = {k: failed.count(k) for k in sorted(set(f.split(" is ")[0].split(" (")[0]
                                                                        for f in failed))} if failed else {}
    report["retrieval_recall"] = retrieval
    if screens is not None:
        report["screen_text"] = screens
    if any("lang" in r for r in rows):
        report["by_language"] = by_language(rows)
    if args.multi_turn and not args.retrieval_only:
        report["multi_turn"] = multi_turn(client, coll["id"], truth, rows, scene_index, by_id, args.multi_turn)
        log.info("multi-turn: %s", report["multi_turn"])
    if args.summaries and not args.retrieval_only:
        report["summary"] = summary_check(client, coll["id"], truth, files, args.summaries)
        log.info("summary: %s", {k: v for k, v in report["summary"].items() if k != "summaries"})
    report["rows"] = rows
    return report


def percentiles(values: list[float]) -> dict[str, float] | None:
    """p50 / p90 / mean of a list (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.5), "p90": at(0.9), "mean": round(sum(ordered) / len(ordered), 2)}


def video_languages(truth: dict[str, Any]) -> dict[str, str | None]:
    """Each video's language: the truth's `language` when it has one, else the one non-English language
    its questions are asked in (a multilingual corpus asks each fact in the video's language and in
    English), else English when its questions are all English, else unknown."""
    scene_file = {s["scene"]: v["file"] for v in truth["videos"] for s in v["scenes"]}
    asked: dict[str, set[str]] = {}
    for q in truth["questions"]:
        if q.get("scene") and q.get("lang"):
            asked.setdefault(scene_file[q["scene"]], set()).add(q["lang"])
    out: dict[str, str | None] = {}
    for v in truth["videos"]:
        langs = asked.get(v["file"], set())
        others = langs - {"en"}
        out[v["file"]] = v.get("language") or (others.pop() if len(others) == 1 else ("en" if langs == {"en"}
                                                                                   else None))
    return out


def by_language(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates per (video language, question language): 'es<-en' is a Spanish video asked in English;
    refusals (no scene) are grouped under the question's language alone."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if "lang" in r:
            groups.setdefault(f"{r.get('video_lang') or '-'}<-{r['lang']}", []).append(r)
    out: dict[str, Any] = {}
    for key, rs in sorted(groups.items()):
        out[key] = {"n": len(rs)}
        for m in ("cite_hit", "answer_ok", "refusal_ok", "moment_ok"):
            vals = [r[m] for r in rs if m in r]
            if vals:
                out[key][m] = round(sum(vals) / len(vals), 3)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One corpus: its report, as always. Several: the combined report (see the module docstring)."""
    corpora = [Path(c) for c in args.corpus]
    for corpus in corpora:
        if not (corpus / "truth.json").is_file():
            raise SystemExit(f"{corpus}: no truth.json")
    proc = None
    url = args.url
    if not url:
        data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="clipcite-eval-"))
        env = {}
        if args.chat_model:
            env["CLIPCITE_CHAT_MODEL"] = args.chat_model
        if args.whisper_model:
            env["CLIPCITE_WHISPER_MODEL"] = args.whisper_model
        if args.embed_model:
            env["CLIPCITE_EMBED_MODEL"] = args.embed_model
        proc, url = start_server(data_dir, env)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    client = httpx.Client(base_url=f"{url}/v1", headers=headers, timeout=600)
    try:
        reports = []
        for corpus in corpora:
            log.info("== corpus %s", corpus)
            reports.append(evaluate_corpus(client, corpus, args))
        diarization = None
        if not args.no_diarization:
            diarization = diarization_check(client, Path(tempfile.mkdtemp(prefix="clipcite-diar-")))
    finally:
        client.close()
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    if len(reports) == 1:
        report = reports[0]
        if diarization is not None:  # same key order as ever: diarization just before the rows
            rows = report.pop("rows")
            report["diarization"] = diarization
            report["rows"] = rows
        return report
    combined: dict[str, Any] = {"corpora": reports}
    if diarization is not None:
        combined["diarization"] = diarization
    combined["table"] = comparison_table(reports)
    return combined


def corpus_labels(reports: list[dict[str, Any]]) -> list[str]:
    """Folder names, or the whole paths where two folders share a name."""
    names = [Path(r["corpus"]).name or r["corpus"] for r in reports]
    return [n if names.count(n) == 1 else r["corpus"] for n, r in zip(names, reports, strict=True)]


def comparison_table(reports: list[dict[str, Any]]) -> str:
    """Markdown table: one row per headline measure, one column per corpus."""
    def rate(block: dict[str, Any] | None, key: str = "rate") -> str:
        if not block or block.get(key) is None:
            return "–"
        return f"{block[key]:.0%} (n={block['n']})"

    def recall(r: dict[str, Any]) -> str:
        facts = (r.get("retrieval_recall") or {}).get("fused", {}).get("facts") or {}
        if facts.get("recall@1") is None:
            return "–"
        return f"{facts['recall@1']:.0%} / {facts['recall@5']:.0%} (n={facts['n']})"

    def speed(r: dict[str, Any]) -> str:
        text = "–" if r.get("ingest_speed_x") is None else f"{r['ingest_speed_x']}x realtime"
        if r.get("ingest_speed_warm_x") is not None:
            text += f" ({r['ingest_speed_warm_x']}x after the first file)"
        return text + (f", {len(r['failed_ingests'])} failed" if r.get("failed_ingests") else "")

    rows = [("citation hit", lambda r: rate(r.get("cite_hit"))),
            ("answer accuracy", lambda r: rate(r.get("answer_ok"))),
            ("refusals right", lambda r: rate(r.get("refusal_ok"))),
            ("false refusals (answerable questions refused)", lambda r: rate(r.get("false_refusal"))),
            ("filtered questions right", lambda r: rate(r.get("filter_ok"))),
            ("moment@1 (first citation starts in the scene)", lambda r: rate(r.get("moment_ok"))),
            ("R1@0.5 (first citation's IoU with the scene)", lambda r: rate(r.get("r1_iou50"))),
            ("multi-turn (follow-up cites the scene)", lambda r: rate(r.get("multi_turn"), "cite_hit")),
            ("search recall@1 / @5 (facts, fused)", lambda r: recall(r)),
            ("screen-text recall (timed within 1 s)", lambda r: "–" if not r.get("screen_text") else
             f"{r['screen_text']['recall']:.0%} ({r['screen_text']['timed_within_1s']:.0%}, "
             f"n={r['screen_text']['n']})"),
            ("ingest speed", speed),
            ("chat p50 / p90 s", lambda r: "–" if not r.get("chat_latency_s") else
             f"{r['chat_latency_s']['p50']} / {r['chat_latency_s']['p90']}"),
            ("prompt tokens p50", lambda r: "–" if not r.get("prompt_tokens") else str(r["prompt_tokens"]["p50"]))]
    labels = corpus_labels(reports)
    lines = ["| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    lines += [f"| {name} | " + " | ".join(cell(r) for r in reports) + " |" for name, cell in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus", nargs="+", help="corpus folder(s) holding the videos and truth.json")
    p.add_argument("--url", help="a running server; default: start one on a temp data dir")
    p.add_argument("--data-dir")
    p.add_argument("--api-key")
    p.add_argument("--chat-model")
    p.add_argument("--whisper-model")
    p.add_argument("--embed-model", help="CLIPCITE_EMBED_MODEL for the started server")
    p.add_argument("--retrieval-only", action="store_true", help="search recall only: no chat questions")
    p.add_argument("--reuse", action="store_true",
                   help="reuse an earlier run's fully indexed collection of each corpus (use with --data-dir)")
    p.add_argument("--segmentation", help="default_segmentation_config JSON for the eval collection")
    p.add_argument("--out", default="eval-out/report.json")
    p.add_argument("--no-diarization", action="store_true", help="skip the two-voice diarization check")
    p.add_argument("--multi-turn", type=int, default=6, help="follow-up questions to ask (0: skip)")
    p.add_argument("--summaries", type=int, default=3, help="videos to summarise and check (0: skip)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    if "corpora" not in report:
        summary = {k: v for k, v in report.items() if k != "rows"}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return 0
    for r in report["corpora"]:
        sys.stdout.write(json.dumps({k: v for k, v in r.items() if k != "rows"}, indent=2) + "\n")
    if "diarization" in report:
        sys.stdout.write(json.dumps({"diarization": report["diarization"]}, indent=2) + "\n")
    sys.stdout.write("\n" + report["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
