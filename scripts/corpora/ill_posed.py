#!/usr/bin/env python3
"""Which answerable questions of a generated corpus are ill-posed, and how the false-refusal rate reads
without them.

    python scripts/corpora/ill_posed.py eval-out/run.json '/path/spec{seed}.json'

`{seed}` is each corpus directory's name without "seed" (seed1006 -> spec1006.json). A question is ill-posed
when the name it asks about (the first run of capitalised words after its first word: "Where will
<Harrow Freight> open ...") appears nowhere in the video that holds its answer: not in the file name, the
metadata, nor any line said or shown (the spec's script, not the recogniser's transcript). The generator
writes such questions for screen-only notices ("Next office: Oslo") with an organisation slot filled at
random; refusing them is right, and the eval counts the refusal as false. Reading only the per-corpus
counts keeps unseen corpora unseen.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", " ", text.lower())


def ill_posed(spec: dict, question: dict) -> bool:
    if not question.get("scene"):
        return False
    runs = [r.strip() for r in re.findall(r"(?<!^)(?:[A-Z][a-z]+ ?)+", question["q"]) if r.strip()]
    if not runs:
        return False
    for video in spec["videos"]:
        if any(s["id"] == question["scene"] for s in video["scenes"]):
            blob = " ".join([video["file"].replace("_", " "), json.dumps(video.get("metadata", {}))]
                            + [f"{s.get('say') or ''} {s.get('text') or ''}" for s in video["scenes"]])
            return _norm(runs[0]) not in _norm(blob)
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    report = json.loads(Path(argv[0]).read_text())
    out = ["| corpus | answerable | ill-posed (refused) | false refusals | without ill-posed |",
           "|---|---|---|---|---|"]
    for corpus in report["corpora"]:
        name = corpus["corpus"].rstrip("/").split("/")[-1]
        spec_path = Path(argv[1].format(seed=name.replace("seed", "")))
        if not name.startswith("seed") or not spec_path.exists():
            continue
        spec = json.loads(spec_path.read_text())
        by_text = {q["q"]: q for q in spec["questions"]}
        rows = [r for r in corpus["rows"] if "false_refusal" in r and r["q"] in by_text]
        bad = [r for r in rows if ill_posed(spec, by_text[r["q"]])]
        good = [r for r in rows if r not in bad]
        refused = sum(bool(r["false_refusal"]) for r in rows)
        refused_good = sum(bool(r["false_refusal"]) for r in good)
        out.append(f"| {name} | {len(rows)} | {len(bad)} ({sum(bool(r['false_refusal']) for r in bad)}) "
                   f"| {refused / max(len(rows), 1):.0%} | {refused_good / max(len(good), 1):.0%} (n={len(good)}) |")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
