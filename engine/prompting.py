"""Prompt building: a fixed system prefix (its KV cache is reused across requests) and numbered
segments, compact enough for ~40 prompt tokens/s on a 2-core CPU."""

from __future__ import annotations

import re
from pathlib import Path

from clipcite.domain import ScoredSegment, Segment, SpeechPart
from engine.lexical import join_spoken_numbers

REFUSAL = "The videos do not contain this information."

# The worked example costs nothing per request: the system prefix's KV cache is reused. It shows, on
# made-up content, the failure classes seen on unseen corpora: a label-style notice is a fact ("X: Y"; a
# "No X" notice says what is not allowed),
# the on-screen spelling wins over speech, and words that do not state what was asked are no answer.
SYSTEM_PROMPT = (
    "Answer the user's question from the video segments provided. Segments are numbered; cite the ones you use "
    "like [1]. Speech is an automatic transcript: names and numbers in it can be misheard or written as words; "
    "where on-screen text shows the same name or number, use the on-screen spelling. On-screen text is a fact "
    "too: a notice \"Parking: level 2\" means parking is on level 2. Answer with the specific fact the segments "
    "state, in one or two short sentences. If the segments do not state it, say: " + REFUSAL + "\n\n"
    "Example.\n"
    "[1] talk.mp4 00:00-00:20\n"
    "speech: The bus now leaves from stop for. Tickets are sold on board.\n"
    "on screen: Departures: stop 4\n"
    "on screen: Last bus: 23:10\n"
    "on screen: Bike parking: rear entrance\n"
    "on screen: No smoking on board\n\n"
    "Question: Where does the bus leave from?\nAnswer: The bus leaves from stop 4 [1].\n"
    "Question: When does the last bus leave?\nAnswer: The last bus leaves at 23:10 [1].\n"
    "Question: Where can riders leave their bicycles?\nAnswer: Riders can leave bicycles at the rear entrance [1].\n"
    "Question: What is not allowed on the bus?\nAnswer: Smoking is not allowed on board [1].\n"
    "Question: How much does a ticket cost?\nAnswer: " + REFUSAL
)


# With tools on offer the refusal rule must not win over a request that a tool serves.
TOOLS_SYSTEM_PROMPT = (
    "You are a helpful assistant. Questions about the videos are answered from the numbered segments, citing "
    "them like [1]; if the segments do not answer, say: " + REFUSAL + " Call a function only when the user asks "
    "for exactly what it does."
)


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


def build_user_message(question: str, segments: list[ScoredSegment], char_budget: int = 600,
                       speech: dict[int, list[SpeechPart]] | None = None) -> str:
    if not segments:
        body = "(no segments matched)"
    else:
        speech = speech or {}
        body = "\n\n".join(render_segment(i + 1, s.segment, char_budget, speech.get(i)) for i, s in enumerate(segments))
    return f"{body}\n\nQuestion: {question}"


_SENTENCE_END = re.compile(r"[.!?…。！？]\W*$")


def continue_sentences(segments: list[ScoredSegment], speech: dict[int, list[SpeechPart]]
                       ) -> dict[int, list[SpeechPart]]:
    """A segment whose shown speech ends mid-sentence gets the rest of that sentence from the next segment
    of its file, when that one was retrieved too. A 20-s window cut "The one everybody asks for is a
    climbing bean" | "called the Silver Ladder, ...": neither half, numbered apart in the prompt, says
    which bean everybody asks for."""
    out = dict(speech)
    for i, scored in enumerate(segments):
        seg = scored.segment
        shown = out.get(i, seg.speech)
        if not seg.speech or not shown or shown[-1] is not seg.speech[-1] or _SENTENCE_END.search(shown[-1].text):
            continue
        nxt = next((s.segment for s in segments if s.segment.file_id == seg.file_id
                    and abs(s.segment.start_time - seg.end_time) < 0.01 and s.segment.speech), None)
        if nxt is None:
            continue
        tail = []
        seen = {(p.start_time, p.text) for p in shown}  # an utterance on the boundary is in both segments
        for part in nxt.speech[:2]:  # the rest of the sentence, at most two utterances
            if (part.start_time, part.text) in seen:
                continue
            tail.append(part)
            if _SENTENCE_END.search(part.text):
                break
        out[i] = [*shown, *tail]
    return out


def pick_parts(sims: list[float], keep: int = 2, floor: float = 0.3, texts: list[str] | None = None) -> list[int]:
    """Which utterances of a segment matter for the question, in time order: the `keep` most similar ones
    plus any above `floor`. Fewer prompt tokens (~40 tokens/s on a 2-core CPU) and less for a small model
    to be distracted by. With `texts`, a picked utterance brings the rest of its sentence: Whisper splits
    "Last year we lent out about 600" | "packets, which surprised ...", and the half with the figure can
    rank below the half that repeats the question's word."""
    if len(sims) <= keep:
        return list(range(len(sims)))
    ranked = sorted(range(len(sims)), key=lambda i: -sims[i])
    picked = set(ranked[:keep]) | {i for i in ranked if sims[i] >= floor}
    if texts is not None:
        for i in sorted(picked):
            if i > 0 and texts[i][:1].islower():  # a continuation: its sentence began before it
                picked.add(i - 1)
            if i + 1 < len(texts) and not _SENTENCE_END.search(texts[i].strip()):  # runs on
                picked.add(i + 1)
    return sorted(picked)
