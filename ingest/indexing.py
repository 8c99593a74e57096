"""From a file's analysis to stored points: cut it into one collection's segments, pack their payloads and
vectors, and write them (replacing the file's previous points).

Segmentation is per collection (its own config) and costs nothing to redo, so it runs on every job; the
model analysis it reads is cached per file (`ingest.jobs.analysis_for`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clipcite.domain import (
    FrameText,
    FrameVisual,
    ScreenLine,
    Segment,
    SoundEvent,
    SpeechPart,
    SpeechSpan,
    TimeRange,
)
from engine import lexical
from engine.embedding import Embedder
from engine.filters import Group, Match
from engine.payload import point_id, segment_payload
from engine.scopes import membership_scope
from engine.store import SegmentStore, SparseVec, StorePoint
from ingest.analysis import FileAnalysis, unpack_vector
from ingest.narrative import narrative_ranges
from ingest.segment import SegmentationConfig, detect_shots, plan_segments
from ingest.segment import span as covered_span
from ingest.stages.scene_text.ocr import appearances, dedupe_lines, normalise_line

log = logging.getLogger(__name__)


def plan(cfg: SegmentationConfig, analysis: FileAnalysis, path: Path, embedder: Embedder) -> list[TimeRange]:
    duration = float(analysis.video_info.duration_seconds)
    if cfg.strategy != "narrative":
        return plan_segments(cfg, duration, path)
    start, end = covered_span(cfg, duration)
    # Candidate cuts: the shot detector's (adaptive: it caught cuts between similar colours that the fixed
    # threshold missed) and the keyframes whose description changed (a keyframe taken because time passed
    # shows the same picture: not a cut); near-duplicates merge in narrative.
    cuts = [b.start for a, b in zip(analysis.visuals, analysis.visuals[1:], strict=False)
            if b.description != a.description]
    cuts += detect_shots(path, SegmentationConfig(strategy="shot-detector", detector="adaptive"))
    return narrative_ranges(analysis, cuts, embedder, start, end, cfg.chapters, cfg.min_chapters, cfg.max_chapters)


def segment_image_vectors(analysis: FileAnalysis, segments: list[Segment]) -> dict[str, list[float]]:
    """Per segment, the normalised mean of the CLIP vectors of the keyframes on screen in it."""
    import numpy as np

    out: dict[str, list[float]] = {}
    for seg in segments:
        rng = TimeRange(seg.start_time, seg.end_time)
        vecs = [unpack_vector(v.vector) for v in analysis.frame_vectors if _shares(TimeRange(v.start, v.end), rng)]
        if vecs:
            mean = np.mean(vecs, axis=0)
            out[seg.segment_id] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist()
    return out


def segment_uuid(collection_id: str, file_id: str, rng: TimeRange) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"clipcite:{collection_id}:{file_id}:{rng.start:.3f}-{rng.end:.3f}"))


UNSURE_BELOW = 0.4  # word probability under which the prompt marks a word as unsure


def unsure_words(span: SpeechSpan) -> list[str]:
    """Words of an utterance the recogniser gave low probability (names and figures it may have misheard):
    the answer's prompt names them, so the model prefers the screen's spelling or says it is not sure."""
    return list(dict.fromkeys(w.text.strip(".,!?;:") for w in span.words
                              if w.probability < UNSURE_BELOW and len(w.text.strip(".,!?;:")) > 1))


def _speech_in(spans: list[SpeechSpan], rng: TimeRange, min_overlap: float = 1.0) -> list[SpeechPart]:
    """Whole utterances that are spoken in the segment: a sentence straddling a boundary goes to each
    side it meaningfully overlaps (at least `min_overlap` s or half its length), so neither segment
    holds half a fact ("Members will receive a dividend" | "of three percent")."""
    parts: list[SpeechPart] = []
    for span in spans:
        overlap = min(span.end, rng.end) - max(span.start, rng.start)
        length = max(span.end - span.start, 1e-3)
        if overlap > 0 and (overlap >= min(min_overlap, length / 2) or rng.contains((span.start + span.end) / 2)):
            parts.append(SpeechPart(text=span.text, start_time=span.start, end_time=span.end, speaker=span.speaker,
                                    unsure=unsure_words(span)))
    return [p for p in parts if p.text]


def _shares(window: TimeRange, rng: TimeRange, min_overlap: float = 0.3) -> bool:
    """A keyframe's content belongs to a segment if it is on screen there for a meaningful time
    (keyframe times are only known to half a sampling step)."""
    overlap = min(window.end, rng.end) - max(window.start, rng.start)
    return overlap >= min(min_overlap, window.duration / 2, rng.duration / 2) and overlap > 0


def sounds_in(events: list[SoundEvent], rng: TimeRange) -> list[SoundEvent]:
    """The sound events heard in the segment, clipped to it; one entry per sound (its heard span, best
    score), in the order they start."""
    merged: dict[str, SoundEvent] = {}
    for e in events:
        if not _shares(TimeRange(e.start_time, e.end_time), rng):
            continue
        start, end = max(e.start_time, rng.start), min(e.end_time, rng.end)
        if e.text in merged:
            m = merged[e.text]
            start, end = min(start, m.start_time), max(end, m.end_time)
            score = max(e.score, m.score)
        else:
            score = e.score
        merged[e.text] = SoundEvent(e.text, round(start, 2), round(end, 2), score)
    return sorted(merged.values(), key=lambda e: (e.start_time, -e.score))


def merge_visuals(frames: list[FrameVisual]) -> list[str]:
    """One description per segment, stable across its keyframes: objects and scene labels seen in any
    keyframe (most frequent first), and the colours that dominate most keyframes; with a captioning
    model, its distinct captions (at most three, in keyframe order) come first."""
    if not frames:
        return []
    from collections import Counter

    from ingest.stages.visual.describer import describe_labels

    objects = Counter(o for f in frames for o in f.objects)
    scenes = Counter(s for f in frames for s in f.scenes)
    colours = Counter(c for f in frames for c in f.colours)
    text = describe_labels(tuple(o for o, _ in objects.most_common(6)), tuple(s for s, _ in scenes.most_common(3)),
                           tuple(c for c, _ in colours.most_common(3)))
    captions = list(dict.fromkeys(f.caption for f in frames if f.caption))[:3]
    return [c for c in captions] + ([text] if text else [])


def frame_sentence(v: FrameVisual, has_text: bool, speaking: bool) -> str:
    """The sentence a person would write about one keyframe, from what the models said: what sort of
    picture it is, what is in it and where, what the classifier thinks it resembles (with the everyday
    word for it), and the background colour only for slides and plain frames, where it is the point."""
    if v.caption:
        return v.caption
    things = list(v.placed) or [o if o[0].isdigit() else ("an " if o[0] in "aeiou" else "a ") + o for o in v.objects]
    if speaking:
        things = [t.replace("a person", "a person speaking", 1) if t.startswith("a person") else t for t in things]
    if v.kind == "dark" and not things and not v.scenes:
        return "A dark, nearly empty frame."
    if v.kind == "blank" and not things and not has_text:
        return "A blank frame" + (f" in {v.colours[0]}." if v.colours else ".")
    if has_text and (v.kind in ("graphic", "blank") or not things):
        head = "A slide of text" + (" showing " + ", ".join(things) if things else "")
    elif v.kind == "graphic":
        head = "A graphic" + (" of " + ", ".join(things) if things else "")
    else:
        head = ("A dark picture" if v.kind == "dark" else "A picture") + (" of " + ", ".join(things) if things else "")
    if v.scenes:
        head += f", resembling a {v.scenes[0]}" + (f" (a kind of {v.scenes[1]})" if len(v.scenes) > 1 else "")
    if v.kind in ("graphic", "blank") and v.colours:
        head += f", on a {v.colours[0]} background"
    elif not things and not v.scenes and v.colours:  # nothing recognised: the colours are all there is
        head += " in " + " and ".join(v.colours[:2]) + " tones"
    return head + "."


def visual_sentences(frames: list[FrameVisual], texts: list[FrameText], speech: list[SpeechSpan],
                     rng: TimeRange) -> list[ScreenLine]:
    """One timed sentence per distinct keyframe description in the segment: consecutive keyframes that
    say the same are one span (clipped to the segment), so a 3-second picture has its own 3 seconds."""
    spans: list[ScreenLine] = []
    for v in sorted(frames, key=lambda f: f.start):
        window = TimeRange(v.start, v.end)
        if not _shares(window, rng):
            continue
        has_text = any(t.lines and _shares(TimeRange(t.start, t.end), window) for t in texts)
        speaking = "person" in " ".join(v.objects) and any(
            min(sp.end, v.end) - max(sp.start, v.start) > 0.5 for sp in speech)
        text = frame_sentence(v, has_text, speaking)
        start, end = round(max(v.start, rng.start), 3), round(min(v.end, rng.end), 3)
        if spans and spans[-1].text == text:
            spans[-1] = ScreenLine(text, spans[-1].start_time, end)
        elif end > start:
            spans.append(ScreenLine(text, start, end))
    return spans


def screen_lines(frames: list[FrameText], rng: TimeRange) -> tuple[list[str], list[ScreenLine]]:
    """A segment's on-screen lines (deduplicated, as indexed) and when each is visible inside the segment:
    an answer taken from a 4-second slide is cited for those 4 seconds, not the whole window."""
    shown = [t for t in frames if _shares(TimeRange(t.start, t.end), rng)]
    lines = dedupe_lines([line for t in shown for line in t.lines])
    kept = {line.lower(): line for line in lines}
    spans = [ScreenLine(kept[text.lower()], round(max(start, rng.start), 3), round(min(end, rng.end), 3))
             for text, start, end in appearances(shown)
             if normalise_line(text).lower() in kept and min(end, rng.end) > max(start, rng.start)]
    return lines, spans


def build_segments(analysis: FileAnalysis, ranges: list[TimeRange], collection_id: str, file_id: str,
                   file_info: dict[str, Any], metadata: dict[str, Any]) -> list[Segment]:
    segments = []
    speaker_count = len({s.speaker for s in analysis.speech if s.speaker})
    for i, rng in enumerate(ranges):
        lines, spans = screen_lines(analysis.texts, rng)
        in_range = [v for v in analysis.visuals if _shares(TimeRange(v.start, v.end), rng)]
        sentences = visual_sentences(in_range, analysis.texts, analysis.speech, rng)
        labels = merge_visuals(in_range)  # the labels line: colours and labels for search, as before
        visuals = list(dict.fromkeys(s.text for s in sentences if s.text not in labels)) + labels
        seg_id = segment_uuid(collection_id, file_id, rng)
        speech = _speech_in(analysis.speech, rng)
        segments.append(Segment(
            collection_id=collection_id, file_id=file_id, segment_id=seg_id, index=i,
            start_time=rng.start, end_time=rng.end, speech=speech,
            speakers=list(dict.fromkeys(p.speaker for p in speech if p.speaker)), file_speaker_count=speaker_count,
            scene_text=lines, scene_text_spans=spans, visual=visuals, visual_spans=sentences,
            sounds=sounds_in(analysis.sounds, rng),
            metadata=metadata, file_info=file_info,
            video_info={**asdict(analysis.video_info), "language": analysis.language},
        ))
    return segments


def embedding_text(seg: Segment, filename: str | None = None) -> str:
    """All modalities with labels; the filename helps questions that name a video."""
    lines = []
    if filename:
        lines.append(f"video: {Path(filename).stem.replace('_', ' ')}")
    lines.extend(seg.modality_lines("speech: ", "on screen: ", "visual: "))
    return "\n".join(lines)


def to_points(segments: list[Segment], embedder: Embedder, filename: str | None = None,
              image_vectors: dict[str, list[float]] | None = None) -> list[StorePoint]:
    if not segments:
        return []
    vectors = embedder.embed([embedding_text(s, filename) or "(empty segment)" for s in segments])
    # Utterance vectors for answering (engine.chat ranks a segment's sentences against the question).
    embedder.embed_cached([p.text for s in segments for p in s.speech if p.text])
    points = []
    for seg, vec in zip(segments, vectors, strict=False):
        sparse: dict[str, SparseVec] = {
            "speech_lex": lexical.doc_vector(seg.labelled_speech() + " " + Path(filename or "").stem.replace("_", " ")),
            "ocr_lex": lexical.doc_vector(" ".join(seg.scene_text)),
            # sounds share the non-speech description index: no new named vector, so stores made before
            # audio descriptions existed need no schema change
            "visual_lex": lexical.doc_vector(" ".join(seg.visual) + " " + seg.sound_text),
        }
        points.append(StorePoint(id=point_id(seg.segment_id), dense=vec.tolist(), payload=segment_payload(seg),
                                 sparse=sparse, image=(image_vectors or {}).get(seg.segment_id)))
    return points


def index_segments(store: SegmentStore, embedder: Embedder, segments: list[Segment], collection_id: str,
                   file_id: str, filename: str | None = None, image_vectors: dict[str, list[float]] | None = None,
                   fence: AbstractContextManager | None = None, wanted: Callable[[], bool] | None = None) -> int:
    """Replace a file's segments in a collection (see `write_points`); embedding runs outside `fence`."""
    points = to_points(segments, embedder, filename, image_vectors)
    if not write_points(store, points, collection_id, file_id, fence, wanted, keep={p.id for p in points}):
        return 0
    store.optimize()  # index what crossed the indexing threshold while the file's job still owns the time
    return len(points)


def write_points(store: SegmentStore, points: list[StorePoint], collection_id: str, file_id: str,
                 fence: AbstractContextManager | None = None, wanted: Callable[[], bool] | None = None,
                 keep: set[int] | None = None) -> bool:
    """Upsert a file's new points (deterministic ids); with `keep` (the last batch), then drop any point of
    this file in the collection whose id is not in it. Re-running is idempotent. The writes run inside
    `fence`, and only while `wanted()` (the job was not cancelled by a delete meanwhile), so no point
    outlives its file. False: nothing written (not wanted)."""
    with fence if fence is not None else nullcontext():
        if wanted is not None and not wanted():
            log.info("file %s left collection %s while it was indexed; nothing written", file_id, collection_id)
            return False
        if points:
            store.upsert(points)  # one write: a crash leaves all of the new points or none of them
        if keep is None:  # a batch that is not the last
            return True
        scope = membership_scope(collection_id, file_id)
        stale = [s.segment_id for h in store.scroll(scope) if h.id not in keep for s in (h.segment,)]
        if stale:
            store.delete(Group(must=[*scope.must, Match("segment_id", tuple(stale))]))
    return True
