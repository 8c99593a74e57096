#!/usr/bin/env python3
"""Measure the job APIs against a corpus's truth, through the official `cloudglue` SDK:

- narrative segmentation: the share of chapter boundaries within 2 s of a real scene cut;
- extract (segment level, a generic facts schema): entities valid for the schema, and for each
  answerable question whose expected answer appears in some segment's entities, whether that segment
  overlaps the question's scene;
- find_moments: one run per answerable question ("moments that answer: <question>"); precision = the
  accepted moments overlapping the question's scene, recall = questions with such a moment.

    python scripts/eval_api.py ../shared/corpus/dev [--videos lab_onboarding.mp4 ...] [--out report.json]

It starts its own server (temporary data dir, default models) unless --url is given. Nothing here knows a
corpus's content: the truth file names the scenes and answers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.eval import start_server  # noqa: E402

log = logging.getLogger("eval_api")

FACTS = {"type": "object", "properties": {"facts": {"type": "array", "items": {
    "type": "object", "properties": {"subject": {"type": "string"}, "value": {"type": "string"}},
    "required": ["subject", "value"]}}}, "required": ["facts"]}
FACTS_PROMPT = "Every fact stated: names, numbers, amounts, dates, times, places, codes and rules."


def overlaps(a: float, b: float, window: tuple[float, float]) -> bool:
    return a < window[1] and b > window[0]


def narrative(cg: Any, base: str, file_id: str, scenes: list[dict[str, Any]], as_many: bool = False
              ) -> dict[str, Any]:
    """`as_many`: ask for as many chapters as the video has scenes (every cut must then be found)."""
    import httpx

    body: dict[str, Any] = {"strategy": "narrative"}
    if as_many:
        body["narrative_config"] = {"number_of_chapters": len(scenes)}
    made = httpx.post(f"{base}/files/{file_id}/segmentations", json=body, timeout=60).json()
    seg = cg.segmentations.get(made["segmentation_id"])
    while seg.status not in ("completed", "failed"):
        time.sleep(1)
        seg = cg.segmentations.get(made["segmentation_id"])
    chapters = seg.data.chapters or []
    cuts = [s["start"] for s in scenes[1:]]
    inner = [c.start_time for c in chapters[1:]]
    near = [b for b in inner if cuts and min(abs(b - c) for c in cuts) <= 2.0]
    return {"chapters": len(chapters), "boundaries": len(inner), "within_2s": len(near),
            "descriptions": [c.description for c in chapters]}


def extract(cg: Any, file_uri: str, scenes: dict[str, tuple[float, float]], questions: list[dict[str, Any]]
            ) -> dict[str, Any]:
    job = cg.extract.run(url=file_uri, schema=FACTS, prompt=FACTS_PROMPT, enable_segment_level_entities=True,
                         segmentation_config={"strategy": "shot-detector",
                                              "shot_detector_config": {"detector": "adaptive"}},
                         poll_interval=2, timeout=3600)
    segs = job.data.segment_entities if job.status == "completed" else []
    valid = sum(1 for s in segs if not list(jsonschema.Draft202012Validator(FACTS).iter_errors(s.entities)))
    found = right = 0
    for q in questions:
        terms = [t.lower() for t in q["any"]]
        holders = [s for s in segs if any(t in json.dumps(s.entities).lower() for t in terms)]
        if holders:
            found += 1
            right += any(overlaps(s.start_time, s.end_time, scenes[q["scene"]]) for s in holders)
    return {"status": job.status, "segments": len(segs), "valid": valid, "answers_found": found,
            "in_right_scene": right, "questions": len(questions)}


def moments(cg: Any, file_uri: str, scenes: dict[str, tuple[float, float]], questions: list[dict[str, Any]]
            ) -> dict[str, Any]:
    accepted = hit_moments = recalled = 0
    rows = []
    for q in questions:
        run = cg.find_moments.create(url=file_uri, min_duration_seconds=1,
                                     criterion={"name": "answer", "instructions": f"Moments that answer: {q['q']}"})
        got = cg.find_moments.wait_for_ready(run.job_id, polling_interval=1, max_attempts=3600)
        ms = got.moments or []
        hits = [m for m in ms if overlaps(m.start_time, m.end_time, scenes[q["scene"]])]
        accepted += len(ms)
        hit_moments += len(hits)
        recalled += bool(hits)
        rows.append({"q": q["q"], "moments": [(m.start_time, m.end_time, m.rank_score) for m in ms],
                     "truth": scenes[q["scene"]]})
    return {"questions": len(questions), "moments": accepted, "precision": hit_moments / accepted if accepted else 0.0,
            "recall": recalled / len(questions) if questions else 0.0, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--url", help="a running server (default: start one)")
    ap.add_argument("--videos", nargs="*", help="files of the corpus to measure (default: those with questions)")
    ap.add_argument("--max-questions", type=int, default=4, help="find_moments runs per video")
    ap.add_argument("--measure", nargs="*", choices=["narrative", "extract", "find_moments"],
                    default=["narrative", "extract", "find_moments"], help="what to measure (default: all)")
    ap.add_argument("--scene-chapters", action="store_true",
                    help="narrative: ask for as many chapters as the video has scenes (default: the default count)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from cloudglue import Cloudglue

    truth = json.loads((args.corpus / "truth.json").read_text())
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server(Path(tempfile.mkdtemp(prefix="clipcite-eval-api-")), {})
    cg = Cloudglue(api_key="local", host=f"{url}/v1")
    report: dict[str, Any] = {"videos": {}}
    try:
        for video in truth["videos"]:
            scenes = {s["scene"]: (s["start"], s["end"]) for s in video["scenes"]}
            qs = [q for q in truth["questions"] if q.get("scene") in scenes and q.get("any") and not q.get("filter")]
            if (args.videos and video["file"] not in args.videos) or (not args.videos and not qs):
                continue
            f = cg.files.upload(str(args.corpus / video["file"]), wait_until_finish=True, poll_interval=1)
            t0 = time.perf_counter()
            row: dict[str, Any] = {}
            if "narrative" in args.measure:
                row["narrative"] = narrative(cg, f"{url}/v1", f.id, video["scenes"], args.scene_chapters)
            if "extract" in args.measure:
                row["extract"] = extract(cg, f.uri, scenes, qs)
            if "find_moments" in args.measure:
                row["find_moments"] = moments(cg, f.uri, scenes, qs[:args.max_questions])
            row["seconds"] = round(time.perf_counter() - t0, 1)
            report["videos"][video["file"]] = row
            log.info("%s: %s", video["file"], json.dumps({k: {x: y for x, y in v.items() if x not in ("rows",
                                                          "descriptions")} if isinstance(v, dict) else v
                                                          for k, v in row.items()}))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
    rows = report["videos"].values()
    empty = {"narrative": {"within_2s": 0, "boundaries": 0},
             "extract": {"valid": 0, "segments": 0, "in_right_scene": 0, "answers_found": 0, "questions": 0},
             "find_moments": {"moments": 0, "recall": 0.0, "questions": 0, "precision": 0.0}}
    rows = [{**empty, **r} for r in rows]
    total = {
        "narrative_within_2s": sum(r["narrative"]["within_2s"] for r in rows),
        "narrative_boundaries": sum(r["narrative"]["boundaries"] for r in rows),
        "extract_valid": sum(r["extract"]["valid"] for r in rows),
        "extract_segments": sum(r["extract"]["segments"] for r in rows),
        "extract_in_right_scene": sum(r["extract"]["in_right_scene"] for r in rows),
        "extract_answers_found": sum(r["extract"]["answers_found"] for r in rows),
        "extract_questions": sum(r["extract"]["questions"] for r in rows),
        "moments_accepted": sum(r["find_moments"]["moments"] for r in rows),
        "moments_recall_hits": sum(round(r["find_moments"]["recall"] * r["find_moments"]["questions"]) for r in rows),
        "moments_questions": sum(r["find_moments"]["questions"] for r in rows),
        "moments_precise": sum(round(r["find_moments"]["precision"] * r["find_moments"]["moments"]) for r in rows),
    }
    report["total"] = total
    print(json.dumps(total, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
