#!/usr/bin/env python3
"""A random screen corpus from a seed: terminal recordings, slide decks with bullets and tables, settings
panels with small text, and subtitles burned into pictures. Each screen state is drawn with PIL at exact
sizes and timed exactly, so the truth holds every distinct on-screen line with the seconds it is shown.

    python scripts/corpora/screens.py --seed 7 OUT_DIR [--videos 4] [--size 1280x720]

Writes OUT_DIR/*.mp4 and OUT_DIR/truth.json in `shared/corpus/make_corpus.py`'s format (videos with scenes,
questions with their scene and accepted answers), plus `screen_lines` per video: [{"text", "start", "end"}]
for the screen-text recall of `scripts/eval.py`. The narration (espeak-ng) talks around the screen and never
reads a value aloud, so every answer is on screen only. New names, values and phrasings every seed; tune on
seeds below 100, report on seeds nobody looked at. Needs ffmpeg, espeak-ng and the DejaVu fonts.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
IMAGES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "images"
FPS, RATE = 25, 16000

SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vo", "dun", "pe", "sir", "ol", "ba", "nek", "tor", "zu", "al", "fen"]
WORDS = ["harbor", "cobalt", "meadow", "lantern", "quartz", "falcon", "willow", "ember", "summit", "pepper", "orbit",
         "juniper", "granite", "saffron", "tundra", "canyon", "marble", "velvet", "cedar", "beacon"]
TOPICS = ["warehouse robots", "solar batteries", "river transport", "school canteens", "bike lanes", "cold chains",
          "ticket sales", "water meters", "night shifts", "drone surveys", "greenhouse climate", "print queues"]
METRICS = ["throughput", "error rate", "uptime", "queue length", "energy use", "cost per unit", "latency",
           "refund rate", "waste", "overtime"]
VOICES = ["en-us", "en-gb", "en-us+f3"]
FILLER = ["Let's have a look at what is on the screen now.", "This part matters for the next step.",
          "Keep an eye on this while we go on.", "Here is where it gets interesting.",
          "Take a moment to read this.", "We will come back to this later.", "Now the next part.",
          "This is what most people miss the first time."]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


@dataclass
class State:
    lines: list[str]
    seconds: float
    say: str = ""
    qa: list[tuple[str, list[str]]] = field(default_factory=list)  # questions this state answers


@dataclass
class Style:
    name: str
    background: tuple[int, int, int]
    colour: tuple[int, int, int]
    font: str
    px: int  # text height at 640x360 (scaled with the frame)
    layout: str  # "lines" (top-left, one per row), "slide" (title + body), "subtitle" (bottom, on a picture)
    image: Path | None = None


def terminal(rng: random.Random) -> tuple[Style, list[State], str]:
    svc = f"{rng.choice(WORDS)}-{rng.choice(['api', 'sync', 'worker', 'gateway', 'cache'])}"
    keys = rng.sample(["port", "timeout_s", "max_workers", "region", "retry_limit", "log_level", "batch_size",
                       "cache_mb"], 4)
    values = {"port": str(rng.randint(1025, 9999)), "timeout_s": str(rng.choice([15, 20, 45, 90, 120])),
              "max_workers": str(rng.randint(2, 64)), "region": f"{rng.choice(['eu', 'us', 'ap'])}-{word(rng).lower()}",
              "retry_limit": str(rng.randint(2, 9)), "log_level": rng.choice(["debug", "info", "warn"]),
              "batch_size": str(rng.choice([16, 32, 128, 256, 500])), "cache_mb": str(rng.choice([64, 256, 768]))}
    code = f"E{rng.randint(100, 999)}{rng.choice('ABCDKMRX')}"
    host = f"{word(rng).lower()}.{rng.choice(['local', 'lan', 'internal'])}"
    history = [f"$ systemctl status {svc}"]
    states = [State(list(history), rng.uniform(6, 8), rng.choice(FILLER))]
    history += [f"$ cat /etc/{svc}/config.ini"] + [f"{k} = {values[k]}" for k in keys]
    states.append(State(history[-12:], rng.uniform(7, 10), "Here is the configuration file of the service.",
                        [(f"What is {k} set to in the {svc} configuration?", [values[k]]) for k in keys[:2]]))
    history += [f"ERROR {code}: cannot reach {host}"]
    states.append(State(history[-12:], rng.uniform(6, 8), "And this is the error it reports when it starts.",
                        [(f"Which error code does {svc} report?", [code]),
                         (f"Which host can {svc} not reach?", [host])]))
    history += [f"$ sudo systemctl restart {svc}"]
    states.append(State(history[-12:], rng.uniform(5, 7), rng.choice(FILLER)))
    note = f"# fixed by raising {keys[2]} to {int(values[keys[2]]) * 2 if values[keys[2]].isdigit() else 2}"
    history += [note]
    states.append(State(history[-12:], rng.uniform(5, 7), "That fixed it.",
                        [(f"What was raised to fix {svc}?", [keys[2]])]))
    dark = tuple(rng.randint(8, 30) for _ in range(3))
    style = Style("terminal", dark, (rng.randint(190, 235), rng.randint(200, 240), rng.randint(190, 230)),
                  "DejaVuSansMono.ttf", rng.choice([15, 16, 17]), "lines")
    return style, states, f"terminal_{svc}"


def slides(rng: random.Random) -> tuple[Style, list[State], str]:
    topic = rng.choice(TOPICS)
    states = [State([f"{topic.title()} review", f"{word(rng)} {word(rng)}, {rng.choice(['spring', 'autumn'])} update"],
                    rng.uniform(5, 7), f"Welcome to this short review of {topic}.")]
    for _ in range(2):
        title = f"{rng.choice(['Findings', 'Changes', 'Next steps', 'Decisions'])}: {word(rng)} site"
        facts = []
        bullets = []
        for metric in rng.sample(METRICS, 3):
            pct = rng.randint(3, 48)
            sign = rng.choice(["+", "-"])
            bullets.append(f"• {metric.capitalize()} {sign}{pct} % since {rng.choice(['March', 'June', 'May'])}")
            verb = "rise" if sign == "+" else "fall"
            facts.append((f"By how much did {metric} {verb} at the {title.split(': ')[1]}?", [f"{pct}"]))
        states.append(State([title, *bullets], rng.uniform(8, 11), rng.choice(FILLER), facts[:2]))
    rows = [(w, f"{rng.choice(['-', '+'])}{rng.randint(1, 19)} %") for w in rng.sample(WORDS, 4)]
    table = [f"{'Line':<10}{'Change':>8}"] + [f"{name:<10}{chg:>8}" for name, chg in rows]
    states.append(State(["Change by product line", *table], rng.uniform(9, 12), "The table shows each product line.",
                        [(f"What change does the table show for {rows[1][0]}?", [rows[1][1].split()[0]]),
                         (f"What change does the table show for {rows[3][0]}?", [rows[3][1].split()[0]])]))
    light = tuple(rng.randint(225, 250) for _ in range(3))
    style = Style("slides", light, tuple(rng.randint(10, 60) for _ in range(3)), "DejaVuSans.ttf",
                  rng.choice([16, 18, 20]), "slide")
    return style, states, f"slides_{topic.replace(' ', '_')}"


def panel(rng: random.Random) -> tuple[Style, list[State], str]:
    app = f"{word(rng)} {rng.choice(['Console', 'Admin', 'Dashboard'])}"
    fields = {"Retention days": str(rng.choice([7, 14, 30, 45, 90])), "Owner": f"{word(rng)} {word(rng)}",
              "Alert email": f"{word(rng).lower()}@{word(rng).lower()}.example",
              "Nightly backup": f"{rng.randint(0, 5):02d}:{rng.choice(['00', '15', '30', '45'])}",
              "Max upload MB": str(rng.choice([50, 100, 250, 500]))}
    base = [f"{app} - Settings"] + [f"{k}: {v}" for k, v in fields.items()]
    new_days = str(int(fields["Retention days"]) + rng.choice([5, 10, 20]))
    changed = [ln if not ln.startswith("Retention days") else f"Retention days: {new_days}" for ln in base]
    states = [State(base, rng.uniform(8, 10), f"This is the settings page of the {app.split()[-1].lower()}.",
                    [(f"Who is the owner in the {app} settings?", [fields["Owner"].split()[-1]]),
                     (f"When does the nightly backup run in {app}?", [fields["Nightly backup"]])]),
              State(changed + ["Saved"], rng.uniform(7, 9), "After saving, one value is different.",
                    [(f"What is the retention period after the change in {app}?", [new_days])])]
    style = Style("panel", tuple(rng.randint(240, 252) for _ in range(3)), (40, 40, 48), "DejaVuSans.ttf", 14, "lines")
    return style, states, f"panel_{app.split()[0].lower()}"


def subtitles(rng: random.Random) -> tuple[Style, list[State], str]:
    person, place = f"{word(rng)} {word(rng)}", word(rng)
    n, year = rng.randint(12, 95), rng.randint(1960, 2015)
    lines = [f"I grew up in {place}, near the old mill.", f"We built the first boat there in {year}.",
             f"{person} taught me how to sail.", f"Every summer about {n} families joined us."]
    states = [State([ln], rng.uniform(3, 4.5)) for ln in lines]
    states[1].qa.append((f"In which year was the first boat built in {place}?", [str(year)]))
    states[2].qa.append(("Who taught the speaker how to sail?", [person.split()[-1]]))
    states[3].qa.append((f"How many families joined every summer in {place}?", [str(n)]))
    image = rng.choice(sorted(IMAGES.glob("*.png"))) if IMAGES.exists() else None
    style = Style("subtitles", (30, 30, 30), (255, 255, 255), "DejaVuSans-Bold.ttf", rng.choice([15, 17]), "subtitle",
                  image)
    return style, states, f"subtitles_{place.lower()}"


MAKERS = [terminal, slides, panel, subtitles]


def render(style: Style, lines: list[str], size: tuple[int, int], path: Path, text_scale: float | None = None
           ) -> None:
    """One screen state as a PNG; text is `style.px` at 640 pixels wide, scaled with the frame unless
    `text_scale` fixes it (1.0: the same pixel size at any resolution, i.e. small text on a large screen)."""
    w, h = size
    scale = w / 640 if text_scale is None else text_scale
    if style.image is not None:
        img = Image.open(style.image).convert("RGB").resize(size)
    else:
        img = Image.new("RGB", size, style.background)
    draw = ImageDraw.Draw(img)
    px = max(8, int(round(style.px * scale)))
    font = ImageFont.truetype(str(FONTS / style.font), px)
    if style.layout == "subtitle":
        text = lines[0]
        tw = draw.textlength(text, font=font)
        draw.text(((w - tw) / 2, h - 3 * px), text, font=font, fill=style.colour, stroke_width=max(1, px // 8),
                  stroke_fill=(0, 0, 0))
    elif style.layout == "slide":
        title = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), int(px * 1.5))
        draw.text((int(40 * scale), int(30 * scale)), lines[0], font=title, fill=style.colour)
        mono = ImageFont.truetype(str(FONTS / "DejaVuSansMono.ttf"), px)
        for i, line in enumerate(lines[1:]):
            f = mono if "  " in line else font  # tables keep their columns
            draw.text((int(50 * scale), int(30 * scale) + int(px * 3) + i * int(px * 1.8)), line, font=f,
                      fill=style.colour)
    else:
        for i, line in enumerate(lines):
            draw.text((int(16 * scale), int(14 * scale) + i * int(px * 1.5)), line, font=font, fill=style.colour)
    img.save(path)


def speak(text: str, voice: str, path: Path) -> float:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def build(name: str, style: Style, states: list[State], size: tuple[int, int], voice: str, out: Path,
          text_scale: float | None = None) -> dict:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        clips, scenes, start = [], [], 0.0
        for i, st in enumerate(states):
            png = tmp / f"s{i}.png"
            render(style, st.lines, size, png, text_scale)
            dur = st.seconds
            audio = ["-f", "lavfi", "-t", f"{dur:.3f}", "-i", f"anullsrc=r={RATE}:cl=mono"]
            if st.say:
                wav = tmp / f"s{i}.wav"
                dur = max(dur, speak(st.say, voice, wav) + 0.5)
                audio = ["-i", str(wav)]
            clip = tmp / f"s{i}.mp4"
            subprocess.run(["ffmpeg", "-y", "-loop", "1", "-t", f"{dur:.3f}", "-i", str(png), *audio, "-r", str(FPS),
                            "-t", f"{dur:.3f}", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
                            "-af", f"apad,aresample={RATE}", "-ac", "1", "-c:a", "aac", "-b:a", "64k", "-shortest",
                            str(clip)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            clips.append(clip)
            scenes.append({"scene": f"{name}-{i}", "start": round(start, 3), "end": round(start + dur, 3),
                           "lines": st.lines})
            start += dur
        listing = tmp / "list.txt"
        listing.write_text("".join(f"file '{c}'\n" for c in clips))
        subprocess.run(["ffmpeg", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                        "-movflags", "+faststart", str(out / f"{name}.mp4")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"file": f"{name}.mp4", "metadata": {"kind": style.name}, "duration": round(start, 3),
            "scenes": [{k: v for k, v in s.items() if k != "lines"} for s in scenes],
            "screen_lines": screen_lines(scenes)}


def screen_lines(scenes: list[dict]) -> list[dict]:
    """Each distinct line once per stretch it stays on screen (a line shown by consecutive states is one)."""
    out: list[dict] = []
    open_: dict[str, dict] = {}
    for s in scenes:
        here = set(s["lines"])
        for text in list(open_):
            if text not in here:
                out.append(open_.pop(text))
        for text in s["lines"]:
            if text in open_:
                open_[text]["end"] = s["end"]
            else:
                open_[text] = {"text": text, "start": s["start"], "end": s["end"]}
    return out + list(open_.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--size", default="640x360", help="frame size, e.g. 1280x720 (text scales with it)")
    ap.add_argument("--text-scale", type=float, help="fixed text scale (1.0: 14-20 px text at any frame size)")
    ap.add_argument("out")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    size = tuple(int(x) for x in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    videos, questions = [], []
    for n in range(args.videos):
        maker = MAKERS[n % len(MAKERS)]
        style, states, name = maker(rng)
        name = f"{name}_{n}"
        video = build(name, style, states, size, rng.choice(VOICES), out, args.text_scale)  # type: ignore[arg-type]
        videos.append(video)
        for i, st in enumerate(states):
            for q, answers in st.qa:
                questions.append({"q": q, "scene": f"{name}-{i}", "any": answers, "mode": "screen"})
    for _ in range(2):  # unanswerable: the same kinds of question about what no screen shows
        questions.append({"q": f"What is the {rng.choice(['password', 'api_key', 'owner phone'])} of the "
                               f"{rng.choice(WORDS)} service?", "scene": None, "any": [], "mode": "none"})
    truth = {"videos": [{**v, "scenes": v["scenes"]} for v in videos], "questions": questions,
             "seed": args.seed, "style": "screens"}
    for v in truth["videos"]:
        v["scenes"] = [{"scene": s["scene"], "start": s["start"], "end": s["end"]} for s in v["scenes"]]
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    print(f"{len(videos)} videos, {sum(v['duration'] for v in videos):.1f} s, {len(questions)} questions in {out}")


if __name__ == "__main__":
    main()
