#!/usr/bin/env python3
"""Speech recognition alone, per Whisper model and beam size, on corpora whose narration is known.

    python scripts/bench_asr.py [SPEC:VIDEOS_DIR ...] [--real ../shared/corpus/real] [--models tiny.en base]
                                [--beams 1 5]

SPEC is a `make_corpus.py` spec (its scenes' `say` text is the reference), VIDEOS_DIR the built corpus.
For each configuration and corpus it prints:
- key-term recall: of the questions' expected answer words that the narration speaks, the share the
  transcript of that scene holds (the words answers are made of: names, numbers, technical nouns);
- word error rate of the whole transcript against the narration (numbers compared as written, so a
  "22" for "twenty two" counts as errors: read it as a relative figure between configurations);
- speed as real-time factor (audio seconds per wall second, 1 thread as in the default ingest plan).
`--real DIR` adds the real human recordings, scored against the scripts in DIR/README.md (the speakers
departed from them in places, so their WER has a floor above zero), per language; an English-only model
is scored on the English recordings only.
The end-to-end effect (answers) is `scripts/eval.py --whisper-model`; this isolates the recogniser.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger("bench_asr")

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def scene_windows(truth: dict[str, Any]) -> dict[str, tuple[str, float, float]]:
    return {s["scene"]: (v["file"], s["start"], s["end"]) for v in truth["videos"] for s in v["scenes"]}


def run_config(model: str, beam: int, corpora: list[tuple[Path, Path]]) -> list[dict[str, Any]]:
    from clipcite.errors import MediaError
    from clipcite.settings import load_settings
    from ingest.stages.speech.whisper import WhisperTranscriber
    from models.registry import ModelRegistry

    settings = load_settings()
    registry = ModelRegistry(settings.resolved_models_dir)
    asr = WhisperTranscriber(registry.resolve(model, "whisper"), model, threads=1, beam_size=beam)
    asr._load()  # model loading stays out of the timed work
    out = []
    for spec_path, videos in corpora:
        spec = json.loads(spec_path.read_text())
        truth = json.loads((videos / "truth.json").read_text())
        windows = scene_windows(truth)
        says = {sc["id"]: sc.get("say") or "" for v in spec["videos"] for sc in v["scenes"]}
        transcripts: dict[str, list[tuple[float, float, str]]] = {}
        audio = wall = 0.0
        errors = ref_len = 0
        for video in truth["videos"]:
            t0 = time.perf_counter()
            try:
                spans = asr.transcribe(videos / video["file"]).spans
            except MediaError:  # no audio stream (a silent video): nothing to recognise
                transcripts[video["file"]] = []
                continue
            wall += time.perf_counter() - t0
            audio += float(video.get("duration") or 0)
            transcripts[video["file"]] = [(s.start, s.end, s.text) for s in spans]
            ref = words(" ".join(says.get(s["scene"], "") for s in video["scenes"]))
            hyp = words(" ".join(t for _, _, t in transcripts[video["file"]]))
            errors += edit_distance(ref, hyp)
            ref_len += len(ref)
        hits = []
        for q in truth["questions"]:
            if not q.get("scene") or not q.get("any"):
                continue
            say = says.get(q["scene"], "").lower()
            if not any(k.lower() in say for k in q["any"]):
                continue  # the answer is on screen only
            file, start, end = windows[q["scene"]]
            heard = " ".join(t for a, b, t in transcripts[file] if a < end and b > start).lower()
            hits.append(any(k.lower() in heard for k in q["any"]))
        out.append({"corpus": videos.name, "model": model, "beam": beam,
                    "key_term_recall": round(sum(hits) / len(hits), 3) if hits else None, "n": len(hits),
                    "wer": round(errors / max(ref_len, 1), 3), "realtime_x": round(audio / wall, 1) if wall else None})
        log.info("%s", out[-1])
    return out


def real_scripts(real: Path) -> list[tuple[Path, str, str]]:
    """(recording, language code, script) for each README row that gives a script in quotes."""
    rows = []
    for line in (real / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].endswith(".wav") and "machine transcript" not in cells[-1] \
                and (m := re.search(r'"(.+)"', cells[-1])):
            rows.append((real / cells[0], cells[0].split("_")[0], m.group(1)))
    return rows


def run_real(model: str, beam: int, real: Path) -> list[dict[str, Any]]:
    """WER per language on the real recordings (word error against the speakers' scripts)."""
    from clipcite.settings import load_settings
    from ingest.stages.speech.whisper import WhisperTranscriber, decode
    from models.registry import ModelRegistry

    registry = ModelRegistry(load_settings().resolved_models_dir)
    asr = WhisperTranscriber(registry.resolve(model, "whisper"), model, threads=1, beam_size=beam)
    asr._load()
    per: dict[str, list[float]] = {}
    for path, lang, script in real_scripts(real):
        if model.endswith(".en") and lang != "en":
            continue
        audio = decode(path)
        t0 = time.perf_counter()
        spans = asr.transcribe(audio, language=lang).spans
        wall = time.perf_counter() - t0
        ref, hyp = words(script), words(" ".join(s.text for s in spans))
        acc = per.setdefault(lang, [0, 0, 0.0, 0.0])
        acc[0] += edit_distance(ref, hyp)
        acc[1] += len(ref)
        acc[2] += len(audio) / 16000
        acc[3] += wall
        log.info("%s %s: %s", model, path.name, " ".join(hyp)[:200])
    return [{"corpus": f"real-{lang}", "model": model, "beam": beam, "key_term_recall": None, "n": 0,
             "wer": round(e / max(n, 1), 3), "realtime_x": round(a / w, 1) if w else None}
            for lang, (e, n, a, w) in sorted(per.items())]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus", nargs="*", help="SPEC.json:VIDEOS_DIR pairs")
    p.add_argument("--real", default=None, help="the real recordings' folder (../shared/corpus/real)")
    p.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    p.add_argument("--beams", nargs="+", type=int, default=[1, 5])
    p.add_argument("--out", default="eval-out/asr.json")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    corpora = [(Path(a), Path(b)) for a, b in (c.rsplit(":", 1) for c in args.corpus)]
    rows = [r for m in args.models for b in args.beams for r in run_config(m, b, corpora)
            + (run_real(m, b, Path(args.real)) if args.real else [])]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    lines = ["| model | beam | corpus | key-term recall | WER | real time |", "|---|---|---|---|---|---|"]
    def recall(r: dict[str, Any]) -> str:
        return f"{r['key_term_recall']:.0%} (n={r['n']})" if r["key_term_recall"] is not None else "-"

    lines += [f"| {r['model']} | {r['beam']} | {r['corpus']} | {recall(r)} | {r['wer']:.1%} | {r['realtime_x']}x |"
              for r in rows]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
