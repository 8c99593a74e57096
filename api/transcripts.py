"""Transcript exports (SRT, WebVTT, JSON) from a file's cached speech analysis, with speaker names."""

from __future__ import annotations

from typing import Any

from clipcite.domain import SpeechSpan
from engine.lexical import tidy_numbers


def _ts(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _who(span: SpeechSpan, names: dict[str, str], multi: bool) -> str | None:
    label = span.speaker
    if not label or not (multi or label in names):
        return None
    return names.get(label, label)


def to_srt(spans: list[SpeechSpan], names: dict[str, str]) -> str:
    multi = len({s.speaker for s in spans if s.speaker}) > 1
    blocks = []
    for i, s in enumerate(spans, 1):
        who = _who(s, names, multi)
        text = f"{who}: {tidy_numbers(s.text)}" if who else tidy_numbers(s.text)
        blocks.append(f"{i}\n{_ts(s.start, ',')} --> {_ts(s.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(spans: list[SpeechSpan], names: dict[str, str]) -> str:
    multi = len({s.speaker for s in spans if s.speaker}) > 1
    cues = ["WEBVTT\n"]
    for s in spans:
        who = _who(s, names, multi)
        text = f"<v {who}>{tidy_numbers(s.text)}" if who else tidy_numbers(s.text)
        cues.append(f"{_ts(s.start, '.')} --> {_ts(s.end, '.')}\n{text}\n")
    return "\n".join(cues)


def to_json(spans: list[SpeechSpan], names: dict[str, str]) -> list[dict[str, Any]]:
    """Utterances with times, speaker (name where given) and word timings, for tools that want structure."""
    multi = len({s.speaker for s in spans if s.speaker}) > 1
    out = []
    for s in spans:
        item: dict[str, Any] = {"start_time": s.start, "end_time": s.end, "text": tidy_numbers(s.text)}
        who = _who(s, names, multi)
        if who:
            item["speaker"] = who
        if s.words:
            item["words"] = [{"word": w.text, "start_time": w.start, "end_time": w.end} for w in s.words]
        out.append(item)
    return out
