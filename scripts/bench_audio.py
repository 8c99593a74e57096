"""Audio descriptions: event recall, precision and timing per sound type, and the stage's cost.

    python scripts/bench_audio.py [--clips 6] [--out eval-out/audio.json] [--cost CORPUS_DIR]

Builds test clips from real sounds (Debian's `sound-theme-freedesktop`: alarm clock, phone ringing,
camera shutter, "complete" ding, paper crumpling; music and pink noise made with `sox`), each placed
either between espeak-ng sentences or mixed under them at -6 dB, at known times; runs the YAMNet stage on
them and scores every truth event (found: an event with one of its accepted labels overlapping it) and
every detected event (right: it overlaps a truth event that accepts its label). Speech-only clips count
false alarms. `--cost CORPUS_DIR` also times the stage (decode + tagging) against the whole ingest of
that corpus's videos (`ingest.pipeline.Analyzer`, same settings), one run.
Needs sox, espeak-ng and the freedesktop sounds (`apt install sox espeak-ng sound-theme-freedesktop`).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.stages.audio.yamnet import YamnetTagger  # noqa: E402
from models.registry import ModelRegistry  # noqa: E402

log = logging.getLogger("bench_audio")
SR = 16000
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
SENTENCES = ["Good morning, this is the weekly site briefing.", "The north gate closes at six this evening.",
             "Please keep the corridor clear of boxes.", "The canteen has a new menu from Monday.",
             "Visitors must sign in at the front desk.", "We will test the fire doors on Thursday.",
             "Remember to log your hours before Friday.", "The car park will be resurfaced next month."]
# type -> (how to make it, labels that count as finding it)
SOUNDS: dict[str, tuple[list[str], set[str]]] = {
    "alarm clock": (["file", "alarm-clock-elapsed"], {"beep, bleep", "alarm clock", "alarm", "buzzer",
                                                      "smoke detector, smoke alarm"}),
    "phone ringing": (["file", "phone-incoming-call"], {"telephone", "telephone bell ringing", "ringtone", "alarm"}),
    "camera shutter": (["file", "camera-shutter"], {"camera", "single-lens reflex camera", "mechanisms"}),
    "ding": (["file", "complete"], {"ding", "chime", "bell", "beep, bleep", "ding-dong"}),
    "crumpling paper": (["file", "trash-empty"], {"crumpling, crinkling", "crackle", "rustle"}),
    "music": (["synth", "3", "pluck", "C3", "pluck", "E3", "pluck", "G3", ":", "synth", "3", "pluck", "F3", "pluck",
               "A3", "pluck", "C4"], {"music", "musical instrument", "plucked string instrument", "guitar",
                                     "piano", "keyboard (musical)", "harp", "mandolin", "ukulele", "zither"}),
    "noise": (["synth", "3", "pinknoise", "vol", "0.4"], {"white noise", "pink noise"}),
}


def _pcm(source: str, effects: list[str] | None = None) -> np.ndarray:
    """16 kHz mono float32 from a file (or `-n` with sox effects such as `synth`)."""
    args = ["sox", source, "-t", "raw", "-r", str(SR), "-c", "1", "-e", "signed", "-b", "16", "-"] + (effects or [])
    out = subprocess.run(args, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.int16).astype(np.float32) / 32768.0


def sound(kind: str) -> np.ndarray:
    how = SOUNDS[kind][0]
    if how[0] == "file":
        return _pcm(str(FREEDESKTOP / f"{how[1]}.oga"))
    return _pcm("-n", how)


def speech(text: str, tmp: Path) -> np.ndarray:
    wav = tmp / "s.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
    return _pcm(str(wav))


def build_clip(rng: random.Random, kinds: list[str], tmp: Path
               ) -> tuple[np.ndarray, list[tuple[str, float, float]], list[str]]:
    """Sentences with each sound either between two of them or mixed under one (at -6 dB)."""
    audio: list[np.ndarray] = []
    truth: list[tuple[str, float, float]] = []
    placement: list[str] = []
    t = 0.0
    for kind in kinds:
        said = speech(rng.choice(SENTENCES), tmp)
        snd = sound(kind)
        gap = np.zeros(int(0.5 * SR), np.float32)
        between = rng.random() < 0.5
        placement.append("between" if between else "under")
        if between:  # between sentences
            audio += [said, gap, snd, gap]
            start = t + (len(said) + len(gap)) / SR
        else:  # under speech
            mixed = said.copy()
            n = min(len(snd), len(mixed))
            if len(snd) > len(mixed):
                mixed = np.concatenate([mixed, np.zeros(len(snd) - len(mixed), np.float32)])
                n = len(snd)
            mixed[:n] += 0.5 * snd[:n]
            audio += [mixed, gap]
            start = t
        truth.append((kind, round(start, 2), round(start + len(snd) / SR, 2)))
        t = sum(len(a) for a in audio) / SR
    return np.clip(np.concatenate(audio), -1, 1), truth, placement


def score(detected, truth) -> dict:
    found = {}
    for kind, s, e in truth:
        labels = SOUNDS[kind][1]
        hits = [d for d in detected if d.text in labels and d.start_time < e + 0.5 and d.end_time > s - 0.5]
        found.setdefault(kind, []).append(min((abs(d.start_time - s) for d in hits), default=None))
    right = 0
    for d in detected:
        right += any(d.text in SOUNDS[k][1] and d.start_time < e + 0.5 and d.end_time > s - 0.5 for k, s, e in truth)
    return {"found": found, "right": right, "detected": len(detected),
            "wrong_labels": [d.text for d in detected
                             if not any(d.text in SOUNDS[k][1] and d.start_time < e + 0.5 and d.end_time > s - 0.5
                                        for k, s, e in truth)]}


def run(args: argparse.Namespace) -> dict:
    reg = ModelRegistry(Path(tempfile.gettempdir()) / "clipcite-bench-models")
    tagger = YamnetTagger(reg.resolve("yamnet", "audio"), threshold=args.threshold, min_score=args.min_score)
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    found: dict[str, list] = {}
    by_place: dict[str, list[bool]] = {}
    right = detected = 0
    wrong: list[str] = []
    seconds = tag_seconds = 0.0
    kinds = list(SOUNDS)
    for c in range(args.clips):
        order = kinds[:]
        rng.shuffle(order)
        audio, truth, placement = build_clip(rng, order, tmp)
        t0 = time.perf_counter()
        events = tagger.events(audio)
        tag_seconds += time.perf_counter() - t0
        seconds += len(audio) / SR
        r = score(events, truth)
        for k, v in r["found"].items():
            found.setdefault(k, []).extend(v)
        for (k, _, _), where in zip(truth, placement, strict=True):
            hit = r["found"][k][0] is not None
            by_place.setdefault(where, []).append(hit)
        right, detected, wrong = right + r["right"], detected + r["detected"], wrong + r["wrong_labels"]
        log.info("clip %d: %d events, truth %s", c, len(events), truth)
    # false alarms on speech alone
    quiet = np.concatenate([speech(s, tmp) for s in SENTENCES])
    false_alarms = [e.text for e in tagger.events(quiet)]
    per_type = {k: {"recall": round(sum(v is not None for v in vs) / len(vs), 3), "n": len(vs),
                    "mean_start_error_s": round(float(np.mean([v for v in vs if v is not None])), 2)
                    if any(v is not None for v in vs) else None} for k, vs in found.items()}
    report = {"per_type": per_type,
              "recall_by_placement": {k: {"recall": round(sum(v) / len(v), 3), "n": len(v)}
                                      for k, v in by_place.items()},
              "precision": round(right / detected, 3) if detected else None,
              "detected": detected, "wrong_labels": sorted(set(wrong)),
              "speech_only_seconds": round(len(quiet) / SR, 1), "speech_only_false_alarms": false_alarms,
              "tagging_x_realtime": round(seconds / tag_seconds, 1) if tag_seconds else None}
    if args.cost:
        report["cost"] = stage_cost(Path(args.cost), tagger)
    return report


def stage_cost(corpus: Path, tagger: YamnetTagger) -> dict:
    """The stage's seconds (decode + tagging) against the whole analysis of the same files."""
    from clipcite.settings import Settings
    from ingest.probe import probe
    from ingest.runtime import _analyzer
    from ingest.stages.speech.whisper import decode, forget_decoded
    from models.devices import plan_devices

    settings = Settings(data_dir=Path(tempfile.mkdtemp()), audio_description_enabled=False)
    devices = plan_devices(settings.device, settings.threads)
    reg = ModelRegistry(Path(tempfile.gettempdir()) / "clipcite-bench-models")
    analyzer = _analyzer(settings, devices, reg, None, False)
    total = stage = video = 0.0
    for path in sorted(corpus.glob("*.mp4")):
        info = probe(path)
        if not info.has_audio:
            continue
        t0 = time.perf_counter()
        analyzer.analyze(path, info)
        total += time.perf_counter() - t0
        t0 = time.perf_counter()
        tagger.events(decode(path))
        forget_decoded()
        stage += time.perf_counter() - t0
        video += info.duration_seconds
    return {"video_seconds": round(video, 1), "ingest_without_stage_s": round(total, 1),
            "stage_s": round(stage, 2), "stage_share_of_ingest": round(stage / (total + stage), 3)}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=6)
    p.add_argument("--threshold", type=float, default=0.5, help="a patch counts at this probability")
    p.add_argument("--min-score", type=float, default=0.6, help="an event needs one patch this sure")
    p.add_argument("--cost", help="a corpus folder of videos to time the stage against the whole ingest")
    p.add_argument("--out", default="eval-out/audio.json")
    args = p.parse_args()
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))  # noqa: T201 - the report is the script's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
