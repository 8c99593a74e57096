"""Segments as prompt text for the whole-segment readers (summaries, deep search) and the shared time format;
answers read numbered lines instead (`engine.evidence`)."""

from __future__ import annotations

import re
from pathlib import Path

from clipcite.domain import Segment, SpeechPart
from engine.lexical import join_spoken_numbers


def without_colours(description: str) -> str:
    """The description minus its colour clause. Prompts leave colours out: a small model turned
    "colours: navy" into "the manager's favourite colour is navy"; the index keeps them for search."""
    text = re.sub(r"(?:^|;\s*)(?:(?:dark|bright) )?colours: [^;]*", "", description).strip("; ")
    # the keyframe sentences' "..., on a teal background." and "... in grey tones." likewise
    return re.sub(r",? (?:on an? [\w ]+ background|in [\w ]+ tones|in \w+(?= ?\.$))(?=\.|$)", "", text)


def fmt_time(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def render_segment(n: int, seg: Segment, char_budget: int, speech: list[SpeechPart] | None = None) -> str:
    """Speech and on-screen text in time order, so what is said and what is shown at the same moment sit
    together (a misheard "stop for" next to the slide's "stop 4"). `speech` replaces the full transcript
    with the utterances picked for the question."""
    name = Path(seg.file_info.get("filename") or seg.file_id).name
    lines = [f"[{n}] {name} {fmt_time(seg.start_time)}-{fmt_time(seg.end_time)}"]
    parts = seg.speech if speech is None else speech
    own = {id(p) for p in seg.speech}  # a sentence's end borrowed from the next segment follows on, no gap
    position = {id(p): i for i, p in enumerate([*seg.speech, *(p for p in parts if id(p) not in own)])}
    screen = seg.screen_lines()
    timed = bool(seg.scene_text_spans)  # untimed lines (older points) follow the speech, as they used to
    entries = sorted([(p.start_time, 1, i) for i, p in enumerate(parts) if p.text]  # a slide up first on ties
                     + [(line.start_time if timed else float("inf"), 0, i) for i, line in enumerate(screen)])
    speech_left, screen_left = char_budget, char_budget // 2
    run: list[SpeechPart] = []

    # Speaker names go with each utterance (see `Segment.labelled_speech`) so "what did Dana say" works.
    labelled = seg.file_speaker_count > 1 or bool(seg.metadata.get("speakers"))

    def flush() -> None:
        nonlocal speech_left
        if run and speech_left > 0:
            text, last = "", None
            for k, p in enumerate(run):  # " … " marks utterances left out between two picked ones
                gap = k and position.get(id(p), 0) - position.get(id(run[k - 1]), -1) != 1
                who = seg.speaker_name(p.speaker) if labelled else None
                piece = f"{who}: {p.text}" if who and who != last else p.text
                last = who or last
                text += (" … " if gap else " " if k else "") + piece
            text = join_spoken_numbers(text)
            lines.append("speech: " + _clip(text, speech_left))
            speech_left -= len(text)
        run.clear()

    for _, kind, i in entries:
        if kind == 1:
            run.append(parts[i])
            continue
        flush()
        if screen_left > 0:
            lines.append("on screen: " + _clip(screen[i].text, max(screen_left, 12)))
            screen_left -= len(screen[i].text)
    flush()
    # Keyframe sentences when the segment has them ("A picture of a horse in the centre, resembling a sorrel
    # (a kind of horse)."), with when they are on screen ("when is a horse shown?" is answered from them),
    # else the labels line of points indexed before them.
    shown = pictures(seg)
    each = max(80, char_budget // 3 // max(1, len(shown)))  # clip each description, never the times
    if shown:
        visual = " ".join(timed_picture(_clip(text, each), spans) for text, spans in shown)
    else:
        visual = _clip(" ".join(v for v in (without_colours(d) for d in seg.visual) if v), char_budget // 3)
    if visual:
        lines.append("picture (automatic labels): " + visual)
    if seg.sounds:  # with their times: "when does the alarm go off?" is answered from them
        heard = "; ".join(f"{e.text} ({fmt_time(e.start_time)}-{fmt_time(e.end_time)})" for e in seg.sounds)
        lines.append("sounds (automatic labels): " + _clip(heard, char_budget // 3))
    return "\n".join(lines)


def pictures(seg: Segment) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each distinct keyframe sentence as the prompt shows it (without colours: two slides that differ only
    in background are one "A slide of text") with the time ranges it describes, adjacent ones joined, in
    order of first appearance."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for v in seg.visual_spans:
        bare = without_colours(v.text).rstrip(". ")
        if not bare:
            continue
        ranges = spans.setdefault(bare, [])
        if ranges and v.start_time - ranges[-1][1] <= 0.5:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], v.end_time))
        else:
            ranges.append((v.start_time, v.end_time))
    return list(spans.items())


def timed_picture(text: str, spans: list[tuple[float, float]]) -> str:
    """A keyframe sentence with when it is on screen: "A picture of a horse (00:42-00:47)."."""
    when = ", ".join(f"{fmt_time(a)}-{fmt_time(b)}" for a, b in spans[:3])
    return f"{text} ({when})."
