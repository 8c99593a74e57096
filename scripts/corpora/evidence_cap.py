#!/usr/bin/env python3
"""How many answerable questions of a corpus could be answered right at all from what was indexed: the
ceiling that recognition (speech and screen text), not answering, puts on the eval's answer rate.

    python scripts/corpora/evidence_cap.py --data-dir DIR CORPUS...

With `--spec`, a question the generator wrote ill-posed is outside it too.
A question counts as answerable from the index when one of its accepted answers (the eval's own test: a
case-insensitive substring, after spoken numbers are joined into digits as the index shows them) appears in
the speech or screen text indexed within its scene's time span (0.5 s of slack each side). When the
recogniser heard "Tromso" as "Dromso" and no slide shows it, no answer layer can write "Tromso" from the
evidence: such a question is outside what answering can fix. Read-only over an index the eval built
(`scripts/eval.py --data-dir DIR`, collections named `eval-<corpus dir>`); stop its server first or pass a
copy. Prints per-corpus counts only, so unseen corpora stay unseen.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.services import build_services  # noqa: E402
from clipcite.settings import Settings  # noqa: E402
from engine.lexical import tidy_numbers  # noqa: E402
from scripts.corpora.ill_posed import ill_posed  # noqa: E402

SLACK_S = 0.5


def scene_text(segments: list, start: float, end: float) -> str:
    """Speech parts and screen lines of one file that overlap [start, end]."""
    out: list[str] = []
    for seg in segments:
        for part in seg.speech:
            if part.start_time < end + SLACK_S and part.end_time > start - SLACK_S:
                out.append(part.text)
        spans = seg.scene_text_spans
        if spans:
            out += [s.text for s in spans if s.start_time < end + SLACK_S and s.end_time > start - SLACK_S]
        elif seg.start_time < end and seg.end_time > start:
            out += seg.scene_text
    return tidy_numbers(" ".join(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--spec", help="generated corpora's specs, '{seed}' for the directory's number "
                    "(seed1006 -> spec1006.json): ill-posed questions (scripts/corpora/ill_posed.py) then count "
                    "outside the ceiling too, since refusing them is right")
    ap.add_argument("corpora", nargs="+", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    svc = build_services(Settings(data_dir=args.data_dir, startup_checks=False, run_worker=False))
    try:
        colls = {c.name: c.id for c in svc.catalog.library.list_collections(limit=1000)[0]}
        report = {}
        all_segments = svc.store.segments(None, limit=1_000_000)
        for corpus in args.corpora:
            truth = json.loads((corpus / "truth.json").read_text())
            cid = colls.get(f"eval-{corpus.name}")
            if cid is None:
                report[corpus.name] = "not indexed"
                continue
            segs: dict[str, list] = {}
            for seg in all_segments:
                if seg.collection_id == cid:
                    segs.setdefault(seg.file_id, []).append(seg)
            files = {svc.catalog.library.get_file(fid).filename: fid for fid in segs}
            scenes = {s["scene"]: (v["file"], s["start"], s["end"]) for v in truth["videos"] for s in v["scenes"]}
            spec_path = Path(args.spec.format(seed=corpus.name.replace("seed", ""))) if args.spec else None
            spec = json.loads(spec_path.read_text()) if spec_path and spec_path.exists() else None
            n = heard = posed = 0
            by_mode: dict[str, list[int]] = {}
            for q in truth["questions"]:
                if not q.get("scene") or not q.get("any") or q.get("mode") == "picture":
                    continue
                name, start, end = scenes[q["scene"]]
                text = scene_text(segs.get(files.get(name, ""), []), start, end).lower()
                ok = any(k.lower() in text for k in q["any"])
                n += 1
                heard += ok
                posed += ok and not (spec and ill_posed(spec, q))
                m = by_mode.setdefault(q.get("mode", "?"), [0, 0])
                m[0] += ok
                m[1] += 1
            report[corpus.name] = {"answerable": n, "in_index": heard, "cap": round(heard / max(n, 1), 3),
                                   **({"cap_well_posed": round(posed / max(n, 1), 3)} if spec else {}),
                                   "by_mode": {k: f"{a}/{b}" for k, (a, b) in by_mode.items()}}
        print(json.dumps(report, indent=1))
    finally:
        svc.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
